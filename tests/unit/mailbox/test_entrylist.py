"""The compact, shared entries of selected views (`mailbox.entrylist`, issue 11's idle memory).

Not timed: the memory a view and the entry cache hold is counted with
tracemalloc, which is deterministic for the same allocations.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

from postbus.mailbox.entries import EntryCache
from postbus.mailbox.entrylist import EntryList
from postbus.mailbox.types import Mailbox, MessageEntry
from postbus.mailbox.view import MailboxView

MESSAGES = 10_000
BOX = Mailbox(7, 1, "INBOX", None, 42, MESSAGES + 1, 20_000)


class FolderStore:
    """What the entry cache reads: a 10,000-message INBOX, nine tenths \\Seen, each read
    handing out fresh objects (a new frozenset per message, as the backends do)."""

    async def get_mailbox_by_id(self, mailbox_id: int) -> Mailbox:
        return BOX

    async def list_messages(self, mailbox_id: int) -> list[MessageEntry]:
        return [MessageEntry(uid, frozenset(("\\Seen",) if uid <= MESSAGES * 9 // 10 else ()),
                             10_000 + uid) for uid in range(1, MESSAGES + 1)]


def traced(make: Any) -> tuple[Any, int]:
    """What `make()` returns and the bytes it still holds once made."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = make()
        return made, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


async def test_the_cache_holds_a_folder_in_under_20_bytes_a_message() -> None:
    cache = EntryCache(FolderStore())  # type: ignore[arg-type]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        entries, _ = await cache.entries(BOX)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(entries) == MESSAGES
    # A list of MessageEntry objects cost ~130 bytes a message (object, ints, list slots).
    assert held / MESSAGES < 20, held / MESSAGES


async def test_views_of_a_cached_folder_hold_no_memory_per_message() -> None:
    cache = EntryCache(FolderStore())  # type: ignore[arg-type]
    first, _ = await cache.entries(BOX)
    views = 50

    async def open_views() -> list[MailboxView]:
        return [MailboxView(BOX, (await cache.entries(BOX))[0], readonly=False)
                for _ in range(views)]

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        opened = await open_views()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # A copied list of pointers was 8 bytes a message per view (80 KB at 10,000).
    assert held / views < 2_048, held / views
    assert all(v.entries.shares_with(first) for v in opened)
    assert opened[0].first_unseen() == MESSAGES * 9 // 10 + 1


async def test_a_view_that_changes_copies_and_the_others_do_not_see_it() -> None:
    cache = EntryCache(FolderStore())  # type: ignore[arg-type]
    a = MailboxView(BOX, (await cache.entries(BOX))[0], readonly=False)
    b = MailboxView(BOX, (await cache.entries(BOX))[0], readonly=False)
    a.apply([MessageEntry(5, frozenset(("\\Flagged",)), 30_000)])
    assert a.entries[4] == MessageEntry(5, frozenset(("\\Flagged",)), 30_000)
    assert b.entries[4] == MessageEntry(5, frozenset(("\\Seen",)), 10_005)
    assert not a.entries.shares_with(b.entries)
    again, _ = await cache.entries(BOX)
    assert again[4] == b.entries[4] and again.shares_with(b.entries)
    assert a.expunge([1, 2]) == [1, 2] and len(b.entries) == MESSAGES


def test_an_entry_list_reads_like_the_list_it_replaces() -> None:
    plain = [MessageEntry(u, frozenset((f"$k{u % 3}",)), u * 2) for u in (3, 5, 9, 70_000)]
    entries = EntryList(plain)
    assert entries == plain and list(entries) == plain and entries[-1] == plain[-1]
    assert entries[1:3] == plain[1:3] and entries.index_of(9) == 2 and entries.index_of(4) is None
    assert entries[0].flags is entries.flags_at(0) is entries.table.canonical(frozenset(("$k0",)))
    entries.remove_uids({5})
    assert [e.uid for e in entries] == [3, 9, 70_000]
    assert entries.bytes_per_entry() == 14


def test_more_than_65535_distinct_flag_sets_widen_the_index() -> None:
    entries = EntryList(MessageEntry(u, frozenset((f"$k{u}",)), 1) for u in range(1, 70_001))
    assert entries[69_999].flags == {"$k70000"} and entries.bytes_per_entry() == 16
