"""\\Seen: which items set it, one store call, FLAGS in the response, EXAMINE."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.imap_fetch.samples import SIMPLE
from tests.unit.imap_fetch.support import Folder


@pytest.fixture
async def three(folder: Folder) -> Folder:
    for _ in range(3):
        await folder.add(SIMPLE)
    return folder


def count_calls(folder: Folder, name: str) -> list[Any]:
    calls: list[Any] = []
    original = getattr(folder.store, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return await original(*args, **kwargs)

    setattr(folder.store, name, wrapper)
    return calls


async def test_body_peek_does_not_set_seen(three: Folder) -> None:
    data, outcome = await three.fetch("1:* (BODY.PEEK[] BODY.PEEK[TEXT] RFC822.HEADER)")
    assert outcome.seen == []
    assert b"FLAGS" not in data
    assert all(e.flags == frozenset() for e in await three.entries())


@pytest.mark.parametrize("item", ["BODY[]", "BODY[TEXT]", "BODY[HEADER.FIELDS (SUBJECT)]",
                                  "RFC822", "RFC822.TEXT", "BODY[1]<0.2>"])
async def test_items_that_set_seen_report_flags(three: Folder, item: str) -> None:
    await three.store.store_flags(three.mailbox_id, [2], lambda f: f | {"\\Seen"})
    calls = count_calls(three, "store_flags")
    data, outcome = await three.fetch(f"1:3 ({item})")
    assert len(calls) == 1 and list(calls[0][1]) == [1, 3]  # one call, only the unseen ones
    assert [e.uid for e in outcome.seen] == [1, 3]
    assert all("\\Seen" in e.flags for e in outcome.seen)
    lines = [line for line in data.split(b"\r\n") if line.startswith(b"* ")]
    assert lines[0].startswith(b"* 1 FETCH (FLAGS (\\Seen) ")
    assert lines[1].startswith(b"* 2 FETCH (") and b"FLAGS" not in lines[1]
    assert lines[2].startswith(b"* 3 FETCH (FLAGS (\\Seen) ")
    assert all("\\Seen" in e.flags for e in await three.entries())


async def test_requested_flags_show_the_new_flags_once(three: Folder) -> None:
    data, outcome = await three.fetch("2 (BODY[HEADER.FIELDS (SUBJECT)] FLAGS)", uid=True)
    assert data.startswith(b"* 2 FETCH (UID 2 FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {")
    assert data.count(b"FLAGS (") == 1
    modseq = outcome.seen[0].modseq
    assert modseq == (await three.entries())[1].modseq


async def test_examine_never_sets_seen(three: Folder) -> None:
    calls = count_calls(three, "store_flags")
    data, outcome = await three.fetch("1:* (BODY[] RFC822 BINARY[1])", readonly=True)
    assert calls == [] and outcome.seen == []
    assert b"FLAGS" not in data
    assert all(e.flags == frozenset() for e in await three.entries())


async def test_already_seen_messages_make_no_store_call(three: Folder) -> None:
    await three.store.store_flags(three.mailbox_id, [1, 2, 3], lambda f: f | {"\\Seen"})
    calls = count_calls(three, "store_flags")
    data, outcome = await three.fetch("1:* BODY[]")
    assert calls == [] and outcome.seen == []
    assert data.count(b"FLAGS") == 0


async def test_modseq_of_changed_message_is_the_new_one(three: Folder) -> None:
    before = (await three.entries())[0].modseq
    data, outcome = await three.fetch("1 (BODY[TEXT] MODSEQ)")
    assert outcome.seen[0].modseq > before
    assert b"MODSEQ (%d)" % outcome.seen[0].modseq in data
