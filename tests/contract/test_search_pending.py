"""A message is searchable from the moment its append returns, on every backend.

The embedded store indexes search text in the background (store/sqlite/search.py):
an appended message's text first waits in `search_pending`, then the writer's
idle work moves it into the FTS5 index. These tests check that a search finds it
in both states with the same answer, that an expunged message is found in
neither, and that the indexer keeps up under load and resumes after a restart.
The embedded store's own cases use the `sqlite_store` fixture."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.store.contract import Store
from postbus.store.model import Account, Parsed
from postbus.store.sqlite import db, search
from postbus.store.sqlite.backend import SqliteStore

from .conftest import add, message, remove

INDEX_TIMEOUT = 10.0


async def _inbox(store: Store) -> tuple[Account, int]:
    await store.add_domain("example.test")
    account = await store.add_account("alice@example.test", "h", quota_bytes=0)
    box = await store.get_mailbox(account.id, "INBOX")
    assert box is not None
    return account, box.id


async def _add(store: Store, box: int, n: int, subject: str, body: str) -> int:
    blob = await store.put_blob(message(n))
    parsed = Parsed(meta=b"m", header_text=f"Subject: {subject}", body_text=body)
    return (await store.append(box, blob, parsed)).uid


async def _indexed(store: SqliteStore) -> None:
    deadline = time.monotonic() + INDEX_TIMEOUT
    while await store.search_backlog():
        assert time.monotonic() < deadline, "the background indexer did not catch up"
        await asyncio.sleep(0.01)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """For the cases about the embedded store's own indexer."""
    s = SqliteStore(tmp_path / "data")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def test_appended_message_is_found_at_once_and_after_indexing(store: Store) -> None:
    _, box = await _inbox(store)
    first = await _add(store, box, 1, "Quarterly figures", "the needle is here")
    assert await store.search_text(box, "body", "NEEDLE") == {first}
    second = await _add(store, box, 2, "needle in the subject", "nothing")
    third = await _add(store, box, 3, "lunch", "haystack only")
    assert await store.search_text(box, "body", "needle") == {first}
    assert await store.search_text(box, "header", "needle") == {second}
    assert await store.search_text(box, "text", "needle") == {first, second}
    await store.expunge(box, [first])
    assert await store.search_text(box, "text", "needle") == {second}
    if isinstance(store, SqliteStore):
        await _indexed(store)
        assert await store.search_text(box, "text", "needle") == {second}
        assert await store.search_text(box, "body", "haystack") == {third}
    await store.expunge(box, [second])
    assert await store.search_text(box, "text", "needle") == set()
    await store.collect_garbage()
    assert await store.search_text(box, "text", "needle") == set()
    assert await store.search_text(box, "body", "haystack") == {third}


async def test_search_stays_in_its_folder(store: Store) -> None:
    account, inbox = await _inbox(store)
    other = await store.create_mailbox(account.id, "Work")
    uid = await _add(store, inbox, 1, "a", "shared words")
    await _add(store, other.id, 2, "b", "shared words")
    assert await store.search_text(inbox, "body", "shared") == {uid}


async def test_expunged_before_indexing_is_never_indexed(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    _, box = await _inbox(store)
    uids = [await _add(store, box, n, f"s{n}", f"doomed text {n}") for n in range(30)]
    await store.expunge(box, uids)
    await store.collect_garbage()
    assert await sqlite_store.search_backlog() == 0
    with sqlite3.connect(sqlite_store.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM message_meta").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM message_search").fetchone()[0] == 0


# Pending and indexed rows must give the same answers, Unicode case folding included.
SAMPLES = ["L'ÉTÉ EST CHAUD", "σίσυφος und Straße", "İstanbul ǅemal ﬁsh", "plain ascii words",
           "ΣΊΣΥΦΟΣ ǆ µ", "Ꭰ Cherokee ꭰ", "quote \" and % _ signs"]
QUERIES = ["été", "Été est", "ΣΊΣΥΦΟΣ", "σίσυφοσ", "STRASSE", "straße", "İst", "istanbul",
           "Ǆem", "ǆem", "ﬁsh", "fish", "ASCII W", "ꭰ c", "Ꭰ C", "\" and %", "% _", "ǆ μ", "ǅ µ"]


def _raw_store(path: Path) -> sqlite3.Connection:
    """A migrated store with one folder whose messages have pending search text."""
    conn = db.connect(path)
    db.migrate(conn)
    conn.executescript(
        "INSERT INTO domains (id, name, created) VALUES (1, 'example.test', 0);"
        "INSERT INTO accounts (id, address, domain_id, password_hash, quota_bytes, created)"
        " VALUES (1, 'a@example.test', 1, 'h', 0, 0);"
        "INSERT INTO mailboxes (id, account_id, name, uid_validity) VALUES (1, 1, 'INBOX', 1);"
    )
    for n, text in enumerate(SAMPLES, 1):
        conn.execute("INSERT INTO message_meta (id, blob_id, meta) VALUES (?, ?, x'00')",
                     (n, f"{n:064x}"))
        conn.execute("INSERT INTO messages (mailbox_id, uid, meta_id, blob_id, size,"
                     " internal_date, modseq) VALUES (1, ?, ?, ?, 1, 0, 1)", (n, n, f"{n:064x}"))
        search.add(conn, n, f"Subject: {text}", text)
    return conn


async def test_pending_and_indexed_text_match_alike(tmp_path: Path) -> None:
    conn = _raw_store(tmp_path / "raw.sqlite3")
    try:
        fields = ("header", "body", "text")
        pending = {(f, q): search.search(conn, 1, f, q) for f in fields for q in QUERIES}
        conn.execute("BEGIN")
        while search.index_pending(conn)[1]:
            pass
        conn.execute("COMMIT")
        assert conn.execute("SELECT count(*) FROM search_pending").fetchone()[0] == 0
        indexed = {(f, q): search.search(conn, 1, f, q) for f in fields for q in QUERIES}
        assert pending == indexed
        assert pending[("body", "été")] == {1}
        assert pending[("body", "STRASSE")] == {2}  # full case folding, as the exact check
        assert pending[("body", "σίσυφοσ")] == {2, 5}
        assert pending[("header", "% _")] == {7}
        assert pending[("body", "ǆ μ")] == {5}  # µ (micro sign) folds to μ (mu)
    finally:
        conn.close()


async def test_index_steps_are_bounded_by_text_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "INDEX_BATCH_CHARS", 60)
    conn = _raw_store(tmp_path / "raw.sqlite3")
    try:
        steps = []
        more = True
        while more:
            done, more = search.index_pending(conn)
            steps.append(done)
        assert sum(steps) == len(SAMPLES) and max(steps) < len(SAMPLES)
        assert all(n >= 1 for n in steps[:-1])  # a row bigger than the bound goes alone
        assert search.pending(conn) == 0
        assert search.search(conn, 1, "body", "été") == {1}
    finally:
        conn.close()


async def test_indexer_keeps_up_under_a_steady_load(
    sqlite_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs that never stop arriving still let the idle work run every IDLE_MAX_DELAY."""
    store = sqlite_store
    monkeypatch.setattr(db, "IDLE_MAX_DELAY", 0.05)
    _, box = await _inbox(store)
    busy = True

    async def load() -> None:
        while busy:
            await store.store_flags(box, [1], add("\\Seen"))
            await store.store_flags(box, [1], remove("\\Seen"))

    await _add(store, box, 0, "first", "first")
    loaders = [asyncio.create_task(load()) for _ in range(4)]
    try:
        for n in range(1, 41):
            await _add(store, box, n, f"s{n}", f"steady {n}")
        deadline = time.monotonic() + INDEX_TIMEOUT
        while await sqlite_store.search_backlog():
            assert time.monotonic() < deadline, "idle work starved by a steady load"
            await asyncio.sleep(0.01)
    finally:
        busy = False
        await asyncio.gather(*loaders)
    assert await store.search_text(box, "body", "steady 4") == {5, 41}  # 4 and 40


async def test_rows_left_pending_are_indexed_after_a_restart(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "data")
    await store.open()
    _, box = await _inbox(store)
    uids = [await _add(store, box, n, f"s{n}", f"left behind {n}") for n in range(5)]
    await _indexed(store)
    await store.close()
    # as if the process had stopped before its idle work indexed them
    with sqlite3.connect(store.db_path) as conn:
        conn.execute("INSERT INTO search_pending SELECT rowid, header, body FROM message_search")
        conn.execute("DELETE FROM message_search")
    store = SqliteStore(tmp_path / "data")
    await store.open()
    try:
        assert await store.search_text(box, "body", "left behind") == set(uids)
        await _indexed(store)
        assert await store.search_text(box, "body", "left behind") == set(uids)
        with sqlite3.connect(store.db_path) as conn:
            assert conn.execute("SELECT count(*) FROM message_search").fetchone()[0] == 5
    finally:
        await store.close()
