"""What only the PostgreSQL backend promises: several nodes on one database.

Two `PostgresStore`s on the same database stand for two Postbus nodes. They
must hand out distinct UIDs when appending to one folder at once, wake each
other's IDLE subscribers through LISTEN/NOTIFY (also after the listening
connection was killed), and never both claim one queue item. A missing server
fails these tests under CI=true and skips them elsewhere."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import pytest

from postbus.store import OverQuota
from postbus.store.model import Appended, QueueRecipient
from postbus.store.postgres import PostgresStore, notify
from postbus.store.postgres import blobs as pg_blobs

from .conftest import PG_DSN, _pg_database, _pg_drop, message, parsed, require_server

WAKE_WITHIN_SECONDS = 1.0


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    await require_server()
    db = await _pg_database()
    url = PG_DSN.rsplit("/", 1)[0] + "/" + db
    a, b = PostgresStore(url, tmp_path / "a"), PostgresStore(url, tmp_path / "b")
    try:
        # Both migrate the empty database at once: the advisory lock serialises them.
        await asyncio.gather(a.open(), b.open())
        yield a, b
    finally:
        await a.close()
        await b.close()
        await _pg_drop(db)


async def _inbox(store: PostgresStore, address: str = "alice@example.test") -> tuple[int, int]:
    if await store.get_domain("example.test") is None:
        await store.add_domain("example.test")
    account = await store.add_account(address, "h", quota_bytes=0)
    box = await store.get_mailbox(account.id, "INBOX")
    assert box is not None
    return account.id, box.id


async def _append(store: PostgresStore, box: int, n: int) -> Appended:
    blob = await store.put_blob(message(n))
    return await store.append(box, blob, parsed(f"message {n}"))


async def test_two_nodes_appending_to_one_folder_get_distinct_uids(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    account_id, box = await _inbox(a)
    results = await asyncio.gather(*(_append(a if n % 2 else b, box, n) for n in range(80)))
    assert sorted(r.uid for r in results) == list(range(1, 81))
    assert len({r.modseq for r in results}) == 80
    account = await b.get_account_by_id(account_id)
    assert account is not None and account.used_messages == 80
    assert account.used_bytes == sum(len(message(n)) for n in range(80))
    mailbox = await a.get_mailbox_by_id(box)
    assert mailbox is not None and mailbox.uid_next == 81
    assert mailbox.highest_modseq == max(r.modseq for r in results)


async def test_append_on_one_node_wakes_a_subscriber_on_the_other(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    account_id, box = await _inbox(a)
    with a.changes.subscribe(account_id) as sub:
        started = time.monotonic()
        appended = await _append(b, box, 1)
        assert await sub.wait(WAKE_WITHIN_SECONDS)
        assert time.monotonic() - started < WAKE_WITHIN_SECONDS
        (change,) = sub.pending()
        assert (change.mailbox_id, change.modseq, change.kind) == (box, appended.modseq, "messages")
        # A node's own change arrives once: its NOTIFY echo is ignored.
        mine = await _append(a, box, 2)
        assert await sub.wait(WAKE_WITHIN_SECONDS)
        assert [c.modseq for c in sub.pending()] == [mine.modseq]
        assert not await sub.wait(0.3)


async def test_folder_and_subscription_changes_cross_nodes(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    # What NOTIFY's MailboxName and SubscriptionChange (RFC 5465 §5.4, §5.5) hear of.
    a, b = nodes
    account_id, _ = await _inbox(a)
    with a.changes.subscribe(account_id) as sub:
        box = await b.create_mailbox(account_id, "Lists")
        await b.set_subscribed(account_id, "Lists", True)
        seen: set[tuple[int, str]] = set()
        while len(seen) < 2:
            assert await sub.wait(WAKE_WITHIN_SECONDS)
            seen |= {(c.mailbox_id, c.kind) for c in sub.pending()}
        assert seen == {(box.id, "mailboxes"), (0, "subscriptions")}


async def test_rolled_back_changes_are_not_announced(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    await a.add_domain("example.test")
    account = await a.add_account("small@example.test", "h", quota_bytes=10)
    box = await a.get_mailbox(account.id, "INBOX")
    assert box is not None
    with a.changes.subscribe(account.id) as sub:
        results = await b.deliver([box.id], await b.put_blob(message(1, 100)), parsed())
        assert isinstance(results[0], OverQuota)
        assert not await sub.wait(0.3)


async def test_listener_reconnects_after_its_connection_is_killed(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    account_id, box = await _inbox(a)
    old_pid = a.listener.backend_pid
    assert old_pid is not None
    assert await b.pool.fetchval("SELECT pg_terminate_backend($1)", old_pid)
    deadline = time.monotonic() + 5
    while a.listener.backend_pid in (None, old_pid) or not a.listener.connected.is_set():
        assert time.monotonic() < deadline, "the listener did not reconnect"
        await asyncio.sleep(0.02)
    with a.changes.subscribe(account_id) as sub:
        appended = await _append(b, box, 1)
        assert await sub.wait(WAKE_WITHIN_SECONDS)
        assert [c.modseq for c in sub.pending()] == [appended.modseq]


async def test_two_nodes_claiming_the_queue_never_share_an_item(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    blob = await a.put_blob(b"Subject: q\r\n\r\n")
    ids = {
        await a.enqueue("me@example.test", [QueueRecipient(f"r{n}@remote.test")], blob,
                        next_attempt=100.0 + n)
        for n in range(60)
    }
    claims: dict[str, list[int]] = {"a": [], "b": []}

    async def worker(store: PostgresStore, node: str) -> None:
        while True:
            items = await store.claim_queue(node, now=1000.0, lease=60, limit=3)
            if not items:
                return
            assert all(i.claimed_by == node and i.attempts == 1 for i in items)
            claims[node].extend(i.id for i in items)

    await asyncio.gather(*(worker(s, n) for s, n in ((a, "a"), (b, "b")) for _ in range(4)))
    assert not set(claims["a"]) & set(claims["b"])
    assert sorted(claims["a"] + claims["b"]) == sorted(ids)
    # every claim holds until its lease runs out
    assert await b.claim_queue("b", now=1059.0, lease=60, limit=100) == []
    assert len(await b.claim_queue("b", now=1061.0, lease=60, limit=100)) == 60


async def test_opposite_deliveries_and_moves_do_not_deadlock(
    nodes: tuple[PostgresStore, PostgresStore], caplog: pytest.LogCaptureFixture,
) -> None:
    # The lock order makes deadlocks impossible; the retry that would hide one logs it.
    caplog.set_level(logging.DEBUG, logger="postbus.store.postgres.db")
    a, b = nodes
    acc_x, box_x = await _inbox(a, "x@example.test")
    acc_y, box_y = await _inbox(a, "y@example.test")
    blob = await a.put_blob(message(0))
    for _ in range(10):
        await a.append(box_x, blob, parsed())
        await a.append(box_y, blob, parsed())

    async def deliver(store: PostgresStore, boxes: list[int]) -> None:
        for _ in range(10):
            results = await store.deliver(boxes, blob, parsed())
            assert all(isinstance(r, Appended) for r in results)

    async def move(store: PostgresStore, src: int, dst: int) -> None:
        for uid in range(1, 6):
            await store.copy(src, [uid], dst, move=True)

    await asyncio.gather(
        deliver(a, [box_x, box_y]), deliver(b, [box_y, box_x]),
        move(a, box_x, box_y), move(b, box_y, box_x),
    )
    total = 0
    for account_id, box in ((acc_x, box_x), (acc_y, box_y)):
        account = await a.get_account_by_id(account_id)
        entries = await a.list_messages(box)
        assert account is not None and account.used_messages == len(entries)
        assert len({e.uid for e in entries}) == len(entries)
        total += len(entries)
    assert total == 20 + 2 * 2 * 10
    assert not [r.getMessage() for r in caplog.records if "retried" in r.getMessage()]


async def test_range_reads_and_garbage_collection(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    _, box = await _inbox(a)
    data = bytes(range(256)) * 4096  # 1 MiB, past the spill threshold
    w = a.blob_writer()
    for i in range(0, len(data), 10_000):
        w.write(data[i:i + 10_000])
    big = await w.finish()
    assert not list(a.tmp.iterdir()), "the spill file outlived finish()"
    assert await b.read_blob(big.id, 700_000, 1000) == data[700_000:701_000]
    assert await b.read_blob(big.id, len(data) - 5) == data[-5:]
    assert await b.read_blob(big.id, len(data) + 10, 3) == b""
    with pytest.raises(FileNotFoundError):
        await b.read_blob("0" * 64)
    kept = await a.put_blob(message(1))
    await a.append(box, kept, parsed())
    young = await a.put_blob(b"unreferenced but young")
    old = pg_blobs.GC_GRACE_SECONDS + 60
    await a.pool.execute("UPDATE blobs SET created = created - $1 WHERE id <> $2", old, young.id)
    assert await b.collect_garbage() == 1  # `big`: old and unreferenced
    assert not await a.blob_exists(big.id)
    assert await a.blob_exists(kept.id) and await a.blob_exists(young.id)
    # a writer reusing an old body renews it, so a collection cannot take it away
    await a.pool.execute("UPDATE blobs SET created = created - $1 WHERE id = $2", old, young.id)
    assert await a.put_blob(b"unreferenced but young") == young
    assert await b.collect_garbage() == 0


async def test_search_folds_case_beyond_ascii_and_survives_nul(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, _ = nodes
    _, box = await _inbox(a)
    for n, text in enumerate(["Die Größe zählt", "ÉTÉ à Paris", "nul\x00byte"]):
        blob = await a.put_blob(message(n))
        await a.append(box, blob, parsed(text))
    assert await a.search_text(box, "body", "GRÖSSE") == {1}
    assert await a.search_text(box, "header", "été") == {2}
    assert await a.search_text(box, "text", "100%") == set()
    assert await a.search_text(box, "body", "byte") == {3}


async def test_reopening_does_not_migrate_again(
    nodes: tuple[PostgresStore, PostgresStore], tmp_path: Path,
) -> None:
    a, _ = nodes
    versions = [r[0] for r in await a.pool.fetch("SELECT version FROM schema_migrations")]
    files = resources.files("postbus.store.migrations.postgresql").iterdir()
    assert sorted(versions) == sorted(int(f.name[:4]) for f in files if f.name.endswith(".sql"))
    again = PostgresStore(a.url, tmp_path / "c")
    await again.open()
    await again.close()
    assert len(await a.pool.fetch("SELECT version FROM schema_migrations")) == len(versions)


async def test_listener_replaces_a_connection_that_died_silently(
    nodes: tuple[PostgresStore, PostgresStore], monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = nodes
    account_id, box = await _inbox(a)
    listener = notify.ChangeListener(a.url, "probe", a.changes, heartbeat=0.05)
    await listener.start()
    try:
        old_pid = listener.backend_pid
        dead = listener._conn
        fetchval = type(dead).fetchval

        async def unanswered(conn: object, *args: object, **kw: object) -> object:
            if conn is dead:
                raise TimeoutError  # as a query on a partitioned connection ends
            return await fetchval(conn, *args, **kw)

        monkeypatch.setattr(type(dead), "fetchval", unanswered)
        deadline = time.monotonic() + 5
        while listener.backend_pid in (None, old_pid) or not listener.connected.is_set():
            assert time.monotonic() < deadline, "the listener kept a dead connection"
            await asyncio.sleep(0.02)
        with a.changes.subscribe(account_id) as sub:
            appended = await _append(b, box, 1)
            assert await sub.wait(WAKE_WITHIN_SECONDS)
            assert [c.modseq for c in sub.pending()] == [appended.modseq]
    finally:
        await listener.stop()


async def test_two_nodes_claim_each_new_message_as_recent_once(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    # RFC 3501 §2.3.2 across nodes: sessions on A and B claiming while both deliver.
    a, b = nodes
    _, box = await _inbox(a)
    claimed: list[int] = []

    async def claim(node: PostgresStore) -> None:
        low, high = await node.claim_recent(box)
        claimed.extend(range(low + 1, high + 1))

    work = [_append(node, box, n) for n in range(30) for node in (a, b) if n % 2 == (node is b)]
    work += [claim(node) for _ in range(15) for node in (a, b)]
    await asyncio.gather(*work)
    await claim(a)
    assert sorted(claimed) == list(range(1, 31))
    assert await b.recent_count(box) == 0
