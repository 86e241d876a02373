"""Malformed messages and damaged records never fail a FETCH; responses stay well-formed."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from tests.unit.imap_fetch.samples import BROKEN, ENCODED, NESTED, NO_HEADER, SIMPLE
from tests.unit.imap_fetch.support import Folder, parse_fetch

EVERYTHING = ("(FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[]"
              " BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] BODY.PEEK[1.MIME]"
              " BODY.PEEK[2.1.HEADER] BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]"
              " BODY.PEEK[1.HEADER.FIELDS.NOT (TO)] BINARY.PEEK[1] BINARY.SIZE[1]"
              " BODY.PEEK[]<3.50> RFC822.HEADER)")


async def test_broken_mime_gives_a_valid_bodystructure(folder: Folder) -> None:
    await folder.add(BROKEN)
    await folder.add(NO_HEADER)
    data, _ = await folder.fetch("1:2 " + EVERYTHING)
    responses = dict(parse_fetch(data))
    structure = responses[1]["BODYSTRUCTURE"]
    assert isinstance(structure, list) and structure[-5] == b"mixed"
    assert isinstance(responses[2]["BODYSTRUCTURE"], list)
    assert responses[1]["BODY[]"] == BROKEN and responses[2]["BODY[]"] == NO_HEADER


def mutate(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        action = rng.random()
        pos = rng.randrange(len(data) + 1)
        if action < 0.3 and data:
            del data[pos:pos + rng.randint(1, 40)]
        elif action < 0.6:
            data[pos:pos] = rng.choice(
                [b"\r\n", b"\n", b"--", b"--outer", b"--mid--", b"\x00", b"\xff\xfe", b";",
                 b"boundary=", b"Content-Type: message/rfc822\r\n\r\n", b"=?utf-8?b?",
                 b"Content-Transfer-Encoding: base64\r\n", b"(", b'"'])
        elif data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
    return bytes(data)


async def test_mutated_messages_fetch_well_formed(folder: Folder) -> None:
    rng = random.Random(4)
    samples = (SIMPLE, NESTED, ENCODED, BROKEN)
    messages = [mutate(samples[i % len(samples)], rng) for i in range(120)]
    for raw in messages:
        await folder.add(raw)
    data, _ = await folder.fetch("1:* " + EVERYTHING.replace("BINARY.PEEK[1] BINARY.SIZE[1] ", ""))
    responses = parse_fetch(data)
    assert [n for n, _ in responses] == list(range(1, len(messages) + 1))
    for (_, items), raw in zip(responses, messages, strict=True):
        assert items["BODY[]"] == raw
        assert items["RFC822.SIZE"] == str(len(raw))
        assert isinstance(items["BODYSTRUCTURE"], list) and isinstance(items["ENVELOPE"], list)


async def test_damaged_or_old_record_is_rebuilt_from_the_raw_message(folder: Folder) -> None:
    await folder.add(SIMPLE)
    await folder.add(NESTED)
    expected, _ = await folder.fetch("1:2 (ENVELOPE BODYSTRUCTURE BODY.PEEK[1.2.HEADER])")
    from postbus.imap import fetch_structure

    fetch_structure.CACHE.clear()
    original = folder.store.fetch_info

    async def damaged(mailbox_id: int, uids: Any) -> Any:
        infos = await original(mailbox_id, uids)
        out = []
        for info in infos:
            meta = b"\x93garbage" if info.uid == 1 else _old_version(info.meta)
            out.append(dataclasses.replace(info, meta=meta))
        return out

    folder.store.fetch_info = damaged  # type: ignore[method-assign]
    data, _ = await folder.fetch("1:2 (ENVELOPE BODYSTRUCTURE BODY.PEEK[1.2.HEADER])")
    assert data == expected


def _old_version(meta: bytes) -> bytes:
    from postbus.message import decode_meta, encode_meta

    record = decode_meta(meta)
    record.version = 0
    return encode_meta(record)
