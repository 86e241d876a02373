"""accounts.websessions on its own: ids, hashing, idle time, touching."""

from __future__ import annotations

import hashlib

from postbus.accounts.websessions import MAX_SESSION_ID, TOUCH_INTERVAL
from postbus.app import App
from tests.unit.webmail.conftest import ALICE


async def test_open_resume_touch_close(app: App) -> None:
    now = [1000.0]
    sessions = app.web_sessions
    sessions.clock = lambda: now[0]
    account = await app.accounts.get_user(ALICE)
    assert account is not None
    first, stored = await sessions.open(account, "fr")
    second, _ = await sessions.open(account)
    assert first != second and len(first) == 43 and len(stored.csrf_token) == 43
    assert stored.id_hash == hashlib.sha256(first.encode()).hexdigest()
    opened = await sessions.resume(first)
    assert opened is not None and opened.account.id == account.id
    assert opened.session.language == "fr"

    now[0] += TOUCH_INTERVAL + 1
    await sessions.resume(first, touch=False)  # a background request
    again = await app.store.get_web_session(stored.id_hash)
    assert again is not None and again.last_seen == 1000.0
    await sessions.resume(first)
    touched = await app.store.get_web_session(stored.id_hash)
    assert touched is not None and touched.last_seen == now[0]

    assert await sessions.resume("x" * (MAX_SESSION_ID + 1)) is None
    assert await sessions.resume("") is None
    assert await sessions.resume(first + "x") is None
    assert await sessions.close_all(account.id) == 2
    assert await sessions.resume(first) is None
