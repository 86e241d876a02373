"""Webmail sessions: opened after a login through `Accounts.authenticate`, kept in
the store so that they survive a restart and work on every worker and node.

Invariants:
- The session id is 256 random bits (`secrets`), handed to the browser once, in
  the cookie; the store keeps only its SHA-256, so a copy of the store opens no
  session.
- A session unused for `idle_timeout` seconds is gone: `resume` refuses and
  removes it. `last_seen` is written at most once per `TOUCH_INTERVAL`, so a
  busy page does not become a write per request.
- A session of an account that was removed or disabled opens nothing (the
  store removes a removed account's sessions with it).
- Each session has its own CSRF synchroniser token, compared in constant time
  by the web front end.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from postbus.store import Store
from postbus.store.model import Account, WebSession

#: Longest session id accepted from a cookie; ours are 43 characters.
MAX_SESSION_ID = 64
#: `last_seen` is stored again only when it is older than this many seconds.
TOUCH_INTERVAL = 60.0


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A live session and its account, as `resume` finds them."""

    session: WebSession
    account: Account


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class WebSessions:
    def __init__(self, store: Store, *, idle_timeout: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.idle_timeout = idle_timeout
        self.clock = clock

    async def open(self, account: Account, language: str = "") -> tuple[str, WebSession]:
        """A new session for `account`: (the id for the cookie, the stored session)."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        session = WebSession(id_hash(session_id), account.id, secrets.token_urlsafe(32),
                             language, now, now)
        await self.store.create_web_session(session)
        return session_id, session

    async def resume(self, session_id: str, *, touch: bool = True) -> OpenSession | None:
        """The live session named by the cookie's id, or None. With `touch` False
        (a background request, not the user's) the session's idle time runs on."""
        if not session_id or len(session_id) > MAX_SESSION_ID:
            return None
        key = id_hash(session_id)
        session = await self.store.get_web_session(key)
        if session is None:
            return None
        now = self.clock()
        if now - session.last_seen > self.idle_timeout:
            await self.store.delete_web_session(key)
            return None
        account = await self.store.get_account_by_id(session.account_id)
        if account is None or not account.enabled:
            await self.store.delete_web_session(key)
            return None
        if touch and now - session.last_seen > TOUCH_INTERVAL:
            await self.store.update_web_session(key, last_seen=now)
        return OpenSession(session, account)

    async def set_language(self, session: WebSession, language: str) -> None:
        await self.store.update_web_session(session.id_hash, language=language)

    async def close(self, session: WebSession) -> None:
        await self.store.delete_web_session(session.id_hash)

    async def close_all(self, account_id: int) -> int:
        """Logs the account out everywhere (e.g. after a password change)."""
        return await self.store.delete_web_sessions(account_id=account_id)

    async def expire_idle(self) -> int:
        """Removes every session idle past the timeout; how many."""
        return await self.store.delete_web_sessions(idle_before=self.clock() - self.idle_timeout)
