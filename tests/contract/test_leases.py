"""`Store.claim_lease` on both backends: one holder at a time, renewable by its
holder, free again once it expired (the ACME order is taken this way)."""

from __future__ import annotations

import asyncio

from postbus.store.contract import Store


async def test_one_holder_until_expiry(store: Store) -> None:
    assert await store.claim_lease("acme", "node-a", 1000.0, 60.0)
    assert not await store.claim_lease("acme", "node-b", 1030.0, 60.0)
    assert await store.claim_lease("acme", "node-a", 1050.0, 60.0)  # renewed by its holder
    assert not await store.claim_lease("acme", "node-b", 1100.0, 60.0)  # runs to 1110 now
    assert await store.claim_lease("acme", "node-b", 1110.0, 60.0)  # expired: taken over
    assert not await store.claim_lease("acme", "node-a", 1111.0, 60.0)
    assert await store.claim_lease("other", "node-a", 1111.0, 60.0)  # leases are independent
    assert (await store.get_setting("lease.acme") or "").startswith("node-b ")


async def test_concurrent_claims_have_one_winner(store: Store) -> None:
    results = await asyncio.gather(*(store.claim_lease("race", f"node-{i}", 5000.0, 30.0)
                                     for i in range(8)))
    assert results.count(True) == 1
