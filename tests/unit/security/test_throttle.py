"""security.throttle on a real SQLite store with a fake clock and a recording sleep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.security.throttle import Banned, LoginThrottle, Policy, ban_key
from postbus.store.sqlite.backend import SqliteStore

ANNA = "anna@example.test"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def policy(**changes: object) -> Policy:
    values: dict[str, object] = dict(
        delay=1.0, max_delay=8.0, ban_after=5, window=600.0, ban_duration=3600.0,
        account_slow_after=3, account_delay=0.5, refresh=10.0, trusted=())
    values.update(changes)
    return Policy(**values)  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path)
    await s.open()
    yield s
    await s.close()


def make(store: SqliteStore, **changes: object) -> tuple[LoginThrottle, Clock, list[float]]:
    clock = Clock()
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    return LoginThrottle(store, policy(**changes), clock=clock, sleep=sleep), clock, slept


async def test_the_delay_doubles_per_account_and_source_up_to_the_cap(store: SqliteStore) -> None:
    throttle, _, slept = make(store, ban_after=0)
    for n in range(6):
        await throttle.failed("192.0.2.1", ANNA, f"guess{n}", "hash")
    assert slept == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    await throttle.failed("192.0.2.2", ANNA, "guess", "hash")  # another source starts again
    assert slept[-1] == 1.0


async def test_a_ban_after_the_limit_holds_in_the_store(store: SqliteStore) -> None:
    throttle, clock, _ = make(store)
    for n in range(4):
        await throttle.failed("192.0.2.1", ANNA, f"guess{n}", "hash")
    await throttle.check("192.0.2.1")  # not yet
    with pytest.raises(Banned) as banned:
        await throttle.failed("192.0.2.1", None, "guess4")
    assert banned.value.until == clock.now + 3600
    assert "try again after" in banned.value.text
    assert throttle.banned_until("192.0.2.1") == clock.now + 3600
    # another process sees it in the store
    other, other_clock, _ = make(store)
    other_clock.now = clock.now
    with pytest.raises(Banned):
        await other.check("192.0.2.1")
    await other.refresh()
    assert other.banned_until("192.0.2.1") == clock.now + 3600
    assert other.banned_until("192.0.2.9") is None
    clock.now += 3601
    await throttle.check("192.0.2.1")  # expired
    assert throttle.banned_until("192.0.2.1") is None


async def test_ipv6_is_counted_and_banned_by_its_64(store: SqliteStore) -> None:
    throttle, _, _ = make(store, ban_after=2)
    await throttle.failed("2001:db8:1:2::1", None, "a")
    with pytest.raises(Banned):
        await throttle.failed("2001:db8:1:2:ffff::9", None, "b")
    with pytest.raises(Banned):
        await throttle.check("2001:db8:1:2::77")
    await throttle.check("2001:db8:1:3::1")  # the next /64 is not banned
    assert ban_key("2001:db8:1:2::5") == "2001:db8:1:2::/64"
    assert ban_key("2001:db8:1:2::/64") == "2001:db8:1:2::/64"
    assert ban_key("::ffff:192.0.2.5") == "192.0.2.5"
    with pytest.raises(ValueError):
        ban_key("2001:db8::/48")
    with pytest.raises(ValueError):
        ban_key("not-an-address")


async def test_trusted_networks_are_never_banned_and_loopback_is_not_trusted(
        store: SqliteStore) -> None:
    import ipaddress

    throttle, _, _ = make(store, ban_after=2, trusted=(ipaddress.ip_network("10.0.0.0/8"),))
    for n in range(5):
        await throttle.failed("10.1.2.3", None, f"p{n}")
    await throttle.check("10.1.2.3")
    await throttle.failed("127.0.0.1", None, "a")
    with pytest.raises(Banned):
        await throttle.failed("127.0.0.1", None, "b")


async def test_the_same_wrong_password_counts_once(store: SqliteStore) -> None:
    throttle, _, _ = make(store, ban_after=2)
    assert not throttle.repeated("192.0.2.1", ANNA, "same", "hash")
    for _ in range(10):
        await throttle.failed("192.0.2.1", ANNA, "same", "hash")
    assert throttle.repeated("192.0.2.1", ANNA, "same", "hash")
    assert not throttle.repeated("192.0.2.1", ANNA, "same", "new hash")
    assert not throttle.repeated("192.0.2.2", ANNA, "same", "hash")
    await throttle.check("192.0.2.1")


async def test_an_account_under_attack_slows_only_unknown_sources_and_bans_nobody(
        store: SqliteStore) -> None:
    throttle, _, slept = make(store, delay=0.0)
    throttle.succeeded(ANNA, "198.51.100.7")  # the owner's usual address
    for n in range(6):  # one failure each from many addresses: no ban
        await throttle.failed(f"203.0.113.{n}", ANNA, f"guess{n}", "hash")
    for n in range(6):
        await throttle.check(f"203.0.113.{n}")
    slept.clear()
    await throttle.before_verify(ANNA, "198.51.100.7")
    assert slept == []
    await throttle.before_verify(ANNA, "192.0.2.200")
    assert slept == [0.5]
    await throttle.before_verify("bob@example.test", "192.0.2.200")
    assert slept == [0.5]
