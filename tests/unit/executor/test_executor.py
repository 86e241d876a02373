"""postbus.executor: named pools with bounded queues, Overloaded when full, reported once per interval."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from postbus import executor as executor_mod
from postbus.executor import CPU, IO, OVERLOAD_LOG_INTERVAL, Executor, Overloaded, PoolSpec

SMALL = {CPU: PoolSpec(workers=1, max_waiting=2), IO: PoolSpec(workers=2, max_waiting=0)}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _fill(executor: Executor, pool: str, gate: threading.Event, n: int) -> list[asyncio.Task[bool]]:
    """n jobs that block until `gate` is set, each submitted (counted) before this returns."""
    tasks = [asyncio.ensure_future(executor.run(pool, gate.wait)) for _ in range(n)]
    await asyncio.sleep(0)  # each task runs up to its first await: the submission
    assert executor.in_flight(pool) == n
    return tasks


async def test_results_exceptions_and_threads_pass_through() -> None:
    executor = Executor(SMALL)
    try:
        assert await executor.run(CPU, divmod, 17, 5) == (3, 2)
        assert await executor.run(IO, sorted, [3, 1, 2], reverse=True) == [3, 2, 1]
        with pytest.raises(ZeroDivisionError):
            await executor.run(CPU, divmod, 1, 0)
        name = await executor.run(IO, lambda: threading.current_thread().name)
        assert name.startswith("postbus-io")
        assert executor.in_flight(CPU) == executor.in_flight(IO) == 0
        assert executor.overloaded == {CPU: 0, IO: 0}
    finally:
        executor.shutdown()


async def test_full_queue_raises_overloaded_counts_and_logs_once_per_interval(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    executor = Executor(SMALL, clock=clock)
    gate = threading.Event()
    caplog.set_level(logging.WARNING, logger="postbus.executor")
    try:
        running = await _fill(executor, CPU, gate, 3)  # one running, two waiting: the limit
        for _ in range(3):
            with pytest.raises(Overloaded) as info:
                await executor.run(CPU, divmod, 1, 1)
            assert info.value.pool == CPU
        assert executor.overloaded == {CPU: 3, IO: 0}
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "pool cpu is full" in warnings[0].getMessage()

        clock.now += OVERLOAD_LOG_INTERVAL
        with pytest.raises(Overloaded):
            await executor.run(CPU, divmod, 1, 1)
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2
        assert executor.overloaded[CPU] == 4

        # the other pool is not affected by a full cpu pool
        assert await executor.run(IO, divmod, 9, 2) == (4, 1)

        gate.set()
        assert await asyncio.gather(*running) == [True, True, True]
        assert executor.in_flight(CPU) == 0
        assert await executor.run(CPU, divmod, 7, 7) == (1, 0)  # room again
    finally:
        gate.set()
        executor.shutdown()


async def test_zero_waiting_refuses_as_soon_as_workers_are_busy() -> None:
    executor = Executor(SMALL)
    gate = threading.Event()
    try:
        running = await _fill(executor, IO, gate, 2)
        with pytest.raises(Overloaded):
            await executor.run(IO, divmod, 1, 1)
        gate.set()
        await asyncio.gather(*running)
    finally:
        gate.set()
        executor.shutdown()


async def test_a_cancelled_waiting_job_frees_its_place_and_never_runs() -> None:
    executor = Executor(SMALL)
    gate = threading.Event()
    ran: list[str] = []
    try:
        running = await _fill(executor, CPU, gate, 1)
        waiting = asyncio.ensure_future(executor.run(CPU, ran.append, "waiting job"))
        await asyncio.sleep(0)
        assert executor.in_flight(CPU) == 2
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert executor.in_flight(CPU) == 1
        gate.set()
        await asyncio.gather(*running)
        assert executor.in_flight(CPU) == 0
        assert ran == []
    finally:
        gate.set()
        executor.shutdown()


async def test_shutdown_waits_for_running_jobs_then_refuses_work() -> None:
    executor = Executor(SMALL)
    started = threading.Event()
    finished: list[bool] = []

    def job() -> None:
        started.set()
        threading.Event().wait(0.05)
        finished.append(True)

    task = asyncio.ensure_future(executor.run(CPU, job))
    await asyncio.sleep(0)
    assert await asyncio.to_thread(started.wait, 5)
    executor.shutdown()
    assert finished == [True]
    await task
    with pytest.raises(RuntimeError, match="shut down"):
        await executor.run(CPU, divmod, 1, 1)


async def test_module_run_uses_the_executor_installed_for_this_loop() -> None:
    mine = Executor(SMALL)
    executor_mod.install(mine)
    try:
        assert executor_mod.current() is mine
        name = await executor_mod.run(IO, lambda: threading.current_thread().name)
        assert name.startswith("postbus-io")
    finally:
        executor_mod.uninstall(mine)
        mine.shutdown()
    fallback = executor_mod.current()
    assert fallback is not mine
    assert await executor_mod.run(CPU, divmod, 4, 2) == (2, 0)


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError):
        Executor({CPU: PoolSpec(workers=0, max_waiting=1)})
