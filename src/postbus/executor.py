"""The one seam for blocking work (STYLE.md habit 7): named thread pools with bounded queues.

Work that would stall the event loop runs here instead: Argon2 hashing and
verifying, password policy checks, DKIM key generation, signing and verifying,
parsing a large message ("cpu"), blocking file reads and writes of bodies
("io"), and database reads whose cost grows with a folder ("read"). Each pool has a fixed number of threads and a named limit on the jobs
that may wait for one.

Invariants:
- A pool never holds more than `workers + max_waiting` jobs. A submission
  beyond that raises `Overloaded` at once, without queueing anything; the
  protocol sessions turn it into a temporary failure (SMTP 451 4.3.0, IMAP
  NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]) so a flood of logins costs the
  server a refusal each, not an ever-growing queue.
- Every refusal is counted per pool (`Executor.overloaded`) and logged at
  WARNING with the pool name, at most once per `OVERLOAD_LOG_INTERVAL` per pool.
- Results and exceptions of the job pass through `run` unchanged. A job that
  was cancelled before it started never runs; one already running finishes in
  its thread (threads cannot be interrupted) and still counts until it does.
- After `shutdown`, `run` raises `RuntimeError`.

Who owns which executor: the `App` creates one `Executor`, installs it for its
event loop on `open` and shuts it down on `close`. The cpu pool has one thread
per core the process may use (`cores`); a worker process of several
(`[server] workers`, forked before its App exists) gets its share,
`cpu_threads(processes)`, so that N workers on N cores run N Argon2
verifications at once, not N × N (`pools`). Code that has no App at
hand (parsing in `delivery.ingest`, DKIM verification) calls the module-level
`run`, which uses the executor installed for the running loop, or else one
process-wide default (tests and tools that use a bare store).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

log = logging.getLogger("postbus.executor")

P = ParamSpec("P")
T = TypeVar("T")

CPU = "cpu"  # Argon2, password policy, DKIM, parsing: releases the GIL or is short
IO = "io"  # blocking file reads and writes of message bodies
READ = "read"  # database reads whose cost grows with a folder (SQLite reader connections)



def cores() -> int:
    """The cores this process may run on (its affinity), as `[server] workers = "auto"` counts."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def cpu_threads(processes: int = 1, available: int | None = None) -> int:
    """The cpu threads of one of `processes` worker processes sharing `available`
    cores (all this process may use by default): its share, at least one."""
    return max(1, (cores() if available is None else available) // max(1, processes))


# Argon2 (argon2-cffi) and the C parts of DKIM release the GIL: one thread per
# core keeps every core busy without oversubscribing it (per process: `pools`).
CPU_WORKERS = cpu_threads()
# Jobs that may wait for a cpu thread. An Argon2 verification costs ~34 ms of
# one core, so 64 waiting per core is about 2 s of queue: past that a client is
# better served by a temporary failure it retries than by a login that hangs.
CPU_WAITING_PER_THREAD = 64
CPU_MAX_WAITING = CPU_WAITING_PER_THREAD * CPU_WORKERS
# File I/O threads mostly sleep in the kernel; a few overlap the disk's latency.
IO_WORKERS = 4
# Body reads and writes that may wait; each holds at most one body's buffer.
IO_MAX_WAITING = 256
# Long SQLite reads (a folder's entries, a search narrowing) run on reader
# connections, one per thread; two overlap a reader with the loop's point reads
# without letting big folders crowd out the writer's share of the GIL.
READ_WORKERS = 2
# Long reads that may wait; each is a few dozen bytes until it runs.
READ_MAX_WAITING = 256
# An overload is logged at most once per this many seconds per pool: under a
# flood the counter keeps the numbers, the log keeps one line.
OVERLOAD_LOG_INTERVAL = 10.0


@dataclass(frozen=True, slots=True)
class PoolSpec:
    workers: int  # threads running jobs
    max_waiting: int  # jobs queued behind them before `Overloaded`


DEFAULT_POOLS: Mapping[str, PoolSpec] = {
    CPU: PoolSpec(CPU_WORKERS, CPU_MAX_WAITING),
    IO: PoolSpec(IO_WORKERS, IO_MAX_WAITING),
    READ: PoolSpec(READ_WORKERS, READ_MAX_WAITING),
}


def pools(processes: int = 1, available: int | None = None) -> dict[str, PoolSpec]:
    """The pools of one of `processes` worker processes: `DEFAULT_POOLS` with the
    cpu pool (and its queue) sized to the process's share of the cores."""
    threads = cpu_threads(processes, available)
    return {**DEFAULT_POOLS, CPU: PoolSpec(threads, CPU_WAITING_PER_THREAD * threads)}


class Overloaded(Exception):
    """The pool's queue is full: a temporary condition, answered as a temporary failure."""

    def __init__(self, pool: str) -> None:
        super().__init__(f"the {pool} pool is overloaded, try again later")
        self.pool = pool


class _Pool:
    def __init__(self, name: str, spec: PoolSpec) -> None:
        if spec.workers < 1 or spec.max_waiting < 0:
            raise ValueError(f"pool {name}: needs at least one worker and a non-negative queue")
        self.name = name
        self.spec = spec
        self.capacity = spec.workers + spec.max_waiting
        self.workers = spec.workers
        self.threads = ThreadPoolExecutor(spec.workers, thread_name_prefix=f"postbus-{name}")
        self.in_flight = 0  # submitted and not yet done: running plus waiting
        self.overloaded = 0
        self.last_logged: float | None = None


class Executor:
    """Named, bounded thread pools; one per App."""

    def __init__(self, pools: Mapping[str, PoolSpec] = DEFAULT_POOLS, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._pools = {name: _Pool(name, spec) for name, spec in pools.items()}
        self._clock = clock
        # guards the counters: jobs finish on worker threads, and an executor
        # may be shared by loops in several threads (tests, tools)
        self._lock = threading.Lock()
        self._closed = False

    async def run(self, pool: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn(*args, **kwargs)` in `pool`; `Overloaded` when its queue is full."""
        p = self._pools[pool]  # an unknown pool name is a programming error: KeyError
        future: Future[T] | None = None
        report = False
        with self._lock:  # never held across an await
            if self._closed:
                raise RuntimeError("the executor is shut down")
            if p.in_flight < p.capacity:
                p.in_flight += 1
                future = p.threads.submit(fn, *args, **kwargs)
            else:
                p.overloaded += 1
                now = self._clock()
                report = p.last_logged is None or now - p.last_logged >= OVERLOAD_LOG_INTERVAL
                if report:
                    p.last_logged = now
        if future is None:
            if report:
                log.warning("executor pool %s is full (%d running or waiting): refusing work,"
                            " %d refusals so far", p.name, p.capacity, p.overloaded)
            raise Overloaded(pool)
        # fires on completion, and on cancellation of a job that never started
        future.add_done_callback(lambda _: self._release(p))
        return await asyncio.wrap_future(future)

    def _release(self, p: _Pool) -> None:
        with self._lock:
            p.in_flight -= 1

    def spec(self, pool: str) -> PoolSpec:
        """The threads and queue bound of `pool`."""
        return self._pools[pool].spec

    @property
    def overloaded(self) -> dict[str, int]:
        """Refusals per pool since start (for tests and metrics)."""
        with self._lock:
            return {name: p.overloaded for name, p in self._pools.items()}

    def in_flight(self, pool: str) -> int:
        """Jobs of `pool` running or waiting now."""
        with self._lock:
            return self._pools[pool].in_flight

    def shutdown(self, *, wait: bool = True) -> None:
        """Refuse new work, drop jobs still waiting, and (by default) wait for running ones."""
        with self._lock:
            self._closed = True
        for p in self._pools.values():
            p.threads.shutdown(wait=wait, cancel_futures=True)


# The executor installed per event loop (the App's), newest last; weak so that
# a closed loop does not keep its executors alive.
_installed: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Executor]] = (
    weakref.WeakKeyDictionary()
)
_default: Executor | None = None
_default_lock = threading.Lock()


def install(executor: Executor) -> None:
    """Make `executor` the one `run` uses on the running loop (until `uninstall`)."""
    _installed.setdefault(asyncio.get_running_loop(), []).append(executor)


def uninstall(executor: Executor) -> None:
    for stack in _installed.values():
        if executor in stack:
            stack.remove(executor)


def current() -> Executor:
    """The executor installed for the running loop, else the process-wide default."""
    global _default
    try:
        stack = _installed.get(asyncio.get_running_loop())
    except RuntimeError:
        stack = None
    if stack:
        return stack[-1]
    with _default_lock:
        if _default is None:
            _default = Executor()
        return _default


async def run(pool: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`current().run(pool, fn, *args, **kwargs)`."""
    return await current().run(pool, fn, *args, **kwargs)
