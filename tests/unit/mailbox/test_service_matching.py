"""LIST matching in the service yields to the event loop between batches of names."""

from __future__ import annotations

import asyncio
import contextlib

from postbus.mailbox.limits import MATCH_BATCH
from postbus.mailbox.service import _match


async def test_matching_yields_between_batches() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    names = [f"box{i}/sub" for i in range(MATCH_BATCH * 10)]
    before = ticks
    matched = await _match(names, ["%1%/%"])
    after = ticks
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert matched == {n for n in names if n.split("/")[0].count("1")}
    assert after - before >= 9  # another task ran between every two batches


async def test_trivial_patterns_do_no_per_name_work() -> None:
    names = [f"box{i}" for i in range(MATCH_BATCH * 10)]
    assert await _match(names, ["*"]) == set(names)
    assert await _match(names, ["*a" * 1000]) == set()
    assert await _match(names, ["", "box1"]) == {"box1"}
