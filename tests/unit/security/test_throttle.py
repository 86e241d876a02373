"""security.throttle on a real SQLite store with a fake clock and a recording sleep."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.security.throttle import (
    KNOWN_SOURCE_REFRESH,
    KNOWN_SOURCE_SECONDS,
    Banned,
    LoginThrottle,
    Policy,
    ban_key,
    known_key,
)
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
    await throttle.succeeded(ANNA, "198.51.100.7")  # the owner's usual address
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


class CountingStore:
    """The store, with its known-source reads and writes counted."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.reads = 0
        self.writes = 0

    async def known_source(self, pair: str, now: float) -> float | None:
        self.reads += 1
        return await self.store.known_source(pair, now)

    async def remember_known_source(self, pair: str, until: float) -> None:
        self.writes += 1
        await self.store.remember_known_source(pair, until)


def counted(store: SqliteStore, clock: Clock | None = None) -> tuple[LoginThrottle, CountingStore]:
    counting = CountingStore(store)
    throttle = LoginThrottle(counting, policy(), clock=clock or Clock())  # type: ignore[arg-type]
    return throttle, counting


async def test_a_known_source_is_known_to_every_process_through_the_store(
        store: SqliteStore) -> None:
    clock = Clock()
    first, _ = counted(store, clock)
    other, counting = counted(store, clock)  # another worker process: an empty cache
    assert not await other.known(ANNA, "2001:db8:1:2::5")
    await first.succeeded(ANNA, "2001:db8:1:2::5")
    # the same /64, for the same account only
    assert await other.known(ANNA, "2001:db8:1:2::99")
    assert not await other.known("bob@example.test", "2001:db8:1:2::5")
    assert not await other.known(ANNA, "2001:db8:1:3::5")
    reads = counting.reads
    assert await other.known(ANNA, "2001:db8:1:2::5")  # now cached: no store read
    assert counting.reads == reads
    clock.now += KNOWN_SOURCE_SECONDS + 1  # expired everywhere
    assert not await other.known(ANNA, "2001:db8:1:2::5")
    assert not await first.known(ANNA, "2001:db8:1:2::5")


async def test_a_burst_of_logins_writes_the_known_source_once_a_day(store: SqliteStore) -> None:
    clock = Clock()
    throttle, counting = counted(store, clock)
    await asyncio.gather(*(throttle.succeeded(ANNA, "192.0.2.9") for _ in range(20)))
    assert counting.writes == 1
    clock.now += KNOWN_SOURCE_REFRESH / 2
    await throttle.succeeded(ANNA, "192.0.2.9")
    assert counting.writes == 1
    clock.now += KNOWN_SOURCE_REFRESH  # the record is extended, once
    await throttle.succeeded(ANNA, "192.0.2.9")
    await throttle.succeeded(ANNA, "192.0.2.9")
    assert counting.writes == 2
    assert await store.known_source(known_key(ANNA, "192.0.2.9"), clock.now) == (
        clock.now + KNOWN_SOURCE_SECONDS)
    # a source known from the store is not written again by the process that read it
    other, other_counting = counted(store, clock)
    assert await other.known(ANNA, "192.0.2.9")
    await other.succeeded(ANNA, "192.0.2.9")
    assert other_counting.writes == 0


async def test_the_store_keeps_a_digest_of_the_pair_not_the_address(store: SqliteStore) -> None:
    throttle, clock, _ = make(store)
    await throttle.succeeded(ANNA, "192.0.2.77")
    rows = store._db.execute("SELECT pair, until FROM known_sources").fetchall()
    assert rows == [(known_key(ANNA, "192.0.2.77"), clock.now + KNOWN_SOURCE_SECONDS)]
    assert len(rows[0][0]) == 64 and "192.0.2" not in rows[0][0]
    assert known_key(ANNA, "192.0.2.77") != known_key(ANNA, "192.0.2.78")
    assert known_key(ANNA, "2001:db8::1") == known_key(ANNA, "2001:db8::2")  # one /64


async def test_expired_known_sources_are_removed(store: SqliteStore) -> None:
    throttle, clock, _ = make(store)
    await throttle.succeeded(ANNA, "192.0.2.1")
    clock.now += 10
    await throttle.succeeded(ANNA, "192.0.2.2")
    assert await throttle.expire_known() == 0
    clock.now += KNOWN_SOURCE_SECONDS - 5  # the first has ended, the second not
    assert await throttle.expire_known() == 1
    assert await throttle.known(ANNA, "192.0.2.2")
    assert not await throttle.known(ANNA, "192.0.2.1")
