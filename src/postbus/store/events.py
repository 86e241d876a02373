"""Change events: a subscriber awaits the next change to the folders it watches.

The hub is in-process. Backends publish after each commit; the PostgreSQL
backend also feeds it from LISTEN/NOTIFY so changes made on other nodes arrive
the same way. Publishing never blocks and never raises: a subscriber that does
not read only keeps a flag and the latest mod-sequence per folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from postbus.store.model import Change


class Subscription:
    """Changes for one account. Call `wait()` to sleep until something changed, or set
    `on_change` to be called (on the event loop) when a change arrives."""

    __slots__ = ("_event", "_hub", "_pending", "account_id", "on_change")

    def __init__(self, hub: ChangeHub, account_id: int) -> None:
        self._hub = hub
        self.account_id = account_id
        # Keyed by folder and kind: a rename is not hidden by a later delivery.
        self._pending: dict[tuple[int, str], Change] = {}
        # Made on the first wait: most subscriptions (one per IMAP connection)
        # only ever call `pending()`, and an Event costs ~0.7 KiB.
        self._event: asyncio.Event | None = None
        #: Called after each change is recorded; cheaper than a task in `wait()` for a
        #: session that sleeps in IDLE (issue 11: no task, no Event per idle connection).
        self.on_change: Callable[[], None] | None = None

    def _push(self, change: Change) -> None:
        self._pending[change.mailbox_id, change.kind] = change
        if self._event is not None:
            self._event.set()
        if self.on_change is not None:
            self.on_change()

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def pending(self) -> list[Change]:
        """The changes seen since the last call, one per folder and kind, and clears them."""
        changes = list(self._pending.values())
        self._pending.clear()
        if self._event is not None:
            self._event.clear()
        return changes

    async def wait(self, timeout: float | None = None) -> bool:
        """True when a change is pending; False on timeout."""
        if self._pending:
            return True
        if self._event is None:
            self._event = asyncio.Event()
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self._hub._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ChangeHub:
    def __init__(self) -> None:
        self._subs: dict[int, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.forward: Callable[[Change], None] | None = None  # set by a backend to fan out

    def subscribe(self, account_id: int) -> Subscription:
        self._loop = asyncio.get_running_loop()
        sub = Subscription(self, account_id)
        self._subs.setdefault(account_id, set()).add(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.account_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.account_id]

    def publish(self, change: Change, *, local_only: bool = False) -> None:
        """Delivers to this process's subscribers, from any thread."""
        if not local_only and self.forward is not None:
            self.forward(change)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(change)
        else:
            loop.call_soon_threadsafe(self._deliver, change)

    def _deliver(self, change: Change) -> None:
        for sub in list(self._subs.get(change.account_id, ())):
            sub._push(change)
