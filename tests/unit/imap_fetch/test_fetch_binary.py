"""BINARY[...], BINARY.PEEK and BINARY.SIZE (RFC 3516), byte-exact."""

from __future__ import annotations

import pytest

from postbus.imap.proto import ImapNo
from tests.unit.imap_fetch.samples import ENCODED, NESTED, SIMPLE
from tests.unit.imap_fetch.support import Folder


async def test_binary_of_base64_part_is_decoded_in_a_literal8(folder: Folder) -> None:
    await folder.add(NESTED)
    data, _ = await folder.fetch("1 (BINARY.PEEK[2] BINARY.SIZE[2])")
    assert data == b"* 1 FETCH (BINARY[2] ~{4}\r\n\x00\x01\x02\x03 BINARY.SIZE[2] 4)\r\n"


async def test_binary_of_text_parts(folder: Folder) -> None:
    await folder.add(ENCODED)
    data, _ = await folder.fetch("1 (BINARY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[1] BINARY.SIZE[2])")
    b64 = "été à Paris".encode()
    qp = "café crème".encode()
    assert data == (b"* 1 FETCH (BINARY[1] ~{%d}\r\n%s BINARY[2] ~{%d}\r\n%s"
                    b" BINARY.SIZE[1] %d BINARY.SIZE[2] %d)\r\n"
                    % (len(b64), b64, len(qp), qp, len(b64), len(qp)))


async def test_binary_partial_counts_decoded_octets(folder: Folder) -> None:
    await folder.add(ENCODED)
    data, _ = await folder.fetch("1 (BINARY.PEEK[1]<3.7> BINARY.PEEK[1]<100.5>)")
    decoded = "été à Paris".encode()
    assert data == (b"* 1 FETCH (BINARY[1]<3> ~{7}\r\n%s BINARY[1]<100> ~{0}\r\n)\r\n"
                    % decoded[3:10])


async def test_binary_of_unencoded_part_is_a_plain_literal(folder: Folder) -> None:
    await folder.add(NESTED)
    await folder.add(SIMPLE)
    data, _ = await folder.fetch("1 (BINARY.PEEK[1.1] BINARY.SIZE[1.1] BINARY.PEEK[1]<1.3>)")
    assert data == (b"* 1 FETCH (BINARY[1.1] {11}\r\nmiddle text BINARY.SIZE[1.1] 11"
                    b" BINARY[1]<1> {3}\r\nrom)\r\n")
    data, _ = await folder.fetch("2 (BINARY.PEEK[] BINARY.PEEK[9] BINARY.SIZE[9])")
    assert data == (b"* 2 FETCH (BINARY[] {%d}\r\n%s BINARY[9] {0}\r\n BINARY.SIZE[9] 0)\r\n"
                    % (len(SIMPLE), SIMPLE))


@pytest.mark.parametrize("item", ["BINARY.PEEK[3]", "BINARY[3]", "BINARY.SIZE[3]"])
async def test_unknown_encoding_is_refused_before_any_output(folder: Folder, item: str) -> None:
    await folder.add(SIMPLE)
    await folder.add(ENCODED)
    with pytest.raises(ImapNo) as caught:
        await folder.fetch(f"1:2 (FLAGS {item})")
    assert caught.value.code == "UNKNOWN-CTE"
    # nothing was written (the helper returns only on success) and \Seen was not set
    assert all("\\Seen" not in e.flags for e in await folder.entries())


async def test_binary_sets_seen_but_peek_and_size_do_not(folder: Folder) -> None:
    await folder.add(ENCODED)
    await folder.fetch("1 (BINARY.PEEK[1] BINARY.SIZE[2])")
    assert (await folder.entries())[0].flags == frozenset()
    data, outcome = await folder.fetch("1 BINARY[2]")
    assert data.startswith(b"* 1 FETCH (FLAGS (\\Seen) BINARY[2] ~{")
    assert [e.uid for e in outcome.seen] == [1]
