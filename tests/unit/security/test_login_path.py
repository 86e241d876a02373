"""The one login path, Accounts.authenticate(source=...) and authenticate_admin, throttled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus import config
from postbus.accounts.authcache import AuthCache
from postbus.app import App
from postbus.security.throttle import Banned, LoginThrottle

PASSWORD = "Tq7#mZ2v!pLx"
ANNA = "anna@example.test"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = config.from_dict({"data_dir": str(tmp_path), "security": {
        "auth_failure_delay": 0, "ban_after": 3, "account_delay": 0}})
    app = App(settings)
    await app.open()
    await app.accounts.add_domain("example.test")
    await app.accounts.add_user(ANNA, PASSWORD)
    await app.accounts.add_admin("root", PASSWORD, operator=True)
    yield app
    await app.close()


async def test_mailbox_logins_ban_the_source_not_the_account(app: App) -> None:
    accounts = app.accounts
    assert await accounts.authenticate(ANNA, "wrong1", source="192.0.2.1") is None
    assert await accounts.authenticate("nobody@example.test", "x", source="192.0.2.1") is None
    with pytest.raises(Banned):
        await accounts.authenticate("not an address", "x", source="192.0.2.1")
    with pytest.raises(Banned):  # the right password too, from there
        await accounts.authenticate(ANNA, PASSWORD, source="192.0.2.1")
    assert (await accounts.authenticate(ANNA, PASSWORD, source="192.0.2.2")) is not None
    assert await app.throttle.known(ANNA, "192.0.2.2")
    # without a source (the CLI) nothing is throttled
    assert (await accounts.authenticate(ANNA, PASSWORD)) is not None


async def test_admin_logins_share_the_bans(app: App) -> None:
    accounts = app.accounts
    assert await accounts.authenticate_admin("root", "wrong", source="192.0.2.3") is None
    assert await accounts.authenticate_admin("root", "wrong", source="192.0.2.3") is None  # a retry
    assert await accounts.authenticate_admin("ghost", "x", source="192.0.2.3") is None
    with pytest.raises(Banned):
        await accounts.authenticate_admin("root", "wrong again", source="192.0.2.3")
    with pytest.raises(Banned):
        await accounts.authenticate(ANNA, PASSWORD, source="192.0.2.3")
    assert (await accounts.authenticate_admin("root", PASSWORD, source="192.0.2.4")) is not None


async def test_a_login_on_another_worker_is_served_first(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """A source made known by one worker process is known to the next one (the
    store), whose verification then skips the queue of the guesses."""
    priorities: list[bool] = []
    verify = app.accounts.verifier.verify

    async def spy(hash: str, pw: str, *, source: str | None = None,
                  priority: bool = False) -> bool:
        priorities.append(priority)
        return await verify(hash, pw, source=source, priority=priority)

    monkeypatch.setattr(app.accounts.verifier, "verify", spy)
    assert await app.accounts.authenticate(ANNA, PASSWORD, source="192.0.2.5") is not None
    assert await app.accounts.authenticate_admin("root", PASSWORD, source="192.0.2.5") is not None
    assert priorities == [False, False]
    # the other worker: its own throttle (an empty cache) and auth cache, the same store
    app.accounts.throttle = LoginThrottle(app.store, app.throttle.policy)
    app.accounts.cache = AuthCache()
    assert await app.accounts.authenticate(ANNA, PASSWORD, source="192.0.2.5") is not None
    assert await app.accounts.authenticate_admin("root", PASSWORD, source="192.0.2.5") is not None
    app.accounts.cache = AuthCache()
    assert await app.accounts.authenticate(ANNA, PASSWORD, source="192.0.2.6") is not None
    assert priorities == [False, False, True, True, False]


def test_security_settings_are_checked() -> None:
    with pytest.raises(config.ConfigError, match=r"security\.ban_after: cannot be negative"):
        config.from_dict({"security": {"ban_after": -1}})
    with pytest.raises(config.ConfigError, match=r"security\.trusted_networks: 'x' is not a network"):
        config.from_dict({"security": {"trusted_networks": ["x"]}})
    with pytest.raises(config.ConfigError, match=r"security\.ban_duration"):
        config.from_dict({"security": {"ban_duration": "forever"}})
    assert config.from_dict({"security": {"trusted_networks": ["10.0.0.0/8", "::1"]}})
