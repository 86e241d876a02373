"""The POP3 maildrop lock: one POP3 session per account at a time (RFC 1939 §4).

Two layers:

- In this process, a set of locked account ids kept on the `App` (so that test
  apps sharing one interpreter do not see each other's locks). This one is
  exact: acquiring and releasing are synchronous, with no await in between.
- Across worker processes and nodes, a lease in the store's settings table
  under `pop3_lock:<account_id>`: "<node>#<process mark> <expiry>". A live
  session renews it every `LEASE_RENEW` seconds; a node that crashed leaves a
  lease that the other nodes see lapse after at most `LEASE` seconds. The
  lease is taken, renewed and released by compare-and-set (`swap_setting`),
  so of two processes that log the same user in at once exactly one wins.
  Each worker process is a node of its own (`postbus.node`).

A lease of this node's own processes is stale at once, and taken over, when
- it names this process but this process does not hold it (left by an
  earlier run under the same name: a restarted worker, a restarted node);
- it names a process of this node that the node does not run now
  (`NodeProcess.gone`: `workers` changed);
- its process mark (`postbus.node.process_mark`, the pid and start time of the
  process that took it) names a process that is dead: a worker killed with
  kill -9 while its session held the maildrop frees it for a login on any
  other worker at once, without waiting for its replacement.
So node names must be unique among nodes sharing a store, which is what
`node_name` is for. A lease without a mark (written before marks) is judged
by its name and expiry only; the mark is part of the first field so that a
node of an earlier version, during a rolling upgrade, sees a live lease of
another holder rather than one it cannot read.

Invariant: `release` is called exactly once for every successful `acquire`,
whatever way the session ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from postbus.app import App
from postbus.node import NodeProcess, mark_alive, process_mark

log = logging.getLogger("postbus.pop3")

LEASE = 20 * 60.0  # a crashed node's lock lapses after at most this long
LEASE_RENEW = LEASE / 4
SETTING_PREFIX = "pop3_lock:"
MARK_SEPARATOR = "#"  # between the node's name and the process mark in a lease
_APP_KEY = "pop3.locks"


class LeaseStore(Protocol):
    """Where leases are kept: the store's small key/value records (the only
    part of the store POP3 sees; `locks_for` passes the App's store)."""

    async def get_setting(self, key: str) -> str | None: ...

    async def swap_setting(self, key: str, expected: str | None, value: str | None) -> bool: ...


class MaildropLocks:
    """The locks of one process (one `App`)."""

    def __init__(self, store: LeaseStore, process: NodeProcess | str,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.process = process if isinstance(process, NodeProcess) else NodeProcess(process)
        self.node = self.process.name
        self.clock = clock
        self._held: set[int] = set()
        self._renewers: dict[int, asyncio.Task[None]] = {}
        self._leases: dict[int, str] = {}  # the lease value this process last wrote

    def held(self, account_id: int) -> bool:
        return account_id in self._held

    async def acquire(self, account_id: int) -> bool:
        """True when this caller now holds the maildrop of `account_id`."""
        if account_id in self._held:
            return False
        self._held.add(account_id)  # claim first: no await between test and set
        try:
            if not await self._take_lease(account_id):
                self._held.discard(account_id)
                return False
        except BaseException:
            self._held.discard(account_id)
            raise
        self._renewers[account_id] = asyncio.create_task(
            self._renew(account_id), name=f"pop3-lock-{account_id}"
        )
        return True

    async def release(self, account_id: int) -> None:
        renewer = self._renewers.pop(account_id, None)
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        try:
            lease = self._leases.pop(account_id, None)
            if lease is not None:
                await self.store.swap_setting(SETTING_PREFIX + str(account_id), lease, None)
        finally:
            self._held.discard(account_id)

    async def _take_lease(self, account_id: int) -> bool:
        key = SETTING_PREFIX + str(account_id)
        current = await self.store.get_setting(key)
        if current is not None and self._live(current):
            return False
        lease = self._lease()
        if not await self.store.swap_setting(key, current, lease):
            return False  # another process took it since we read it
        self._leases[account_id] = lease
        return True

    def _lease(self) -> str:
        return f"{self.node}{MARK_SEPARATOR}{process_mark()} {self.clock() + LEASE:.0f}"

    def _live(self, lease: str) -> bool:
        """Whether another session's lease holds (see the module docstring)."""
        holder, _, expiry = lease.partition(" ")
        node, _, mark = holder.partition(MARK_SEPARATOR)
        try:
            if float(expiry) <= self.clock():
                return False
        except ValueError:
            return False  # unreadable: treat as lapsed
        if node == self.node or self.process.gone(node):
            return False
        return not (mark and self.process.ours(node) and not mark_alive(mark))

    async def _renew(self, account_id: int) -> None:
        key = SETTING_PREFIX + str(account_id)
        while True:
            await asyncio.sleep(LEASE_RENEW)
            lease = self._lease()
            try:
                if await self.store.swap_setting(key, self._leases[account_id], lease):
                    self._leases[account_id] = lease
                else:
                    log.warning("the POP3 lock of account %s was taken over", account_id)
            except Exception:  # the next renewal may succeed; the lease has slack
                log.warning("could not renew the POP3 lock of account %s", account_id,
                            exc_info=True)


def locks_for(app: App) -> MaildropLocks:
    """The process's `MaildropLocks`, made on first use."""
    locks = app.services.get(_APP_KEY)
    if not isinstance(locks, MaildropLocks):
        locks = MaildropLocks(app.store, app.process)
        app.services[_APP_KEY] = locks
    return locks
