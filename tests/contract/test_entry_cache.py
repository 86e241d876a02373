"""The cache of opened folders' entries (`mailbox.entries`) always answers what
the store would: after any mix of changes, `EntryCache.entries` equals a fresh
`list_messages`, on every backend, while reading only what changed."""

from __future__ import annotations

import random

import pytest

from postbus.mailbox.entries import EntryCache
from postbus.mailbox.flags import flag_update
from postbus.store.contract import Store
from postbus.store.model import Account, Changes, Mailbox, MessageEntry

from .conftest import message, parsed


async def _setup(store: Store) -> tuple[Account, Mailbox]:
    await store.add_domain("example.test")
    account = await store.add_account("alice@example.test", "h", quota_bytes=0)
    box = await store.get_mailbox(account.id, "INBOX")
    assert box is not None
    return account, box


async def _append(store: Store, box: Mailbox, n: int, flags: tuple[str, ...] = ()) -> int:
    blob = await store.put_blob(message(n, 80))
    return (await store.append(box.id, blob, parsed(str(n)), flags=flags)).uid


def _plain(entries: list[MessageEntry]) -> list[tuple[int, frozenset[str], int]]:
    return [(e.uid, e.flags, e.modseq) for e in entries]


async def _fresh(store: Store, box: Mailbox) -> Mailbox:
    """The folder as SELECT reads it just before it asks the cache."""
    row = await store.get_mailbox_by_id(box.id)
    assert row is not None
    return row


async def _check(store: Store, cache: EntryCache, box: Mailbox) -> None:
    got, _ = await cache.entries(await _fresh(store, box))
    assert _plain(got) == _plain(await store.list_messages(box.id))
    assert all(got.table.canonical(e.flags) is e.flags for e in got)  # one set per distinct set


@pytest.mark.parametrize("seed", [3, 2026])
async def test_entries_equal_the_store_after_any_mix_of_changes(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    account, box = await _setup(store)
    cache = EntryCache(store)
    await _check(store, cache, box)  # empty, then cached
    pool = ["\\Seen", "\\Flagged", "\\Deleted", "$Work"]
    for step in range(60):
        uids = [e.uid for e in await store.list_messages(box.id)]
        some = rng.sample(uids, rng.randint(0, len(uids))) if uids else []
        op = rng.choice(("append", "append", "flags", "flags", "expunge", "move"))
        if op == "append":
            await _append(store, box, step, tuple(rng.sample(pool, rng.randint(0, 2))))
        elif op == "flags":
            await store.store_flags(box.id, some, flag_update(
                rng.choice(("set", "add", "remove")), rng.sample(pool, rng.randint(0, 2))))
        elif op == "expunge":
            await store.expunge(box.id, some)
        else:
            trash = await store.get_mailbox(account.id, "Trash")
            assert trash is not None
            await store.copy(box.id, some, trash.id, move=True)
        if rng.random() < 0.6:
            await _check(store, cache, box)
    await _check(store, cache, box)


async def test_the_caller_owns_the_list_and_a_rename_reads_afresh(store: Store) -> None:
    account, _ = await _setup(store)
    box = await store.create_mailbox(account.id, "Work")
    for n in range(3):
        await _append(store, box, n)
    cache = EntryCache(store)
    first, _ = await cache.entries(await _fresh(store, box))
    first.clear()  # the view's own copy: the cache is untouched
    assert len((await cache.entries(await _fresh(store, box)))[0]) == 3
    await store.rename_mailbox(account.id, "Work", "Play")
    renamed = await store.get_mailbox(account.id, "Play")
    assert renamed is not None and renamed.uid_validity != box.uid_validity
    await _append(store, renamed, 9)
    got, _ = await cache.entries(await _fresh(store, renamed))
    assert _plain(got) == _plain(await store.list_messages(renamed.id))


async def test_reopening_reads_only_what_changed(store: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _, box = await _setup(store)
    for n in range(20):
        await _append(store, box, n)
    cache = EntryCache(store)
    await cache.entries(box)
    full_reads = 0
    original = store.list_messages

    async def counting(mailbox_id: int) -> list[MessageEntry]:
        nonlocal full_reads
        full_reads += 1
        return await original(mailbox_id)

    monkeypatch.setattr(store, "list_messages", counting)
    await _append(store, box, 99)
    got, _ = await cache.entries(await _fresh(store, box))
    assert len(got) == 21 and full_reads == 0
    asked = 0
    original_changes = store.changes_since

    async def counting_changes(mailbox_id: int, modseq: int) -> Changes:
        nonlocal asked
        asked += 1
        return await original_changes(mailbox_id, modseq)

    monkeypatch.setattr(store, "changes_since", counting_changes)
    got, _ = await cache.entries(await _fresh(store, box))  # nothing changed: nothing asked
    assert len(got) == 21 and asked == 0 and full_reads == 0


async def test_the_cache_is_bounded(store: Store) -> None:
    account, inbox = await _setup(store)
    other = await store.create_mailbox(account.id, "Other")
    for n in range(6):
        await _append(store, inbox, n)
        await _append(store, other, n)
    cache = EntryCache(store, max_entries=8)
    await cache.entries(await _fresh(store, inbox))
    assert cache.total == 6
    await cache.entries(await _fresh(store, other))  # the least recently opened folder goes
    assert cache.total == 6
    for n in range(6, 10):
        await _append(store, other, n)
    got, _ = await cache.entries(await _fresh(store, other))  # past the bound: dropped, right
    assert len(got) == 10 and cache.total <= 8
    again, _ = await cache.entries(await _fresh(store, inbox))
    assert _plain(again) == _plain(await store.list_messages(inbox.id))


async def test_the_exact_mod_sequence_is_known_once_the_cache_answers(store: Store) -> None:
    """SELECT counts on it: counters read at that mod-sequence count exactly these entries."""
    _, box = await _setup(store)
    await _append(store, box, 1)
    cache = EntryCache(store)
    _, exact = await cache.entries(await _fresh(store, box))
    assert exact is None  # a full read sees a moment, not a mod-sequence
    fresh = await _fresh(store, box)
    _, exact = await cache.entries(fresh)
    assert exact == fresh.highest_modseq
    await _append(store, box, 2)
    fresh = await _fresh(store, box)
    got, exact = await cache.entries(fresh)
    assert exact == fresh.highest_modseq and len(got) == 2
