"""The maildrop lock: one POP3 session per account, in this process and across nodes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from postbus.app import App
from postbus.node import NodeProcess, process_mark
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
            assert value is not None and value.split()[0] == f"{app.settings.node}#{process_mark()}"
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
    mark = process_mark()
    assert await app.store.get_setting(key) == f"node-a#{mark} {1000 + lock.LEASE:.0f}"
    now[0] = 2000.0
    for _ in range(500):
        if await app.store.get_setting(key) == f"node-a#{mark} {2000 + lock.LEASE:.0f}":
            break
        await asyncio.sleep(0.01)
    assert await app.store.get_setting(key) == f"node-a#{mark} {2000 + lock.LEASE:.0f}"
    await locks.release(account_id)
    assert await app.store.get_setting(key) is None and not locks.held(account_id)
    assert await locks.acquire(account_id)
    await locks.release(account_id)


def _other_process_mark() -> tuple[subprocess.Popen[bytes], str]:
    """A live process other than this one, and its mark (as its own `process_mark` gives)."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    with open(f"/proc/{child.pid}/stat", "rb") as f:
        start = f.read().rpartition(b")")[2].split()[19].decode()
    return child, f"{child.pid}.{start}"


async def test_lease_of_a_dead_worker_of_this_node_is_taken_over_at_once(app: App) -> None:
    """Worker 1 of this node was killed holding the maildrop: worker 0 need not wait."""
    account_id = await _account_id(app)
    key = SETTING_PREFIX + str(account_id)
    locks = MaildropLocks(app.store, NodeProcess("node-a", 0, 2))
    child, mark = _other_process_mark()
    try:
        await app.store.set_setting(key, f"node-a/w1#{mark} {time.time() + 600:.0f}")
        assert not await locks.acquire(account_id)  # worker 1 lives
        other_node = MaildropLocks(app.store, NodeProcess("node-b", 0, 2))
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
        assert not await other_node.acquire(account_id)  # another node waits for the lease
        assert await locks.acquire(account_id)
        assert (await app.store.get_setting(key) or "").startswith("node-a/w0#")
        await locks.release(account_id)
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize(("process", "holder"), [
    (NodeProcess("node-a", 0, 2), "node-a"),  # the node ran as one process before
    (NodeProcess("node-a", 0, 2), "node-a/w2"),  # workers lowered from 3
    (NodeProcess("node-a"), "node-a/w0"),  # the node ran workers before
])
async def test_lease_of_a_process_this_node_no_longer_runs_is_taken_over(
        app: App, process: NodeProcess, holder: str) -> None:
    account_id = await _account_id(app)
    key = SETTING_PREFIX + str(account_id)
    await app.store.set_setting(key, f"{holder} {time.time() + 600:.0f}")  # no mark
    locks = MaildropLocks(app.store, process)
    assert await locks.acquire(account_id)
    await locks.release(account_id)
    await app.store.set_setting(key, f"node-a/w1 {time.time() + 600:.0f}")  # a live slot, no mark
    assert not await MaildropLocks(app.store, NodeProcess("node-a", 0, 2)).acquire(account_id)
