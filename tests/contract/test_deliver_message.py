"""`deliver_message` through the contract: the local copies and the queue item of
one message commit together or not at all; a vanished folder is reported, not
fatal; a copy over quota refuses the whole message; a message stored nowhere
writes nothing."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from postbus.store import NotFound, OverQuota
from postbus.store.contract import Store
from postbus.store.model import Account, Appended, Delivered, Outbound, QueueRecipient

from .conftest import message, parsed

QUEUE = Outbound("me@example.test", (QueueRecipient("carol@remote.test", notify="FAILURE",
                                                     orcpt="rfc822;team@example.test"),),
                 envid="ENV1", ret="HDRS")


async def _accounts(store: Store, *quotas: int) -> list[Account]:
    await store.add_domain("example.test")
    return [await store.add_account(f"u{n}@example.test", "h", quota_bytes=q)
            for n, q in enumerate(quotas)]


async def _inbox(store: Store, account: Account) -> int:
    box = await store.get_mailbox(account.id, "INBOX")
    assert box is not None
    return box.id


async def _counts(store: Store, accounts: list[Account]) -> list[tuple[int, int]]:
    found = [await store.get_account_by_id(a.id) for a in accounts]
    return [(a.used_messages, a.used_bytes) if a else (-1, -1) for a in found]


def _sql(store: Store, module: str) -> Any:
    """The SQL module `module` of `store`'s backend, where a failure is injected."""
    return importlib.import_module(type(store).__module__.rsplit(".", 1)[0] + "." + module)


async def test_copies_and_queue_item_in_one_call(store: Store) -> None:
    accounts = await _accounts(store, 0, 0)
    boxes = [await _inbox(store, a) for a in accounts]
    raw = message(1, 100)
    blob = await store.put_blob(raw)
    with store.changes.subscribe(accounts[0].id) as sub:
        delivered = await store.deliver_message(boxes, blob, parsed(), queue=QUEUE,
                                                internal_date=1234.0)
        assert await sub.wait(5)
        assert [c.mailbox_id for c in sub.pending()] == [boxes[0]]
    assert delivered.stored and all(isinstance(r, Appended) for r in delivered.local)
    assert [r.mailbox_id for r in delivered.local if isinstance(r, Appended)] == boxes
    for box in boxes:
        (info,) = await store.fetch_info(box, [1])
        assert info.internal_date == 1234.0 and await store.read_blob(info.blob_id) == raw
    assert delivered.queue_id is not None
    item = await store.get_queue_item(delivered.queue_id)
    assert item is not None and item.blob_id == blob.id and item.size == len(raw)
    assert (item.sender, item.recipients, item.envid, item.ret) == (
        QUEUE.sender, QUEUE.recipients, "ENV1", "HDRS")
    # due now: the queue runner claims it at once
    assert [i.id for i in await store.claim_queue("n", item.next_attempt, 60, 10)] == [item.id]
    assert await _counts(store, accounts) == [(1, len(raw)), (1, len(raw))]


async def test_local_only_and_queue_only(store: Store) -> None:
    (account,) = await _accounts(store, 0)
    box = await _inbox(store, account)
    blob = await store.put_blob(message(2))
    local = await store.deliver_message([box], blob, parsed())
    assert local.stored and local.queue_id is None and isinstance(local.local[0], Appended)
    remote = await store.deliver_message([], blob, parsed(), queue=QUEUE)
    assert remote.stored and remote.local == () and remote.queue_id is not None
    assert [i.id for i in await store.list_queue()] == [remote.queue_id]


async def test_a_failing_queue_write_stores_no_local_copy(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = await _accounts(store, 0, 0)
    boxes = [await _inbox(store, a) for a in accounts]
    blob = await store.put_blob(message(3, 100))
    sql = _sql(store, "outbound")

    def failing(*args: Any) -> Any:
        raise RuntimeError("injected")

    monkeypatch.setattr(sql, "enqueue", failing)
    with pytest.raises(RuntimeError, match="injected"):
        await store.deliver_message(boxes, blob, parsed(), queue=QUEUE)
    for box in boxes:
        assert await store.list_messages(box) == []
        status = await store.mailbox_status(box)
        assert status.messages == 0 and status.mailbox.uid_next == 1
    assert await _counts(store, accounts) == [(0, 0), (0, 0)]
    assert await store.list_queue() == []
    # the same call again stores each copy once
    monkeypatch.undo()
    again = await store.deliver_message(boxes, blob, parsed(), queue=QUEUE)
    assert [r.uid for r in again.local if isinstance(r, Appended)] == [1, 1]
    assert len(await store.list_queue()) == 1


async def test_a_vanished_folder_is_reported_and_the_rest_stored(store: Store) -> None:
    accounts = await _accounts(store, 0, 0)
    boxes = [await _inbox(store, a) for a in accounts]
    await store.remove_account(accounts[0].address)
    blob = await store.put_blob(message(4))
    delivered = await store.deliver_message(boxes, blob, parsed(), queue=QUEUE)
    assert isinstance(delivered.local[0], NotFound) and isinstance(delivered.local[1], Appended)
    assert delivered.stored and delivered.queue_id is not None
    assert len(await store.list_messages(boxes[1])) == 1


async def test_every_folder_vanished_and_no_queue_item_stores_nothing(store: Store) -> None:
    accounts = await _accounts(store, 0, 0)
    boxes = [await _inbox(store, a) for a in accounts]
    for account in accounts:
        await store.remove_account(account.address)
    blob = await store.put_blob(message(5))
    delivered = await store.deliver_message(boxes, blob, parsed())
    assert not delivered.stored and delivered.queue_id is None
    assert [type(r) for r in delivered.local] == [NotFound, NotFound]
    assert await store.deliver_message([], blob, parsed()) == Delivered((), None)


async def test_over_quota_refuses_the_whole_message(store: Store) -> None:
    accounts = await _accounts(store, 0, 50)
    boxes = [await _inbox(store, a) for a in accounts]
    blob = await store.put_blob(message(6, 100))
    with pytest.raises(OverQuota):
        await store.deliver_message(boxes, blob, parsed(), queue=QUEUE)
    assert [await store.list_messages(b) for b in boxes] == [[], []]
    assert await _counts(store, accounts) == [(0, 0), (0, 0)]
    assert await store.list_queue() == []
    # without the check (a delivery report) it is stored past the quota
    delivered = await store.deliver_message(boxes, blob, parsed(), check_quota=False)
    assert all(isinstance(r, Appended) for r in delivered.local)
    assert await _counts(store, accounts) == [(1, blob.size), (1, blob.size)]
