"""The last login of each mailbox: written in the background, at most once per
account per LAST_LOGIN_INTERVAL per process, and never in a login's way."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from postbus.accounts.lastlogin import LAST_LOGIN_INTERVAL, LastLogins
from postbus.admin import CLI
from postbus.admin.service import generate_password
from postbus.app import App
from postbus.config import from_dict
from postbus.store import Store
from postbus.store.model import Account


class FakeStore:
    def __init__(self, fail: bool = False) -> None:
        self.written: list[tuple[int, float]] = []
        self.fail = fail

    async def record_login(self, account_id: int, at: float) -> None:
        if self.fail:
            raise OSError("the store is down")
        self.written.append((account_id, at))


def account(account_id: int = 1, last_login: float | None = None) -> Account:
    return Account(account_id, f"u{account_id}@a.test", 1, "hash", 0, True, 0, 0, last_login)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def recorder(store: FakeStore, clock: Clock, **kw: Any) -> LastLogins:
    return LastLogins(cast(Store, store), clock=clock, **kw)


async def test_a_burst_of_logins_writes_once_per_interval() -> None:
    store, clock = FakeStore(), Clock()
    logins = recorder(store, clock)
    for _ in range(20):
        logins.note(account(1))
        clock.now += 1
    logins.note(account(2))
    await logins.close()
    assert store.written == [(1, 1_800_000_000.0), (2, 1_800_000_020.0)]
    clock.now = 1_800_000_000.0 + LAST_LOGIN_INTERVAL
    logins.note(account(1))
    await logins.close()
    assert store.written[-1] == (1, clock.now)


async def test_a_recent_stored_login_is_not_written_again() -> None:
    """Another process (or node) wrote it: nothing to do here."""
    store, clock = FakeStore(), Clock()
    logins = recorder(store, clock)
    logins.note(account(1, last_login=clock.now - LAST_LOGIN_INTERVAL + 1))
    await logins.close()
    assert store.written == []
    logins.note(account(1, last_login=clock.now - LAST_LOGIN_INTERVAL))
    await logins.close()
    assert store.written == [(1, clock.now)]


async def test_a_failed_write_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    store, clock = FakeStore(fail=True), Clock()
    logins = recorder(store, clock)
    logins.note(account(1))
    await logins.close()
    assert "last login of u1@a.test not recorded" in caplog.text
    store.fail = False
    logins.note(account(1))  # within the interval: not retried at once
    clock.now += LAST_LOGIN_INTERVAL
    logins.note(account(1))
    await logins.close()
    assert store.written == [(1, clock.now)]


async def test_the_tracked_accounts_are_bounded() -> None:
    store, clock = FakeStore(), Clock()
    logins = recorder(store, clock, max_tracked=3)
    for n in range(1, 6):
        logins.note(account(n))
    assert len(logins._written) == 3
    logins.note(account(1))  # forgotten: written once more
    await logins.close()
    assert [w[0] for w in store.written] == [1, 2, 3, 4, 5, 1]


async def test_authenticate_records_the_last_login(tmp_path: Path) -> None:
    app = App(from_dict({"data_dir": str(tmp_path), "hostname": "mail.example.test"}))
    await app.open()
    try:
        await app.admin.add_domain(CLI, "a.test")
        password = generate_password()
        await app.admin.create_mailbox(CLI, "alice@a.test", password)
        assert await app.accounts.authenticate("alice@a.test", "wrong-password") is None
        await app.accounts.last_logins.close()
        assert (await app.admin.get_mailbox(CLI, "alice@a.test")).last_login is None
        for source in (None, "192.0.2.1"):  # the CLI's path and the throttled one
            assert await app.accounts.authenticate("alice@a.test", password,
                                                   source=source) is not None
        await app.accounts.last_logins.close()
        seen = (await app.admin.get_mailbox(CLI, "alice@a.test")).last_login
        assert seen is not None and seen > 1_700_000_000
    finally:
        await app.close()
