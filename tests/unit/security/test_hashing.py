"""security.hashing.HashGate: slots, per-source lines, priority, the bound, cancellation."""

from __future__ import annotations

import asyncio

import pytest

from postbus.executor import Overloaded
from postbus.security.hashing import HashGate


async def _hold(gate: HashGate, order: list[str], name: str, release: asyncio.Event,
                source: str | None = None, priority: bool = False) -> None:
    async with gate.turn(source, priority=priority):
        order.append(name)
        await release.wait()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_known_sources_go_before_every_waiting_line() -> None:
    gate = HashGate(slots=1, max_waiting=10)
    order: list[str] = []
    release = asyncio.Event()
    tasks = [asyncio.create_task(_hold(gate, order, f"guess{n}", release, f"10.0.0.{n}"))
             for n in range(3)]
    await _settle()
    tasks.append(asyncio.create_task(_hold(gate, order, "owner", release, "10.9.9.9",
                                           priority=True)))
    await _settle()
    assert order == ["guess0"]
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["guess0", "owner", "guess1", "guess2"]
    assert gate.running == 0 and gate.waiting == 0


async def test_one_slot_is_kept_for_known_sources() -> None:
    gate = HashGate(slots=2, max_waiting=10)
    order: list[str] = []
    release = asyncio.Event()
    tasks = [asyncio.create_task(_hold(gate, order, f"guess{n}", release, f"10.0.0.{n}"))
             for n in range(3)]
    await _settle()
    assert order == ["guess0"]  # ordinary attempts use one of the two slots
    tasks.append(asyncio.create_task(_hold(gate, order, "owner", release, "10.9.9.9",
                                           priority=True)))
    await _settle()
    assert order == ["guess0", "owner"]  # admitted at once
    release.set()
    await asyncio.gather(*tasks)
    assert gate.running == 0 and gate.running_ordinary == 0


async def test_one_source_occupies_one_slot_at_a_time() -> None:
    gate = HashGate(slots=3, max_waiting=10)
    order: list[str] = []
    release = asyncio.Event()
    tasks = [asyncio.create_task(_hold(gate, order, f"flood{n}", release, "10.0.0.1"))
             for n in range(5)]
    tasks.append(asyncio.create_task(_hold(gate, order, "other", release, "10.0.0.2")))
    await _settle()
    # the flood holds one slot; its other attempts wait in its own line, not in the queue
    assert order == ["flood0", "other"] and gate.waiting == 0
    release.set()
    await asyncio.gather(*tasks)
    assert sorted(order) == sorted(["other"] + [f"flood{n}" for n in range(5)])
    assert gate.running == 0 and not gate._lines


async def test_a_full_queue_refuses_at_once() -> None:
    gate = HashGate(slots=1, max_waiting=2)
    release = asyncio.Event()
    order: list[str] = []
    tasks = [asyncio.create_task(_hold(gate, order, str(n), release, f"10.0.0.{n}"))
             for n in range(3)]
    await _settle()
    with pytest.raises(Overloaded):
        async with gate.turn("10.0.0.99"):
            pass
    release.set()
    await asyncio.gather(*tasks)


async def test_cancelled_waiters_give_back_what_they_held() -> None:
    gate = HashGate(slots=1, max_waiting=5)
    release = asyncio.Event()
    order: list[str] = []
    first = asyncio.create_task(_hold(gate, order, "first", release, "a"))
    waiting = asyncio.create_task(_hold(gate, order, "cancelled", release, "b"))
    last = asyncio.create_task(_hold(gate, order, "last", release, "c"))
    await _settle()
    waiting.cancel()
    await _settle()
    release.set()
    await asyncio.gather(first, last)
    assert order == ["first", "last"]
    assert gate.running == 0 and gate.waiting == 0 and not gate._lines
