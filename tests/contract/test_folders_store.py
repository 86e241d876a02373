"""Folders through the contract: subscriptions as their own state, per-folder
counters that always equal a full recount, rename with children, and names
stored verbatim (the naming rules are the mailbox service's, not the store's)."""

from __future__ import annotations

import random

import pytest

from postbus.store import AlreadyExists, NotFound
from postbus.store.contract import Store
from postbus.store.model import SPECIAL_USE_FOLDERS, Account, Change

from .conftest import FlagUpdate, add, message, parsed, remove, replace

SEEN, DELETED = "\\Seen", "\\Deleted"


async def _account(store: Store, address: str = "alice@example.test") -> Account:
    if await store.get_domain("example.test") is None:
        await store.add_domain("example.test")
    return await store.add_account(address, "h", quota_bytes=0)


async def _box_id(store: Store, account: Account, name: str) -> int:
    box = await store.get_mailbox(account.id, name)
    assert box is not None, name
    return box.id


# -- subscriptions (RFC 3501 §6.3.9, RFC 5258 §3) ---------------------------------

async def test_new_account_subscribes_its_special_use_folders(store: Store) -> None:
    acc = await _account(store)
    assert await store.list_subscriptions(acc.id) == sorted(n for n, _ in SPECIAL_USE_FOLDERS)


async def test_create_does_not_subscribe(store: Store) -> None:
    acc = await _account(store)
    before = await store.list_subscriptions(acc.id)
    await store.create_mailbox(acc.id, "Projects")
    assert await store.list_subscriptions(acc.id) == before


async def test_delete_and_rename_leave_subscriptions_alone(store: Store) -> None:
    acc = await _account(store)
    await store.create_mailbox(acc.id, "Old")
    await store.create_mailbox(acc.id, "Old/child")
    await store.create_mailbox(acc.id, "Doomed")
    for name in ("Old", "Old/child", "Doomed"):
        await store.set_subscribed(acc.id, name, True)
    await store.rename_mailbox(acc.id, "Old", "New")
    await store.delete_mailbox(acc.id, "Doomed")
    subscribed = await store.list_subscriptions(acc.id)
    assert {"Old", "Old/child", "Doomed"} <= set(subscribed)
    assert "New" not in subscribed and "New/child" not in subscribed


async def test_subscribing_a_missing_name_works_and_is_idempotent(store: Store) -> None:
    acc = await _account(store)
    await store.set_subscribed(acc.id, "Nowhere/at all", True)
    await store.set_subscribed(acc.id, "Nowhere/at all", True)
    assert (await store.list_subscriptions(acc.id)).count("Nowhere/at all") == 1
    assert await store.get_mailbox(acc.id, "Nowhere/at all") is None
    await store.set_subscribed(acc.id, "Nowhere/at all", False)
    await store.set_subscribed(acc.id, "Never subscribed", False)
    assert "Nowhere/at all" not in await store.list_subscriptions(acc.id)


async def test_subscriptions_are_sorted_and_per_account(store: Store) -> None:
    alice = await _account(store)
    bob = await _account(store, "bob@example.test")
    for name in ("zeta", "Zeta", "älpha", "alpha"):
        await store.set_subscribed(alice.id, name, True)
    names = await store.list_subscriptions(alice.id)
    assert names == sorted(names)  # by code point: upper case before lower, ä last
    assert "zeta" not in await store.list_subscriptions(bob.id)


async def test_removing_the_account_or_domain_removes_its_subscriptions(store: Store) -> None:
    alice = await _account(store)
    await store.set_subscribed(alice.id, "Kept?", True)
    await store.remove_account(alice.address)
    assert await store.list_subscriptions(alice.id) == []
    bob = await _account(store, "bob@example.test")
    await store.remove_domain("example.test")
    assert await store.list_subscriptions(bob.id) == []


# -- names are verbatim ---------------------------------------------------------------

async def test_names_are_stored_verbatim(store: Store) -> None:
    acc = await _account(store)
    assert await store.get_mailbox(acc.id, "inbox") is None  # no INBOX case folding
    lower = await store.create_mailbox(acc.id, "inbox")
    assert lower.name == "inbox" and lower.id != await _box_id(store, acc, "INBOX")
    names = [b.name for b in await store.list_mailboxes(acc.id)]
    assert "inbox" in names and "INBOX" in names
    await store.set_subscribed(acc.id, "inbox", True)
    assert "inbox" in await store.list_subscriptions(acc.id)


async def test_the_store_keeps_no_inbox_rule(store: Store) -> None:
    """Protecting INBOX and its RENAME semantics (RFC 9051 §6.3.6) are the service's."""
    acc = await _account(store)
    inbox = await _box_id(store, acc, "INBOX")
    await store.create_mailbox(acc.id, "INBOX/sub")
    await store.rename_mailbox(acc.id, "INBOX", "Old")
    assert await store.get_mailbox(acc.id, "INBOX") is None
    assert await _box_id(store, acc, "Old") == inbox
    assert await store.get_mailbox(acc.id, "Old/sub") is not None
    await store.delete_mailbox(acc.id, "Old")
    assert await store.get_mailbox(acc.id, "Old") is None


# -- rename -------------------------------------------------------------------------------

async def test_rename_moves_children_with_new_uid_validity(store: Store) -> None:
    acc = await _account(store)
    made = {n: await store.create_mailbox(acc.id, n) for n in ("a", "a/b", "a/b/c", "ab", "b/a")}
    await store.rename_mailbox(acc.id, "a", "x/y")
    names = {b.name: b for b in await store.list_mailboxes(acc.id)}
    for old, new in (("a", "x/y"), ("a/b", "x/y/b"), ("a/b/c", "x/y/b/c")):
        assert old not in names
        assert names[new].id == made[old].id
        assert names[new].uid_validity != made[old].uid_validity
    assert names["ab"] == made["ab"] and names["b/a"] == made["b/a"]  # not children of "a"
    assert len({b.uid_validity for b in names.values()}) == len(names)


async def test_object_id_is_unique_and_kept_across_rename(store: Store) -> None:
    # RFC 8474 §4.1: MAILBOXID stays with the folder through RENAME (UIDVALIDITY does
    # not), and no two folders share one, even after a delete and a new create.
    acc = await _account(store)
    created = await store.create_mailbox(acc.id, "a")
    await store.create_mailbox(acc.id, "a/b")
    before = {b.name: b for b in await store.list_mailboxes(acc.id)}
    assert created.object_id == before["a"].object_id != 0
    await store.rename_mailbox(acc.id, "a", "x")
    after = {b.name: b for b in await store.list_mailboxes(acc.id)}
    assert after["x"].object_id == before["a"].object_id
    assert after["x/b"].object_id == before["a/b"].object_id
    assert after["x"].uid_validity != before["a"].uid_validity
    await store.delete_mailbox(acc.id, "x/b")
    again = await store.create_mailbox(acc.id, "x/b")
    ids = [b.object_id for b in await store.list_mailboxes(acc.id)]
    assert again.object_id not in {before["a/b"].object_id} and len(set(ids)) == len(ids)
    status = await store.find_mailbox_status(acc.id, "x")
    assert status is not None and status.mailbox.object_id == before["a"].object_id


async def test_rename_refuses_any_existing_target_and_changes_nothing(store: Store) -> None:
    acc = await _account(store)
    for name in ("a", "a/b", "z", "z/b"):
        await store.create_mailbox(acc.id, name)
    before = await store.list_mailboxes(acc.id)
    with pytest.raises(AlreadyExists):
        await store.rename_mailbox(acc.id, "a", "z")
    await store.delete_mailbox(acc.id, "z")
    with pytest.raises(AlreadyExists):  # only the child's target exists
        await store.rename_mailbox(acc.id, "a", "z")
    after = {b.name for b in await store.list_mailboxes(acc.id)}
    assert after == {b.name for b in before} - {"z"}
    with pytest.raises(NotFound):
        await store.rename_mailbox(acc.id, "missing", "q")


# -- counters -------------------------------------------------------------------------------

async def _recount(store: Store, mailbox_id: int) -> tuple[int, int, int, int, int]:
    entries = await store.list_messages(mailbox_id)
    infos = await store.fetch_info(mailbox_id, [e.uid for e in entries])
    assert [i.uid for i in infos] == [e.uid for e in entries]
    deleted = [i for i in infos if DELETED in i.flags]
    return (
        len(infos),
        sum(SEEN not in i.flags for i in infos),
        sum(i.size for i in infos),
        len(deleted),
        sum(i.size for i in deleted),
    )


async def _check_counters(store: Store, account: Account) -> None:
    total_size = total_messages = 0
    for box in await store.list_mailboxes(account.id):
        status = await store.mailbox_status(box.id)
        counted = (status.messages, status.unseen, status.size, status.deleted, status.deleted_size)
        assert counted == await _recount(store, box.id), box.name
        assert status.mailbox == box
        total_size += status.size
        total_messages += status.messages
    acc = await store.get_account_by_id(account.id)
    assert acc is not None and (acc.used_bytes, acc.used_messages) == (total_size, total_messages)


FLAG_POOL = (SEEN, DELETED, "\\Flagged", "$Work")


def _update(rng: random.Random) -> FlagUpdate:
    flags = rng.sample(FLAG_POOL, rng.randint(0, 2))
    return rng.choice((add, remove, replace))(*flags)


@pytest.mark.parametrize("seed", [9, 2026])
async def test_counters_equal_a_recount_after_any_mix_of_changes(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    acc = await _account(store)
    extra = ["F", "F/sub"]
    for name in extra:
        await store.create_mailbox(acc.id, name)
    names = ["INBOX", "Trash", *extra]
    for step in range(90):
        ids = [await _box_id(store, acc, n) for n in names]
        box = rng.choice(ids)
        uids = [e.uid for e in await store.list_messages(box)]
        some = rng.sample(uids, rng.randint(0, len(uids))) if uids else []
        op = rng.choice(("append", "append", "deliver", "flags", "flags", "expunge", "copy",
                         "move", "rename", "delete"))
        if op == "append":
            blob = await store.put_blob(message(step, rng.randint(50, 400)))
            await store.append(box, blob, parsed(str(step)),
                               flags=rng.sample(FLAG_POOL, rng.randint(0, 3)))
        elif op == "deliver":
            blob = await store.put_blob(message(step, rng.randint(50, 400)))
            await store.deliver(rng.sample(ids, 2), blob, parsed(str(step)))
        elif op == "flags":
            modseq = (await store.get_mailbox_by_id(box)).highest_modseq  # type: ignore[union-attr]
            since = rng.choice((None, modseq, max(1, modseq - 3)))
            await store.store_flags(box, [*some, 999_999], _update(rng), unchanged_since=since)
        elif op == "expunge":
            await store.expunge(box, some)
        elif op in ("copy", "move"):
            await store.copy(box, some, rng.choice(ids), move=op == "move")
        elif op == "rename":
            old = rng.choice(names[2:])
            new = old.replace("F", "G") if old.startswith("F") else old.replace("G", "F")
            await store.rename_mailbox(acc.id, old, new)
            names = [new + n[len(old):] if n == old or n.startswith(old + "/") else n
                     for n in names]
        elif op == "delete":
            victim = rng.choice(names[2:])
            await store.delete_mailbox(acc.id, victim)
            await store.create_mailbox(acc.id, victim)  # empty again, counters from zero
        if step % 15 == 0:
            await _check_counters(store, acc)
    await _check_counters(store, acc)


async def test_mailbox_status_of_a_missing_folder(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.mailbox_status(424242)
    acc = await _account(store)
    assert await store.find_mailbox_status(acc.id, "Nowhere") is None
    assert await store.find_mailbox_status(acc.id, "inbox") is None  # names are verbatim


class _RecordingPool:
    """Forwards to an asyncpg pool and records the SQL of its point reads."""

    def __init__(self, pool: object, seen: list[str]) -> None:
        self._pool, self._seen = pool, seen

    def __getattr__(self, name: str) -> object:
        attr = getattr(self._pool, name)
        if name not in ("fetch", "fetchrow", "fetchval", "execute"):
            return attr

        def record(sql: str, *args: object) -> object:
            self._seen.append(sql)
            return attr(sql, *args)  # type: ignore[operator]

        return record


async def test_status_and_folder_reads_never_scan_messages(store: Store) -> None:
    """Issue 9: STATUS and SELECT cost must not grow with the folder, so these
    reads touch the folder row only: no COUNT/SUM over `messages`."""
    acc = await _account(store)
    box = await _box_id(store, acc, "INBOX")
    for n in range(3):
        await store.append(box, await store.put_blob(message(n)), parsed(str(n)))
    seen: list[str] = []
    if hasattr(store, "_db"):  # the embedded store reads on its event-loop connection
        store._db.set_trace_callback(seen.append)
    else:
        store._pool = _RecordingPool(store._pool, seen)  # type: ignore[attr-defined]
    try:
        status = await store.mailbox_status(box)
        named = await store.find_mailbox_status(acc.id, "INBOX")
        await store.get_mailbox(acc.id, "INBOX")
        await store.get_mailbox_by_id(box)
    finally:
        if hasattr(store, "_db"):
            store._db.set_trace_callback(None)
        else:
            store._pool = store._pool._pool  # type: ignore[attr-defined]
    assert status.messages == 3 and named == status
    assert len(seen) == 4
    for sql in seen:
        assert " FROM mailboxes" in sql and "messages WHERE" not in sql, sql
        assert "count(" not in sql.lower() and "sum(" not in sql.lower(), sql


# -- \Recent (RFC 3501 §2.3.2) ----------------------------------------------------

async def test_each_new_message_is_claimed_as_recent_once(store: Store) -> None:
    acc = await _account(store)
    box = await _box_id(store, acc, "INBOX")
    assert await store.claim_recent(box) == (0, 0)
    for n in range(3):
        await store.append(box, await store.put_blob(message(n)), parsed(str(n)))
    assert await store.recent_count(box) == 3
    assert await store.claim_recent(box, claim=False) == (0, 3)  # EXAMINE: a look only
    assert await store.claim_recent(box) == (0, 3)  # the first SELECT claims 1..3
    assert await store.claim_recent(box) == (3, 3)  # nothing left for the next
    assert await store.recent_count(box) == 0
    await store.append(box, await store.put_blob(message(9)), parsed("9"))
    assert await store.recent_count(box) == 1
    assert await store.claim_recent(box) == (3, 4)
    # Copies and moves are new in their target (RFC 3501 §6.4.7).
    trash = await _box_id(store, acc, "Trash")
    await store.copy(box, [1, 2], trash)
    assert await store.recent_count(trash) == 2
    with pytest.raises(NotFound):
        await store.claim_recent(10**6)


async def test_concurrent_claims_share_out_each_uid_once(store: Store) -> None:
    import asyncio

    acc = await _account(store)
    box = await _box_id(store, acc, "INBOX")
    claimed: list[int] = []

    async def deliver(n: int) -> None:
        await store.append(box, await store.put_blob(message(n)), parsed(str(n)))

    async def claim() -> None:
        low, high = await store.claim_recent(box)
        claimed.extend(range(low + 1, high + 1))

    work = [deliver(n) for n in range(20)] + [claim() for _ in range(20)]
    random.Random(7).shuffle(work)
    await asyncio.gather(*work)
    await claim()
    assert sorted(claimed) == list(range(1, 21))


async def test_subscribing_is_a_change_event(store: Store) -> None:
    # NOTIFY SubscriptionChange (RFC 5465 §5.5) hears of it on every node.
    acc = await _account(store)
    with store.changes.subscribe(acc.id) as sub:
        await store.set_subscribed(acc.id, "News", True)
        await store.set_subscribed(acc.id, "News", False)
        assert sub.pending() == [Change(acc.id, 0, 0, "subscriptions")]
