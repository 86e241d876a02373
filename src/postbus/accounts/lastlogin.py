"""When each mailbox last logged in: recorded off the login's path, rarely.

Every successful login of every protocol (`Accounts.authenticate`) notes the
account here. A mail client logs in again every few minutes and opens several
connections at once, so the store is written at most once per account per
`LAST_LOGIN_INTERVAL` seconds per process: not when the account's stored
`last_login` is that recent already, nor when this process wrote it that
recently (its write may not have landed yet). The write runs as a task of its
own: the login's reply never waits for it, and a failure is logged, never
raised into a login.

Invariants: at most `MAX_TRACKED` accounts are remembered (the oldest go
first); a pending write holds a strong reference until it ends; `close`
waits for the writes in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from postbus.store import Store
from postbus.store.model import Account

log = logging.getLogger("postbus.accounts")

#: Seconds between two writes of one account's last login by one process.
LAST_LOGIN_INTERVAL = 300.0
#: Accounts whose last write time this process remembers; past it the oldest go
#: (a forgotten account is at worst written once more).
MAX_TRACKED = 100_000


class LastLogins:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time,
                 interval: float = LAST_LOGIN_INTERVAL, max_tracked: int = MAX_TRACKED) -> None:
        self.store = store
        self.clock = clock  # wall-clock seconds: what is stored
        self.interval = interval
        self.max_tracked = max_tracked
        self._written: OrderedDict[int, float] = OrderedDict()  # account id -> when written
        self._pending: set[asyncio.Task[None]] = set()

    def note(self, account: Account) -> None:
        """Records, in the background, that `account` has just logged in."""
        now = self.clock()
        if account.last_login is not None and now - account.last_login < self.interval:
            return
        written = self._written.get(account.id)
        if written is not None and now - written < self.interval:
            return
        self._written[account.id] = now
        self._written.move_to_end(account.id)
        while len(self._written) > self.max_tracked:
            self._written.popitem(last=False)
        try:
            task = asyncio.get_running_loop().create_task(self._write(account, now))
        except RuntimeError:
            return  # no running loop (a synchronous caller): nothing to record with
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(self, account: Account, at: float) -> None:
        try:
            await self.store.record_login(account.id, at)
        except Exception:  # the first login after the interval tries again
            log.warning("last login of %s not recorded", account.address, exc_info=True)

    async def close(self) -> None:
        """Waits for the writes in flight (before the store closes)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
