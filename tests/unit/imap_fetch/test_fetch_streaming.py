"""Big literals are streamed in 64 KB pieces; structure items never read bodies."""

from __future__ import annotations

import hashlib
from typing import Any

from postbus.imap import fetch_structure
from postbus.imap.fetch_output import CHUNK_BYTES, FLUSH_BYTES
from tests.unit.imap_fetch.samples import NESTED, SIMPLE
from tests.unit.imap_fetch.support import Folder, crlf, parse_fetch

BIG_LINE = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!@#$%^&*()\r\n"


def big_message(size: int) -> bytes:
    header = crlf("From: big@example.org\nSubject: big\nContent-Type: text/plain\n\n")
    body = BIG_LINE * (size // len(BIG_LINE))
    return header + body


def record_reads(folder: Folder) -> list[tuple[Any, ...]]:
    reads: list[tuple[Any, ...]] = []
    original = folder.store.read_blob

    async def read_blob(blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        reads.append((blob_id, offset, length))
        return await original(blob_id, offset, length)

    folder.store.read_blob = read_blob  # type: ignore[method-assign]
    return reads


async def fetch_chunks(folder: Folder, args: str) -> list[bytes]:
    from postbus.imap.fetch import fetch
    from postbus.imap.proto import FetchArgs, parse_command

    cmd = parse_command([f"A FETCH {args}".encode()])
    assert isinstance(cmd.args, FetchArgs)
    view = await folder.entries()
    targets = [(n, e) for n, e in enumerate(view, 1) if n in set(cmd.args.seqset.values(len(view)))]
    chunks: list[bytes] = []

    async def write(data: bytes) -> None:
        chunks.append(data)

    await fetch(folder.mailboxes, folder.mailbox_id, targets, cmd.args.atts, uid_command=False,
                readonly=True, utf8=False, changed_since=None, write=write)
    return chunks


async def test_big_body_is_streamed_in_chunks(folder: Folder) -> None:
    raw = big_message(3 * 2**20)
    await folder.add(raw)
    reads = record_reads(folder)
    chunks = await fetch_chunks(folder, "1 (UID BODY.PEEK[])")
    assert max(len(c) for c in chunks) <= CHUNK_BYTES
    assert len(chunks) >= len(raw) // CHUNK_BYTES
    assert all(0 < length <= CHUNK_BYTES for _, _, length in reads)  # never the whole blob
    data = b"".join(chunks)
    assert data == b"* 1 FETCH (UID 1 BODY[] {%d}\r\n%s)\r\n" % (len(raw), raw)


async def test_big_partial_and_header_read_only_their_range(folder: Folder) -> None:
    raw = big_message(2 * 2**20)
    await folder.add(raw)
    reads = record_reads(folder)
    data = b"".join(await fetch_chunks(folder, "1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] "
                                               "BODY.PEEK[TEXT]<1000000.100>)"))
    header_end = raw.index(b"\r\n\r\n") + 4
    text = raw[header_end:]
    assert data == (b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {16}\r\nSubject: big\r\n\r\n"
                    b" BODY[TEXT]<1000000> {100}\r\n%s)\r\n" % text[1000000:1000100])
    assert sorted(length for _, _, length in reads) == sorted([100, header_end])


async def test_big_binary_is_written_in_chunks(folder: Folder) -> None:
    import base64

    payload = hashlib.sha256(b"seed").digest() * 40000  # 1.28 MB of binary
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    raw = crlf("From: x@example.org\nSubject: bin\nContent-Type: multipart/mixed; boundary=z\n\n"
               "--z\nContent-Type: application/octet-stream\n"
               "Content-Transfer-Encoding: base64\n\n") + encoded + b"--z--\r\n"
    await folder.add(raw)
    chunks = await fetch_chunks(folder, "1 (BINARY.PEEK[1] BINARY.SIZE[1])")
    assert max(len(c) for c in chunks) <= CHUNK_BYTES
    assert b"".join(chunks) == (b"* 1 FETCH (BINARY[1] ~{%d}\r\n%s BINARY.SIZE[1] %d)\r\n"
                                % (len(payload), payload, len(payload)))


async def test_many_small_responses_are_gathered(folder: Folder) -> None:
    for _ in range(300):
        await folder.add(SIMPLE)
    chunks = await fetch_chunks(folder, "1:* (FLAGS RFC822.SIZE ENVELOPE)")
    assert len(chunks) < 10
    assert all(len(c) < FLUSH_BYTES + 4096 for c in chunks)
    assert len(parse_fetch(b"".join(chunks))) == 300


async def test_structure_items_read_no_body(folder: Folder) -> None:
    fetch_structure.CACHE.clear()
    for raw in (SIMPLE, NESTED, big_message(300_000)):
        await folder.add(raw)
    reads = record_reads(folder)
    data = b"".join(await fetch_chunks(
        folder, "1:* (FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)"))
    assert reads == []
    responses = parse_fetch(data)
    assert [n for n, _ in responses] == [1, 2, 3]
    # the second FETCH is answered from the memo, identically
    assert b"".join(await fetch_chunks(
        folder, "1:* (FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)")) == data


async def test_small_message_is_read_once_for_several_sections(folder: Folder) -> None:
    await folder.add(NESTED)
    reads = record_reads(folder)
    await fetch_chunks(folder, "1 (BODY.PEEK[1.2.HEADER] BODY.PEEK[2] BINARY.PEEK[2] "
                               "BODY.PEEK[HEADER.FIELDS (FROM)])")
    assert reads == [(reads[0][0], 0, len(NESTED))]


async def test_header_items_read_only_the_header(folder: Folder) -> None:
    # what Thunderbird asks for every new message: nothing but the header is read
    await folder.add(SIMPLE)
    reads = record_reads(folder)
    data = b"".join(await fetch_chunks(
        folder, "1 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Subject)] "
                "RFC822.HEADER BODY.PEEK[HEADER]<0.10>)"))
    header_end = SIMPLE.index(b"\r\n\r\n") + 4
    assert reads == [(reads[0][0], 0, header_end)]
    assert data.endswith(b" BODY[HEADER]<0> {10}\r\n%s)\r\n" % SIMPLE[:10])
