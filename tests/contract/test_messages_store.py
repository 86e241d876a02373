"""Folders and messages through the contract: UIDs, flags, mod-sequences, expunge,
copy and move, quota over every folder, change events, search and blobs."""

from __future__ import annotations

import asyncio
import time

import pytest

from postbus.store import AlreadyExists, NotFound, OverQuota
from postbus.store.contract import Store
from postbus.store.model import Account, Appended

from .conftest import add, message, parsed, remove, replace


async def _account(store: Store, quota: int = 0) -> Account:
    await store.add_domain("example.test")
    return await store.add_account("alice@example.test", "h", quota_bytes=quota)


async def _box(store: Store, account: Account, name: str = "INBOX") -> int:
    box = await store.get_mailbox(account.id, name)
    assert box is not None
    return box.id


async def _append(store: Store, box: int, n: int = 0, size: int = 0, **kw: object) -> Appended:
    blob = await store.put_blob(message(n, size))
    return await store.append(box, blob, parsed(f"message {n}"), **kw)  # type: ignore[arg-type]


async def test_append_assigns_growing_uids_and_modseqs(store: Store) -> None:
    acc = await _account(store)
    box = await _box(store, acc)
    before = await store.get_mailbox_by_id(box)
    assert before is not None and before.uid_next == 1
    results = [await _append(store, box, n, flags=["\\Seen"], internal_date=1000.0 + n) for n in range(3)]
    assert [r.uid for r in results] == [1, 2, 3]
    assert results[0].modseq < results[1].modseq < results[2].modseq
    assert all(r.uid_validity == before.uid_validity for r in results)
    after = await store.get_mailbox_by_id(box)
    assert after is not None and after.uid_next == 4 and after.highest_modseq == results[2].modseq
    entries = await store.list_messages(box)
    assert [(e.uid, e.flags) for e in entries] == [(u, frozenset({"\\Seen"})) for u in (1, 2, 3)]
    infos = await store.fetch_info(box, [3, 1, 99])
    assert [i.uid for i in infos] == [1, 3]
    assert infos[0].internal_date == 1000.0 and infos[0].meta == b"meta:message 0"
    assert await store.read_blob(infos[1].blob_id) == message(2)
    assert await store.read_blob(infos[1].blob_id, 0, 10) == message(2)[:10]


async def test_uid_validity_differs_between_folders(store: Store) -> None:
    acc = await _account(store)
    validities = [b.uid_validity for b in await store.list_mailboxes(acc.id)]
    assert len(set(validities)) == len(validities)


async def test_concurrent_appends_never_share_a_uid(store: Store) -> None:
    acc = await _account(store)
    box = await _box(store, acc)
    results = await asyncio.gather(*(_append(store, box, n) for n in range(60)))
    uids = sorted(r.uid for r in results)
    assert uids == list(range(1, 61))
    modseqs = [r.modseq for r in results]
    assert len(set(modseqs)) == len(modseqs)


async def test_flags_set_add_remove_and_unchangedsince(store: Store) -> None:
    acc = await _account(store)
    box = await _box(store, acc)
    a1 = await _append(store, box, 1)
    await _append(store, box, 2)
    changed, failed = await store.store_flags(box, [1, 2], add("\\Seen", "$Work"))
    assert failed == [] and {e.uid for e in changed} == {1, 2}
    assert all(e.flags == {"\\Seen", "$Work"} for e in changed)
    modseq = changed[0].modseq
    assert modseq > a1.modseq
    changed, _ = await store.store_flags(box, [1], remove("$Work"))
    assert changed[0].flags == {"\\Seen"}
    changed, _ = await store.store_flags(box, [1], add("\\Seen"))
    assert changed == []  # nothing changed, no new mod-sequence
    changed, _ = await store.store_flags(box, [2], replace("\\Flagged"))
    assert changed[0].flags == {"\\Flagged"}
    # RFC 7162 §3.1.3: message 2 changed after `modseq`, so it fails UNCHANGEDSINCE.
    changed, failed = await store.store_flags(box, [1, 2], add("\\Answered"), unchanged_since=modseq + 1)
    assert failed == [2] and [e.uid for e in changed] == [1]


async def test_expunge_records_changes(store: Store) -> None:
    acc = await _account(store)
    box = await _box(store, acc)
    for n in range(4):
        await _append(store, box, n)
    mark = (await store.get_mailbox_by_id(box)).highest_modseq  # type: ignore[union-attr]
    assert await store.expunge(box, [2, 3, 77]) == [2, 3]
    assert await store.expunge(box, [2]) == []
    await store.store_flags(box, [4], add("\\Seen"))
    changes = await store.changes_since(box, mark)
    assert changes.expunged == (2, 3)
    assert [e.uid for e in changes.changed] == [4]
    assert [e.uid for e in await store.list_messages(box)] == [1, 4]
    # UIDs are never reused after an expunge
    assert (await _append(store, box, 9)).uid == 5


async def test_quota_counts_every_folder_including_trash(store: Store) -> None:
    acc = await _account(store, quota=10_000)
    inbox = await _box(store, acc)
    trash = await _box(store, acc, "Trash")
    await _append(store, inbox, 1, size=4000)
    await _append(store, trash, 2, size=4000)
    a = await store.get_account_by_id(acc.id)
    assert a is not None and (a.used_bytes, a.used_messages) == (8000, 2)
    with pytest.raises(OverQuota):
        await _append(store, inbox, 3, size=4000)
    await store.expunge(trash, [1])
    a = await store.get_account_by_id(acc.id)
    assert a is not None and (a.used_bytes, a.used_messages) == (4000, 1)
    await _append(store, inbox, 3, size=4000)
    # a copy counts, a move within the account does not
    with pytest.raises(OverQuota):
        await store.copy(inbox, [1, 2], trash)
    mapping = await store.copy(inbox, [1, 2], trash, move=True)
    assert mapping == [(1, 2), (2, 3)]
    a = await store.get_account_by_id(acc.id)
    assert a is not None and (a.used_bytes, a.used_messages) == (8000, 2)
    # deleting a folder frees its messages' quota
    await store.delete_mailbox(acc.id, "Trash")
    a = await store.get_account_by_id(acc.id)
    assert a is not None and (a.used_bytes, a.used_messages) == (0, 0)


async def test_copy_keeps_flags_and_dates(store: Store) -> None:
    acc = await _account(store)
    inbox = await _box(store, acc)
    archive = await _box(store, acc, "Archive")
    await _append(store, inbox, 1, flags=["\\Flagged"], internal_date=5000.0)
    assert await store.copy(inbox, [1], archive) == [(1, 1)]
    info = (await store.fetch_info(archive, [1]))[0]
    assert info.flags == {"\\Flagged"} and info.internal_date == 5000.0
    assert [e.uid for e in await store.list_messages(inbox)] == [1]


async def test_save_date_is_when_the_message_entered_the_folder(store: Store) -> None:
    # RFC 8514 §3: APPEND, delivery, COPY and MOVE set the save date; INTERNALDATE
    # stays the client's (or the original's).  1 s of slack for the two clocks' rounding.
    acc = await _account(store)
    inbox = await _box(store, acc)
    archive = await _box(store, acc, "Archive")
    start = time.time() - 1
    await _append(store, inbox, 1, internal_date=5000.0)
    blob = await store.put_blob(message(2))
    await store.deliver([inbox], blob, parsed("message 2"), internal_date=6000.0)
    await store.copy(inbox, [1], archive)
    await store.copy(inbox, [2], archive, move=True)
    infos = [*await store.fetch_info(inbox, [1]), *await store.fetch_info(archive, [1, 2])]
    assert [i.internal_date for i in infos] == [5000.0, 5000.0, 6000.0]
    saved = [i.saved for i in infos]
    assert all(s is not None and s >= start for s in saved), saved
    assert saved[1] is not None and saved[0] is not None and saved[1] >= saved[0]


async def test_deliver_to_several_folders_with_per_folder_results(store: Store) -> None:
    await store.add_domain("example.test")
    a = await store.add_account("a@example.test", "h", quota_bytes=0)
    b = await store.add_account("b@example.test", "h", quota_bytes=10)
    boxes = [await _box(store, a), await _box(store, b)]
    blob = await store.put_blob(message(1, 100))
    results = await store.deliver(boxes, blob, parsed())
    assert isinstance(results[0], Appended) and results[0].uid == 1
    assert isinstance(results[1], OverQuota)


async def test_mailbox_create_rename_delete(store: Store) -> None:
    acc = await _account(store)
    box = await store.create_mailbox(acc.id, "Projects/2026")
    with pytest.raises(AlreadyExists):
        await store.create_mailbox(acc.id, "Projects/2026")
    await store.create_mailbox(acc.id, "Projects")
    await store.rename_mailbox(acc.id, "Projects", "Work")
    names = {b.name for b in await store.list_mailboxes(acc.id)}
    assert {"Work", "Work/2026"} <= names and "Projects/2026" not in names
    renamed = await store.get_mailbox(acc.id, "Work/2026")
    assert renamed is not None and renamed.id == box.id and renamed.uid_validity != box.uid_validity
    await store.delete_mailbox(acc.id, "Work")
    assert await store.get_mailbox(acc.id, "Work") is None
    assert await store.get_mailbox(acc.id, "Work/2026") is not None
    with pytest.raises(NotFound):
        await store.delete_mailbox(acc.id, "Work")


async def test_mailbox_status(store: Store) -> None:
    acc = await _account(store)
    box = await _box(store, acc)
    await _append(store, box, 1, size=100, flags=["\\Seen"])
    await _append(store, box, 2, size=200, flags=["\\Deleted"])
    status = await store.mailbox_status(box)
    assert (status.messages, status.unseen, status.size, status.deleted, status.deleted_size) == (
        2, 1, 300, 1, 200
    )


async def test_change_events_wake_subscribers(store: Store) -> None:
    acc = await _account(store)
    box = await _box(store, acc)
    with store.changes.subscribe(acc.id) as sub:
        waiter = asyncio.create_task(sub.wait(5))
        await asyncio.sleep(0)
        appended = await _append(store, box, 1)
        assert await waiter
        (change,) = sub.pending()
        assert (change.mailbox_id, change.modseq) == (box, appended.modseq)
        assert not await sub.wait(0.01)


async def test_search_index_narrows_candidates(store: Store) -> None:
    acc = await _account(store)
    box = await _box(store, acc)
    for n, text in enumerate(["Quarterly Report", "lunch plans", "the REPORT again"]):
        blob = await store.put_blob(message(n))
        await store.append(box, blob, parsed(text))
    assert await store.search_text(box, "body", "report") == {1, 3}
    assert await store.search_text(box, "header", "LUNCH") == {2}
    assert await store.search_text(box, "text", "zzz-not-there") == set()
    assert await store.search_text(box, "body", "re") is None


async def test_blob_writer_streams_and_dedups(store: Store) -> None:
    w = store.blob_writer()
    data = b"0123456789" * 100_000  # past the spill threshold
    for i in range(0, len(data), 65536):
        w.write(data[i:i + 65536])
    ref = await w.finish()
    assert ref.size == len(data)
    assert await store.read_blob(ref.id) == data
    again = await store.put_blob(data)
    assert again == ref
    w2 = store.blob_writer()
    w2.write(b"discarded")
    w2.abort()



async def test_expunged_messages_leave_search_and_garbage_is_collected(store: Store) -> None:
    acc = await _account(store)
    box = await _box(store, acc)
    blob = await store.put_blob(message(1))
    await store.append(box, blob, parsed("needle in a haystack"))
    await store.append(box, blob, parsed("needle in a haystack"))
    assert await store.search_text(box, "body", "needle") == {1, 2}
    await store.expunge(box, [1, 2])
    assert await store.search_text(box, "body", "needle") == set()
    await store.collect_garbage()
    # the same body can come back after its records were collected
    again = await store.append(box, blob, parsed("needle again"))
    assert await store.search_text(box, "body", "needle") == {again.uid}
    assert await store.read_blob(blob.id) == message(1)
