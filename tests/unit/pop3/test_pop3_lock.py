"""The maildrop lock: one POP3 session per account, in this process and across nodes."""

from __future__ import annotations

import asyncio
import time

import pytest

from postbus.app import App
from postbus.pop3 import lock
from postbus.pop3.lock import SETTING_PREFIX, MaildropLocks, locks_for
from postbus.pop3.session import Pop3Session
from tests.support.mail import deliver
from tests.unit.pop3.pop3_helpers import ANNA, connect, message

IN_USE = b"-ERR [IN-USE] Maildrop is in use by another POP3 session\r\n"


async def _account_id(app: App) -> int:
    account = await app.store.get_account(ANNA)
    assert account is not None
    return account.id


async def test_second_login_gets_in_use_until_the_first_quits(app: App) -> None:
    await deliver(app, ANNA, message("m"))
    async with connect(app) as first, connect(app) as second:
        assert (await first.login()).startswith(b"+OK Logged in")
        assert await second.login() == IN_USE
        assert await second.cmd("STAT") == b"-ERR Not logged in\r\n"  # still AUTHORIZATION
        await first.cmd("QUIT")
        await first.finished()
        assert (await second.login()).startswith(b"+OK Logged in")
    assert await app.store.get_setting(SETTING_PREFIX + str(await _account_id(app))) is None


async def test_the_lease_is_gone_when_quit_replies(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 1939 §6: QUIT releases the lock with its update, before the +OK, so a
    client that reconnects at once (curl, once per message) is never refused
    [IN-USE] by a lease that the ending session still holds, on any worker or node."""
    events: list[str] = []
    release, write = MaildropLocks.release, Pop3Session.write

    async def recorded_release(self: MaildropLocks, account_id: int) -> None:
        await release(self, account_id)
        events.append("released")

    def recorded_write(self: Pop3Session, data: bytes) -> None:
        events.append(data.decode().split(" (")[0])
        write(self, data)

    monkeypatch.setattr(MaildropLocks, "release", recorded_release)
    monkeypatch.setattr(Pop3Session, "write", recorded_write)
    await deliver(app, ANNA, message("m"))
    async with connect(app) as client:
        assert (await client.login()).startswith(b"+OK Logged in")
        assert (await client.cmd("QUIT")).startswith(b"+OK")
    assert events[-2:] == ["released", "+OK Postbus POP3 signing off"]
    assert events.count("released") == 1
    assert await app.store.get_setting(SETTING_PREFIX + str(await _account_id(app))) is None


async def test_lease_of_another_live_node_blocks(app: App) -> None:
    key = SETTING_PREFIX + str(await _account_id(app))
    await app.store.set_setting(key, f"other-node {time.time() + 600:.0f}")
    async with connect(app) as client:
        assert await client.login() == IN_USE
    assert not locks_for(app).held(await _account_id(app))
    assert (await app.store.get_setting(key) or "").startswith("other-node ")  # left alone


async def test_lapsed_or_own_stale_lease_is_taken_over(app: App) -> None:
    key = SETTING_PREFIX + str(await _account_id(app))
    for stale in (f"other-node {time.time() - 1:.0f}", f"{app.settings.node} {time.time() + 600:.0f}",
                  "garbage"):
        await app.store.set_setting(key, stale)
        async with connect(app) as client:
            assert (await client.login()).startswith(b"+OK Logged in"), stale
            value = await app.store.get_setting(key)
            assert value is not None and value.split()[0] == app.settings.node
            await client.cmd("QUIT")
        assert await app.store.get_setting(key) is None


async def test_lease_is_renewed_while_held(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lock, "LEASE_RENEW", 0.01)
    now = [1000.0]
    locks = MaildropLocks(app.store, "node-a", clock=lambda: now[0])
    account_id = await _account_id(app)
    assert await locks.acquire(account_id)
    assert not await locks.acquire(account_id)
    key = SETTING_PREFIX + str(account_id)
    assert await app.store.get_setting(key) == f"node-a {1000 + lock.LEASE:.0f}"
    now[0] = 2000.0
    for _ in range(500):
        if await app.store.get_setting(key) == f"node-a {2000 + lock.LEASE:.0f}":
            break
        await asyncio.sleep(0.01)
    assert await app.store.get_setting(key) == f"node-a {2000 + lock.LEASE:.0f}"
    await locks.release(account_id)
    assert await app.store.get_setting(key) is None and not locks.held(account_id)
    assert await locks.acquire(account_id)
    await locks.release(account_id)
