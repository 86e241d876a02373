"""The POP3 maildrop lock: one POP3 session per account at a time (RFC 1939 §4).

Two layers:

- In this process, a set of locked account ids kept on the `App` (so that test
  apps sharing one interpreter do not see each other's locks). This one is
  exact: acquiring and releasing are synchronous, with no await in between.
- Across nodes, a best-effort lease in the store's settings table under
  `pop3_lock:<account_id>`: "<node> <expiry>". A live session renews it every
  `LEASE_RENEW` seconds; a node that crashed leaves a lease that lapses after
  at most `LEASE` seconds. Reading and writing the lease are two store calls,
  so two nodes that log the same user in within those milliseconds can both
  win: the lock keeps ordinary clients (a phone and a desktop polling the same
  account) apart, it is not a mutex. Nothing is lost if it fails: deletions
  are by UID, and expunging a UID that another session already removed is a
  no-op.

A lease naming this node but not held in this process is stale (left by an
earlier run of this node) and is taken over at once; so node names must be
unique among nodes sharing a store, which is what `node_name` is for.

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

log = logging.getLogger("postbus.pop3")

LEASE = 20 * 60.0  # a crashed node's lock lapses after at most this long
LEASE_RENEW = LEASE / 4
SETTING_PREFIX = "pop3_lock:"
_APP_KEY = "pop3.locks"


class LeaseStore(Protocol):
    """Where leases are kept: the store's small key/value records (the only
    part of the store POP3 sees; `locks_for` passes the App's store)."""

    async def get_setting(self, key: str) -> str | None: ...

    async def set_setting(self, key: str, value: str | None) -> None: ...


class MaildropLocks:
    """The locks of one process (one `App`)."""

    def __init__(self, store: LeaseStore, node: str, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.node = node
        self.clock = clock
        self._held: set[int] = set()
        self._renewers: dict[int, asyncio.Task[None]] = {}

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
            current = await self.store.get_setting(SETTING_PREFIX + str(account_id))
            if current is not None and current.split(" ")[0] == self.node:
                await self.store.set_setting(SETTING_PREFIX + str(account_id), None)
        finally:
            self._held.discard(account_id)

    async def _take_lease(self, account_id: int) -> bool:
        key = SETTING_PREFIX + str(account_id)
        current = await self.store.get_setting(key)
        if current is not None:
            node, _, expiry = current.partition(" ")
            try:
                live = float(expiry) > self.clock()
            except ValueError:
                live = False  # unreadable: treat as lapsed
            if live and node != self.node:
                return False
        await self.store.set_setting(key, f"{self.node} {self.clock() + LEASE:.0f}")
        return True

    async def _renew(self, account_id: int) -> None:
        key = SETTING_PREFIX + str(account_id)
        while True:
            await asyncio.sleep(LEASE_RENEW)
            try:
                await self.store.set_setting(key, f"{self.node} {self.clock() + LEASE:.0f}")
            except Exception:  # the next renewal may succeed; the lease has slack
                log.warning("could not renew the POP3 lock of account %s", account_id,
                            exc_info=True)


def locks_for(app: App) -> MaildropLocks:
    """The process's `MaildropLocks`, made on first use."""
    locks = app.services.get(_APP_KEY)
    if not isinstance(locks, MaildropLocks):
        locks = MaildropLocks(app.store, app.settings.node)
        app.services[_APP_KEY] = locks
    return locks
