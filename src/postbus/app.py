"""The application: the services every front end shares, built from settings.

Front ends get one `App` and reach everything through it: settings, the store,
the accounts service, the executor for blocking work, TLS contexts, and the
registry of live sessions that a graceful shutdown asks to finish.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from postbus import executor as executor_mod
from postbus.accounts.service import Accounts
from postbus.accounts.websessions import WebSessions
from postbus.admin.service import Administration
from postbus.config import Settings
from postbus.executor import Executor
from postbus.mailbox.service import Mailboxes
from postbus.net.certs import Certificates
from postbus.node import NodeProcess
from postbus.security import files
from postbus.security.sending import SendingLimits
from postbus.security.throttle import LoginThrottle, Policy
from postbus.store import Store, make_store

log = logging.getLogger("postbus")


class Session(Protocol):
    """What shutdown needs of a live protocol session."""

    def shutdown(self) -> None:
        """Asks the session to finish: reply to what is in flight, then close."""

    def abort(self) -> None:
        """Closes the connection now."""


class App:
    def __init__(self, settings: Settings, store: Store | None = None, *,
                 processes: int = 1) -> None:
        self.settings = settings
        # which process of its node this is (a worker sets its own: server._worker_main)
        self.process = NodeProcess(settings.node)
        self.store: Store = store or make_store(settings)
        # the one seam for blocking work (postbus.executor); shut down by close().
        # One of `processes` worker processes gets its share of the cores' cpu
        # threads, and the password gate as many slots (security.hashing).
        self.executor = Executor(executor_mod.pools(processes))
        self.accounts = Accounts(self.store, default_quota=settings.default_quota,
                                 executor=self.executor)
        # login throttling and bans for every front end (security.throttle)
        self.throttle = LoginThrottle(self.store, Policy.from_settings(settings))
        self.accounts.throttle = self.throttle
        # sending limits of every submission (security.sending, via delivery.pipeline)
        self.sending = SendingLimits(self.store, settings)
        # the CLI, the JSON API and the admin panel share it (postbus.admin)
        self.admin = Administration(self.store, self.accounts, settings)
        self.mailboxes = Mailboxes(self.store, settings)  # IMAP, POP3 and the webmail share it
        self.web_sessions = WebSessions(
            self.store, idle_timeout=settings.duration("webmail", "session_idle_timeout"))
        self.sessions: set[Session] = set()
        self.services: dict[str, Any] = {}  # e.g. "delivery", "queue", "resolver"
        self._certs: Certificates | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.closing = False

    @property
    def certificates(self) -> Certificates:
        """The swappable certificate of every TLS listener (net/certs.py)."""
        if self._certs is None:
            s = self.settings
            self._certs = Certificates(s.tls.cert, s.tls.key, Path(s.data_dir), s.hostname,
                                       acme=s.tls.acme)
        return self._certs

    @property
    def tls(self) -> ssl.SSLContext:
        """The context every TLS handshake starts with; it serves the current certificate."""
        return self.certificates.front

    async def open(self) -> None:
        # code without an App at hand (parsing, DKIM) finds this executor through the loop
        executor_mod.install(self.executor)
        files.secure_data_dir(Path(self.settings.data_dir))  # both backends keep files there
        await self.store.open()
        await self.throttle.refresh()  # the bans in force, for refusing at connect

    async def close(self) -> None:
        # Services with work in flight (the outbound queue) finish it first.
        for service in list(self.services.values()):
            stop = getattr(service, "stop", None)
            if stop is not None and asyncio.iscoroutinefunction(stop):
                await stop()
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.accounts.last_logins.close()
        self.accounts.close()
        await self.throttle.close()
        await self.store.close()
        executor_mod.uninstall(self.executor)
        self.executor.shutdown()

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        """Runs a background task whose failure is logged, never lost."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._background.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._background.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("background task %s failed", name, exc_info=t.exception())

        task.add_done_callback(done)
        return task

    def register(self, session: Session) -> Callable[[], None]:
        self.sessions.add(session)
        return lambda: self.sessions.discard(session)

    async def auth_failure_pause(self) -> None:
        delay = self.settings.duration("security", "auth_failure_delay")
        if delay > 0:
            await asyncio.sleep(delay)
