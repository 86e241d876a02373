"""The cpu pool (and so the password gate) is sized per worker process: N workers
on C cores run C // N cpu threads each (at least one), not C each."""

from __future__ import annotations

from pathlib import Path

from postbus import config
from postbus.app import App
from postbus.executor import (
    CPU,
    CPU_WAITING_PER_THREAD,
    CPU_WORKERS,
    DEFAULT_POOLS,
    IO,
    Executor,
    PoolSpec,
    cores,
    cpu_threads,
    pools,
)
from postbus.security.hashing import HashGate


def test_each_worker_gets_its_share_of_the_cores() -> None:
    assert cpu_threads(1, available=2) == 2
    assert cpu_threads(2, available=2) == 1
    assert cpu_threads(2, available=8) == 4
    assert cpu_threads(3, available=8) == 2
    assert cpu_threads(4, available=2) == 1  # more workers than cores: still one thread
    assert cpu_threads(0, available=2) == 2
    assert cpu_threads() == CPU_WORKERS == cores()


def test_the_pools_of_a_worker_scale_the_cpu_queue_with_its_threads() -> None:
    assert pools(2, available=2)[CPU] == PoolSpec(1, CPU_WAITING_PER_THREAD)
    assert pools(1, available=4)[CPU] == PoolSpec(4, 4 * CPU_WAITING_PER_THREAD)
    assert pools(2, available=2)[IO] == DEFAULT_POOLS[IO]  # only the cpu pool is per core
    assert pools() == dict(DEFAULT_POOLS)


def test_the_password_gate_follows_the_executor() -> None:
    executor = Executor(pools(2, available=2))
    try:
        gate = HashGate.sized_for(executor)
        # one slot: none kept for known sources (priority alone orders them first)
        assert (gate.slots, gate.ordinary_slots, gate.max_waiting) == (
            1, 1, CPU_WAITING_PER_THREAD)
    finally:
        executor.shutdown()
    executor = Executor(pools(1, available=4))
    try:
        gate = HashGate.sized_for(executor)
        assert (gate.slots, gate.ordinary_slots) == (4, 3)
    finally:
        executor.shutdown()


def test_an_app_of_several_worker_processes_runs_its_share(tmp_path: Path) -> None:
    settings = config.from_dict({"data_dir": str(tmp_path)})
    whole = App(settings)
    worker = App(settings, processes=cores() + 1)  # more workers than cores
    try:
        assert whole.executor.spec(CPU).workers == cores()
        assert whole.accounts.verifier.gate.slots == cores()
        assert worker.executor.spec(CPU).workers == 1
        assert worker.accounts.verifier.gate.slots == 1
    finally:
        whole.executor.shutdown()
        worker.executor.shutdown()
