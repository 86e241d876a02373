"""Password verification cannot be used to starve the service.

Each Argon2id verification costs ~34 ms of one core, so a flood of guesses
could fill the cpu pool and make every login (and every DKIM check and parse
that shares the pool) wait behind it. `HashGate` admits verifications to the
pool in an order that keeps the service usable:

- At most `slots` verifications run at once (one per thread of the process's
  cpu pool, `sized_for`: a worker process of several has its share of the
  cores, `executor.cpu_threads`), so the cpu pool's own queue stays short for
  the other work that needs it; with two or more slots, one is kept for
  known-good sources (below). With one slot none is kept, and priority alone
  puts a known source first: it waits at most for the verification running.
- *Per-source serialisation*: the attempts of one source (its `address_key`)
  that are not known-good wait behind each other in that source's own line, so
  200 parallel guesses from one address occupy one slot, not all of them.
- *Priority*: an attempt for an account from a source it logged in from before
  (`LoginThrottle.known`) skips the source's line and is admitted before every
  ordinary waiter; a repeat login that hits the auth cache never gets here.
- The gate's queue is bounded: past `max_waiting` waiters (in the priority or
  the ordinary queue) `executor.Overloaded` is raised at once, which the
  protocols answer as a temporary failure.

Invariants: a granted slot is released exactly once, whether the holder
finishes, fails or is cancelled (a waiter cancelled after being granted hands
its slot on); a source's line is dropped when nobody waits in it. Event-loop
only (not thread-safe).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from postbus.executor import CPU, CPU_MAX_WAITING, CPU_WORKERS, Executor, Overloaded

#: Verifications running at once: one per cpu thread (of a single-process server;
#: `HashGate.sized_for` follows the executor's cpu pool).
HASH_SLOTS = CPU_WORKERS
#: Verifications that may wait for a slot (in each queue). Policy: past this,
#: `Overloaded` at once (a temporary failure the client retries).
HASH_MAX_WAITING = CPU_MAX_WAITING


class HashGate:
    def __init__(self, slots: int = HASH_SLOTS, max_waiting: int = HASH_MAX_WAITING) -> None:
        if slots < 1 or max_waiting < 0:
            raise ValueError("a gate needs a slot and a non-negative queue")
        self.slots = slots
        # With more than one slot, one is kept for known-good sources: their
        # login never waits for a guess's verification to finish.
        self.ordinary_slots = slots - 1 if slots > 1 else slots
        self.max_waiting = max_waiting
        self.running = 0
        self.running_ordinary = 0
        self._priority: deque[asyncio.Future[None]] = deque()
        self._ordinary: deque[asyncio.Future[None]] = deque()
        self._lines: dict[str, tuple[asyncio.Lock, int]] = {}  # source -> (lock, users)

    @classmethod
    def sized_for(cls, executor: Executor) -> HashGate:
        """A gate with one slot per thread of the executor's cpu pool, and its queue bound."""
        spec = executor.spec(CPU)
        return cls(spec.workers, spec.max_waiting)

    @property
    def waiting(self) -> int:
        return len(self._priority) + len(self._ordinary)

    @asynccontextmanager
    async def turn(self, source: str | None = None, *, priority: bool = False,
                   ) -> AsyncIterator[None]:
        """Holds one slot for the body; see the module docstring for the order."""
        if priority or source is None:
            await self._acquire(priority)
            try:
                yield
            finally:
                self._release(priority)
            return
        lock, users = self._lines.get(source, (asyncio.Lock(), 0))
        self._lines[source] = (lock, users + 1)
        try:
            async with lock:
                await self._acquire(False)
                try:
                    yield
                finally:
                    self._release(False)
        finally:
            lock, users = self._lines[source]
            if users <= 1:
                del self._lines[source]
            else:
                self._lines[source] = (lock, users - 1)

    def _free(self, priority: bool) -> bool:
        if self.running >= self.slots:
            return False
        return priority or self.running_ordinary < self.ordinary_slots

    def _take(self, priority: bool) -> None:
        self.running += 1
        if not priority:
            self.running_ordinary += 1

    async def _acquire(self, priority: bool) -> None:
        queue = self._priority if priority else self._ordinary
        if self._free(priority) and not self._priority and (priority or not self._ordinary):
            self._take(priority)
            return
        if len(queue) >= self.max_waiting:
            raise Overloaded(CPU)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(priority)  # granted, then cancelled: hand the slot on
            elif waiter in queue:  # else a release already skipped it
                queue.remove(waiter)
            raise

    def _release(self, priority: bool) -> None:
        self.running -= 1
        if not priority:
            self.running_ordinary -= 1
        for kind, queue in ((True, self._priority), (False, self._ordinary)):
            while queue and self._free(kind):
                waiter = queue.popleft()
                if not waiter.done():
                    self._take(kind)
                    waiter.set_result(None)
