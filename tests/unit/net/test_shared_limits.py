"""Connection limits over several worker processes: counts in shared memory,
each worker writing its own slot, checks summing all of them."""

from __future__ import annotations

import os

from postbus.net.limits import ConnectionLimiter, Refused, SharedCounts


def _worker_limiter(counts: SharedCounts, worker: int, per_address: int, total: int) -> ConnectionLimiter:
    limiter = ConnectionLimiter(per_address, total, counts, "imaps")
    counts.worker = worker
    return limiter


def test_limits_hold_over_the_sum_of_the_workers() -> None:
    counts = SharedCounts(2, ["smtp", "imaps"])
    a = _worker_limiter(counts, 0, per_address=2, total=3)
    assert a.acquire("192.0.2.1") is None
    counts.worker = 1
    b = ConnectionLimiter(2, 3, counts, "imaps")
    assert b.acquire("192.0.2.1") is None
    assert b.acquire("192.0.2.1") is Refused.PER_ADDRESS  # one on each worker already
    assert b.acquire("192.0.2.2") is None
    assert b.acquire("192.0.2.3") is Refused.LISTENER_FULL
    b.release("192.0.2.2")
    assert b.acquire("192.0.2.3") is None
    other = ConnectionLimiter(2, 3, counts, "smtp")  # another listener counts apart
    assert other.acquire("192.0.2.1") is None


def test_a_dead_workers_counts_are_cleared_when_its_slot_restarts() -> None:
    counts = SharedCounts(2, ["imaps"])
    dead = _worker_limiter(counts, 1, per_address=1, total=0)
    assert dead.acquire("192.0.2.9") is None
    live = _worker_limiter(counts, 0, per_address=1, total=0)
    assert live.acquire("192.0.2.9") is Refused.PER_ADDRESS
    counts.reset(1)  # the supervisor, before it forks the next worker 1
    assert live.acquire("192.0.2.9") is None


def test_the_counts_are_shared_with_a_forked_child() -> None:
    counts = SharedCounts(2, ["imaps"])
    pid = os.fork()
    if pid == 0:
        counts.worker = 1
        ConnectionLimiter(5, 0, counts, "imaps").acquire("192.0.2.7")
        os._exit(0)
    os.waitpid(pid, 0)
    parent = _worker_limiter(counts, 0, per_address=1, total=0)
    assert parent.acquire("192.0.2.7") is Refused.PER_ADDRESS
