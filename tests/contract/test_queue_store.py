"""The outbound queue through the contract: claims are exclusive and expire."""

from __future__ import annotations

from postbus.store.contract import Store
from postbus.store.model import QueueRecipient


async def test_enqueue_claim_update(store: Store) -> None:
    blob = await store.put_blob(b"Subject: x\r\n\r\nhi\r\n")
    rcpts = [QueueRecipient("a@remote.test", notify="FAILURE"), QueueRecipient("b@remote.test")]
    item_id = await store.enqueue("me@example.test", rcpts, blob, envid="E1", ret="HDRS", next_attempt=100.0)
    assert await store.claim_queue("node1", now=50.0, lease=60, limit=10) == []
    (item,) = await store.claim_queue("node1", now=100.0, lease=60, limit=10)
    assert item.id == item_id and item.claimed_by == "node1" and item.attempts == 1
    assert item.recipients == tuple(rcpts) and (item.envid, item.ret) == ("E1", "HDRS")
    # a claimed item is not handed to another node until the lease expires
    assert await store.claim_queue("node2", now=120.0, lease=60, limit=10) == []
    (taken,) = await store.claim_queue("node2", now=161.0, lease=60, limit=10)
    assert taken.claimed_by == "node2" and taken.attempts == 2
    done = (QueueRecipient("a@remote.test", status="delivered", attempts=1, last_reply="250 ok"),
            QueueRecipient("b@remote.test", attempts=1, last_reply="451 later"))
    await store.update_queue(item_id, done, next_attempt=500.0, delay_notified=True)
    listed = await store.get_queue_item(item_id)
    assert listed is not None and listed.recipients == done and listed.delay_notified
    assert listed.claimed_by == "" and listed.next_attempt == 500.0
    assert await store.retry_queue(item_id, now=200.0) == 1
    assert [i.id for i in await store.claim_queue("node1", now=200.0, lease=60, limit=10)] == [item_id]
    await store.update_queue(item_id, done, next_attempt=None)
    assert await store.list_queue() == []


async def test_delete_queue_item(store: Store) -> None:
    blob = await store.put_blob(b"x")
    item_id = await store.enqueue("", [QueueRecipient("a@remote.test")], blob)
    assert [i.sender for i in await store.list_queue()] == [""]
    await store.delete_queue_item(item_id)
    assert await store.get_queue_item(item_id) is None


async def test_queue_stats(store: Store) -> None:
    assert await store.queue_stats() == (0, None)
    blob = await store.put_blob(b"x")
    first = await store.enqueue("", [QueueRecipient("a@remote.test")], blob)
    await store.enqueue("", [QueueRecipient("b@remote.test")], blob)
    count, oldest = await store.queue_stats()
    item = await store.get_queue_item(first)
    assert item is not None and count == 2 and oldest == item.created


async def test_release_queue_claims_of_given_holders(store: Store) -> None:
    blob = await store.put_blob(b"x")
    ids = {}
    for holder in ("mx1/w0", "mx1/w2", "mx1", "mx2"):
        ids[holder] = await store.enqueue("", [QueueRecipient(f"{holder.replace('/', '.')}@remote.test")],
                                          blob, next_attempt=100.0)
        (item,) = await store.claim_queue(holder, now=100.0, lease=600, limit=1)
        assert item.id == ids[holder]
    assert await store.release_queue_claims([]) == 0
    assert await store.release_queue_claims(["mx1/w2", "mx1", "mx1", "mx9"]) == 2
    claims = {i.id: (i.claimed_by, i.claimed_until) for i in await store.list_queue()}
    assert claims[ids["mx1/w2"]] == claims[ids["mx1"]] == ("", 0.0)
    assert claims[ids["mx1/w0"]] == ("mx1/w0", 700.0) and claims[ids["mx2"]] == ("mx2", 700.0)
    released = await store.get_queue_item(ids["mx1"])
    assert released is not None and released.next_attempt == 100.0 and released.attempts == 1
    # due again at once: another process claims them
    taken = await store.claim_queue("mx1/w1", now=101.0, lease=600, limit=10)
    assert sorted(i.id for i in taken) == sorted([ids["mx1/w2"], ids["mx1"]])
    assert await store.release_queue_claims(["mx1/w2", "mx1"]) == 0  # taken since: left alone
