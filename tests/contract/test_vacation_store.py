"""Vacation reply records through the contract: one claim per sender and
interval, atomic under concurrency, cleared on request and with the account."""

from __future__ import annotations

import asyncio

from postbus.store.contract import Store

WEEK = 7 * 86400.0


async def test_one_claim_per_sender_and_interval(store: Store) -> None:
    await store.add_domain("example.test")
    anna = await store.add_account("anna@example.test", "h", quota_bytes=0)
    bob = await store.add_account("bob@example.test", "h", quota_bytes=0)
    assert await store.claim_vacation_reply(anna.id, "x@remote.test", 1000.0, WEEK)
    assert not await store.claim_vacation_reply(anna.id, "x@remote.test", 1000.0 + 86400, WEEK)
    assert await store.claim_vacation_reply(anna.id, "y@remote.test", 1000.0 + 86400, WEEK)
    assert await store.claim_vacation_reply(bob.id, "x@remote.test", 1000.0 + 86400, WEEK)
    assert await store.claim_vacation_reply(anna.id, "x@remote.test", 1000.0 + WEEK, WEEK)
    assert not await store.claim_vacation_reply(anna.id, "x@remote.test", 1000.0 + WEEK + 1, WEEK)
    await store.clear_vacation_replies(anna.id)
    assert await store.claim_vacation_reply(anna.id, "x@remote.test", 1000.0 + WEEK + 2, WEEK)
    assert not await store.claim_vacation_reply(bob.id, "x@remote.test", 1000.0 + WEEK + 2, WEEK)


async def test_concurrent_claims_one_wins(store: Store) -> None:
    await store.add_domain("example.test")
    anna = await store.add_account("anna@example.test", "h", quota_bytes=0)
    results = await asyncio.gather(*(
        store.claim_vacation_reply(anna.id, "x@remote.test", 5000.0, WEEK) for _ in range(10)))
    assert sorted(results) == [False] * 9 + [True]


async def test_records_go_with_the_account(store: Store) -> None:
    await store.add_domain("example.test")
    anna = await store.add_account("anna@example.test", "h", quota_bytes=0)
    assert await store.claim_vacation_reply(anna.id, "x@remote.test", 1000.0, WEEK)
    await store.remove_account("anna@example.test")
    again = await store.add_account("anna@example.test", "h", quota_bytes=0)
    assert await store.claim_vacation_reply(again.id, "x@remote.test", 1001.0, WEEK)
