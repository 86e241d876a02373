"""Garbage collection never removes a body that a committed or committing
transaction references (issue 10, item 1), on both backends.

The exact sequence of the report: a body is stored, expunged, grows old, is
put again and collected; appending the reference `put_blob` just returned must
work. Then a randomised run: appends of a few repeated bodies, expunges and
collections with no grace period at all, interleaved on the event loop and the
store's threads; afterwards every stored message reads back with the right
SHA-256."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from postbus.store import NotFound, blobs
from postbus.store.contract import Store
from postbus.store.model import BlobRef, Outbound, QueueRecipient

from .conftest import message, parsed

BIG = blobs.INLINE_LIMIT + 1000  # a body kept as a file by the embedded store
OLD = blobs.GC_GRACE_SECONDS + 600  # seconds: past the grace period


async def _inbox(store: Store) -> int:
    await store.add_domain("example.test")
    account = await store.add_account("gc@example.test", "h", quota_bytes=0)
    box = await store.get_mailbox(account.id, "INBOX")
    assert box is not None
    return box.id


async def _age(store: Store, blob_id: str, seconds: float) -> None:
    """Makes the stored body look `seconds` older to garbage collection."""
    pool: Any = getattr(store, "pool", None)
    if pool is not None:  # PostgreSQL: the row's `created`
        await pool.execute("UPDATE blobs SET created = created - $1 WHERE id = $2", seconds, blob_id)
        return
    path = store.blobs.files.path(blob_id)  # type: ignore[attr-defined]
    then = path.stat().st_mtime - seconds
    os.utime(path, (then, then))


async def _check_every_body(store: Store, box: int) -> int:
    entries = await store.list_messages(box)
    infos = await store.fetch_info(box, [e.uid for e in entries])
    for info in infos:
        body = await store.read_blob(info.blob_id)
        assert hashlib.sha256(body).hexdigest() == info.blob_id, f"uid {info.uid}"
    return len(infos)


async def test_a_body_put_again_survives_collection(store: Store) -> None:
    box = await _inbox(store)
    raw = message(1, BIG)
    first = await store.put_blob(raw)
    gone = await store.append(box, first, parsed("first"))
    await store.expunge(box, [gone.uid])
    await _age(store, first.id, OLD)
    again = await store.put_blob(raw)  # reuses the stored body, so renews its age
    assert again == first
    await store.collect_garbage()
    appended = await store.append(box, again, parsed("again"))
    assert await store.read_blob(again.id) == raw
    assert [e.uid for e in await store.list_messages(box)] == [appended.uid]


async def test_a_body_collected_before_its_append_is_refused_not_dangling(store: Store) -> None:
    box = await _inbox(store)
    blob = await store.put_blob(message(2, BIG))
    assert await store.collect_garbage(grace_seconds=0) == 1  # put but never referenced
    with pytest.raises(NotFound):
        await store.append(box, blob, parsed("late"))
    with pytest.raises(NotFound):
        await store.deliver([box], blob, parsed("late"))
    with pytest.raises(NotFound):  # the one-transaction delivery, local copy and queue item
        await store.deliver_message([box], blob, parsed("late"),
                                    queue=Outbound("a@example.org", (QueueRecipient("b@example.net"),)))
    assert await _check_every_body(store, box) == 0
    assert await store.list_queue() == []


# The randomised run: so many tasks, each doing so many rounds of put + append.
WRITERS = 6
ROUNDS = 40
BODIES = 3  # distinct bodies, so the same ones keep coming back


async def _check(store: Store, box: int, uid: int) -> None:
    [info] = await store.fetch_info(box, [uid])
    try:
        body = await store.read_blob(info.blob_id)
    except FileNotFoundError:
        raise AssertionError(f"uid {uid} references a collected body") from None
    assert hashlib.sha256(body).hexdigest() == info.blob_id, f"uid {uid}"


async def test_collections_interleaved_with_appends_of_repeated_bodies(store: Store) -> None:
    box = await _inbox(store)
    rng = random.Random(20261203)
    bodies = [message(n, BIG + n * 5000) for n in range(BODIES)]
    kept: list[int] = []
    appended = refused = collections = 0
    collected = asyncio.Condition()
    stop = asyncio.Event()

    async def collector() -> None:
        nonlocal collections
        while not stop.is_set():
            await store.collect_garbage(grace_seconds=0)
            async with collected:
                collections += 1
                collected.notify_all()
            await asyncio.sleep(0)

    async def two_more_collections() -> None:
        async with collected:
            target = collections + 2
            await collected.wait_for(lambda: collections >= target)

    async def writer(w: int) -> None:
        nonlocal appended, refused
        for n in range(ROUNDS):
            blob: BlobRef = await store.put_blob(rng.choice(bodies))
            if rng.random() < 0.5:
                await asyncio.sleep(0)  # let a collection start in between
            try:
                uid = (await store.append(box, blob, parsed(f"w{w}"))).uid
            except NotFound:
                refused += 1  # collected between put and append: there is no grace period
                continue
            appended += 1
            await two_more_collections()  # any that overlapped the commit has finished
            await _check(store, box, uid)
            if n == ROUNDS - 1:
                kept.append(uid)
            else:  # the body is unreferenced again, as often as possible
                await store.expunge(box, [uid])

    started = time.monotonic()
    sweeping = asyncio.create_task(collector())
    try:
        await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    finally:
        stop.set()
        await sweeping
    assert appended > WRITERS * ROUNDS // 4, (
        f"only {appended} appends of {WRITERS * ROUNDS} went through "
        f"({refused} refused) in {time.monotonic() - started:.1f}s"
    )
    await store.collect_garbage(grace_seconds=0)
    assert await _check_every_body(store, box) == len(kept)


# -- the embedded store's files ------------------------------------------------------


def test_a_file_renewed_while_it_is_being_collected_stays(tmp_path: Path) -> None:
    files = blobs.FileBlobStore(tmp_path / "blobs")
    files.prepare()
    data = message(3, BIG)
    digest = hashlib.sha256(data).hexdigest()
    files.commit_file(None, data, digest)
    path = files.path(digest)
    os.utime(path, (1.0, 1.0))

    def renewed_meanwhile(name: str) -> bool:
        files.commit_file(None, data, name)  # a writer puts the same body again
        return False  # as the collector's check saw it just before

    assert files.remove_unreferenced([digest], time.time(), renewed_meanwhile) == 0
    assert path.read_bytes() == data
    assert not list(files.tmp.iterdir())
    os.utime(path, (1.0, 1.0))
    assert files.remove_unreferenced([digest], time.time(), lambda name: False) == 1
    assert not path.exists() and not list(files.tmp.iterdir())


def test_new_body_directories_are_fsynced_up_to_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "blobs"
    files = blobs.FileBlobStore(root)
    files.prepare()
    synced: list[Path] = []
    monkeypatch.setattr(blobs, "_fsync_dir", synced.append)
    data = message(4, BIG)
    digest = hashlib.sha256(data).hexdigest()
    files.commit_file(None, data, digest)
    top, leaf = root / digest[:2], root / digest[:2] / digest[2:4]
    # each new level's entry in its parent, then the body's entry in its directory
    assert synced == [root, top, leaf]
    synced.clear()
    other = next(d for d in (message(n, BIG) for n in range(5, 500))
                 if hashlib.sha256(d).hexdigest()[:2] == digest[:2])
    files.commit_file(None, other, hashlib.sha256(other).hexdigest())
    new_leaf = root / digest[:2] / hashlib.sha256(other).hexdigest()[2:4]
    assert synced == ([top, new_leaf] if new_leaf != leaf else [leaf])


async def test_the_bodies_of_a_removed_account_go_at_once_and_nothing_else(store: Store) -> None:
    box = await _inbox(store)
    account = await store.get_account("gc@example.test")
    assert account is not None
    small, big, shared = message(10, 300), message(11, BIG), message(12, BIG + 1)
    refs = [await store.put_blob(raw) for raw in (small, big, shared)]
    for ref in refs:
        await store.append(box, ref, parsed("mine"))
    other = await store.add_account("keep@example.test", "h", quota_bytes=0)
    other_box = await store.get_mailbox(other.id, "INBOX")
    assert other_box is not None
    await store.append(other_box.id, refs[2], parsed("shared"))  # the same body, still used
    in_flight = await store.put_blob(message(13, BIG))  # fresh, not referenced yet
    bodies = await store.account_bodies(account.id)
    assert sorted(bodies) == sorted(r.id for r in refs)
    started = time.time()
    await store.remove_account("gc@example.test")
    # Fresh bodies, yet gone at once: the grace period runs from the removal.
    assert await store.collect_garbage(grace_seconds=time.time() - started, bodies=bodies) == 2
    for ref in refs[:2]:
        with pytest.raises((NotFound, FileNotFoundError)):
            await store.read_blob(ref.id)
    assert await store.read_blob(refs[2].id) == shared  # another account's message uses it
    await store.append(other_box.id, in_flight, parsed("late"))  # not a candidate: still valid
    assert await _check_every_body(store, other_box.id) == 2
