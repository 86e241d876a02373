"""The embedded store keeps small bodies in SQLite, stored by the transaction that
first references them (store/blobs.py); big ones stay fsync'd files. A body is
readable from `finish()` on, never referenced while missing, and collected only
once unreferenced and old. (Backend-neutral blob behaviour is in
test_messages_store.py and test_crash.py.)"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.store import NotFound, blobs
from postbus.store.model import Account, BlobRef, Parsed, QueueRecipient
from postbus.store.sqlite.backend import SqliteStore

from .conftest import message, parsed


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "data")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def _inbox(store: SqliteStore) -> tuple[Account, int]:
    await store.add_domain("example.test")
    account = await store.add_account("alice@example.test", "h", quota_bytes=0)
    box = await store.get_mailbox(account.id, "INBOX")
    assert box is not None
    return account, box.id


def _rows(store: SqliteStore, blob_id: str) -> int:
    with sqlite3.connect(store.db_path) as conn:
        return int(conn.execute(
            "SELECT count(*) FROM blobs_inline WHERE id = ?", (blob_id,)).fetchone()[0])


def _file(store: SqliteStore, blob_id: str) -> bool:
    return store.blobs.files.exists(blob_id)


async def test_small_body_is_stored_with_its_first_reference(store: SqliteStore) -> None:
    _, box = await _inbox(store)
    raw = message(1, 5000)
    writer = store.blob_writer()
    for start in range(0, len(raw), 1000):
        writer.write(raw[start:start + 1000])
    blob = await writer.finish()
    # readable at once, but nothing on disk until a transaction references it
    assert await store.read_blob(blob.id) == raw
    assert await store.read_blob(blob.id, 100, 50) == raw[100:150]
    assert _rows(store, blob.id) == 0 and not _file(store, blob.id)
    await store.append(box, blob, parsed("one"))
    assert _rows(store, blob.id) == 1 and not _file(store, blob.id)
    assert store.blobs.stage.get(blob.id) is None  # durable now: the stage let it go
    assert await store.read_blob(blob.id) == raw
    assert await store.read_blob(blob.id, 4990) == raw[4990:]
    assert await store.read_blob(blob.id, 100, 50) == raw[100:150]
    assert await store.read_blob(blob.id, 9000, 10) == b""
    assert store.blobs.exists(blob.id)


async def test_big_body_is_a_file(store: SqliteStore) -> None:
    _, box = await _inbox(store)
    raw = message(2, blobs.INLINE_LIMIT + 1)
    blob = await store.put_blob(raw)
    assert _file(store, blob.id)
    await store.append(box, blob, parsed("big"))
    assert _rows(store, blob.id) == 0
    assert await store.read_blob(blob.id) == raw


async def test_one_body_for_many_folders_and_the_queue_is_stored_once(
    store: SqliteStore,
) -> None:
    account, box = await _inbox(store)
    work = await store.create_mailbox(account.id, "Work")
    blob = await store.put_blob(message(3, 2000))
    results = await store.deliver([box, work.id], blob, parsed("both"))
    assert all(not isinstance(r, Exception) for r in results)
    again = await store.put_blob(message(3, 2000))
    assert again == blob
    await store.enqueue("alice@example.test", [QueueRecipient("bob@remote.test")], again)
    assert _rows(store, blob.id) == 1
    assert store.blobs.stage.size == 0


async def test_a_failed_append_keeps_the_body_staged(store: SqliteStore) -> None:
    account, box = await _inbox(store)
    await store.update_account(account.address, quota_bytes=10)
    blob = await store.put_blob(message(4, 3000))
    with pytest.raises(Exception, match="quota"):
        await store.append(box, blob, parsed("too big"))
    assert _rows(store, blob.id) == 0  # rolled back with the append
    await store.update_account(account.address, quota_bytes=0)
    await store.append(box, blob, parsed("fits now"))  # the same BlobRef still works
    assert _rows(store, blob.id) == 1


async def test_a_body_nobody_references_is_written_as_a_file(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, box = await _inbox(store)
    monkeypatch.setattr(blobs, "STAGE_MAX_AGE", 0.0)
    forgotten = await store.put_blob(message(5, 1000))
    await store.put_blob(message(6, 1000))  # the next finish() writes stale bodies out
    assert _file(store, forgotten.id)
    assert store.blobs.stage.get(forgotten.id) is None
    await store.append(box, forgotten, parsed("late"))
    assert await store.read_blob(forgotten.id) == message(5, 1000)


async def test_a_full_stage_writes_files(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, box = await _inbox(store)
    monkeypatch.setattr(blobs, "STAGE_LIMIT", 1500)
    first = await store.put_blob(message(7, 1000))
    second = await store.put_blob(message(8, 1000))
    assert not _file(store, first.id) and _file(store, second.id)
    for n, blob in enumerate((first, second)):
        await store.append(box, blob, parsed(f"m{n}"))
    assert _rows(store, first.id) == 1 and _rows(store, second.id) == 0


async def test_a_reference_to_a_missing_body_is_refused(store: SqliteStore) -> None:
    account, box = await _inbox(store)
    ghost = BlobRef("0" * 64, 10)
    with pytest.raises(NotFound):
        await store.append(box, ghost, Parsed(b"m", "", ""))
    with pytest.raises(NotFound):
        await store.enqueue("alice@example.test", [QueueRecipient("b@remote.test")], ghost)
    with pytest.raises(NotFound):
        await store.deliver([box], ghost, Parsed(b"m", "", ""))
    assert (await store.mailbox_status(box)).messages == 0
    assert await store.list_queue() == []
    after = await store.get_account_by_id(account.id)
    assert after is not None and after.used_messages == 0


async def test_garbage_collection_spares_referenced_and_young_rows(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, box = await _inbox(store)
    kept = await store.put_blob(message(9, 1000))
    dropped = await store.put_blob(message(10, 1000))
    await store.append(box, kept, parsed("kept"))
    gone = await store.append(box, dropped, parsed("dropped"))
    await store.expunge(box, [gone.uid])
    await store.collect_garbage()
    assert _rows(store, dropped.id) == 1  # young: its BlobRef may still be appended
    monkeypatch.setattr(blobs, "GC_GRACE_SECONDS", -1.0)
    assert await store.collect_garbage() >= 1
    assert _rows(store, dropped.id) == 0 and _rows(store, kept.id) == 1
    assert await store.read_blob(kept.id) == message(9, 1000)
    with pytest.raises(NotFound):
        await store.append(box, dropped, parsed("after collection"))
