"""Failure counters, bans, known login sources, sending counters and sending blocks
through the contract."""

from __future__ import annotations

from postbus.store.contract import Store
from postbus.store.security import SendLimit

NOW = 1_800_000_000.0  # a whole hour and day (aligned windows start here)


async def test_failure_counters_count_within_their_window(store: Store) -> None:
    assert await store.count_events(["src:a", "acct:x"], 600, NOW) == [1, 1]
    assert await store.count_events(["src:a"], 600, NOW + 10) == [2]
    assert await store.count_events(["src:a", "acct:x"], 600, NOW + 599) == [3, 2]
    # the window started with the first event: at its end the count starts again
    assert await store.count_events(["src:a"], 600, NOW + 601) == [1]
    await store.clear_events(["acct:x"])
    assert await store.count_events(["acct:x"], 600, NOW + 602) == [1]


async def test_bans_hold_until_their_end_and_can_be_lifted(store: Store) -> None:
    ban = await store.add_ban("192.0.2.7", NOW + 60, "10 failed logins", NOW)
    assert ban.address == "192.0.2.7" and ban.until == NOW + 60
    assert await store.get_ban("192.0.2.7", NOW + 59) == ban
    assert await store.get_ban("192.0.2.7", NOW + 60) is None
    assert await store.get_ban("192.0.2.8", NOW) is None
    await store.add_ban("2001:db8::/64", NOW + 120, "manual", NOW)
    assert [b.address for b in await store.list_bans(NOW)] == ["192.0.2.7", "2001:db8::/64"]
    assert [b.address for b in await store.list_bans(NOW + 61)] == ["2001:db8::/64"]
    # a new ban replaces the old one
    await store.add_ban("192.0.2.7", NOW + 600, "again", NOW + 1)
    assert (await store.get_ban("192.0.2.7", NOW + 300)) is not None
    assert await store.remove_ban("192.0.2.7") is True
    assert await store.remove_ban("192.0.2.7") is False
    assert await store.get_ban("192.0.2.7", NOW) is None


async def test_sending_is_counted_in_every_window_or_in_none(store: Store) -> None:
    hour = SendLimit("mailbox:a@example.test", 3600, 3, 5)
    day = SendLimit("mailbox:a@example.test", 86400, 10, 0)
    domain = SendLimit("domain:example.test", 3600, 100, 100)
    limits = [hour, day, domain]
    assert await store.take_sending(limits, 2, NOW) is None
    assert await store.take_sending(limits, 2, NOW + 1) is None
    # 2 more recipients would make 6 > 5 this hour: refused, and nothing counted
    assert await store.take_sending(limits, 2, NOW + 2) == hour
    assert await store.take_sending(limits, 1, NOW + 3) is None  # 3 messages, 5 recipients
    assert await store.take_sending(limits, 0, NOW + 4) == hour  # a 4th message
    # the next hour starts again; the day counts on
    assert await store.take_sending(limits, 5, NOW + 3600) is None
    for i in range(6):
        assert await store.take_sending([day], 0, NOW + 3601 + i) is None
    assert await store.take_sending([day], 0, NOW + 3700) == day  # 10 messages today
    assert await store.take_sending([day], 0, NOW + 86400) is None  # tomorrow


async def test_sending_blocks(store: Store) -> None:
    assert await store.get_sending_block("a@example.test") is None
    assert await store.block_sending("a@example.test", "over the limit 20 times", NOW) is True
    # the first block stays
    assert await store.block_sending("a@example.test", "again", NOW + 1) is False
    block = await store.get_sending_block("a@example.test")
    assert block is not None and block.reason == "over the limit 20 times" and block.since == NOW
    assert [b.address for b in await store.list_sending_blocks()] == ["a@example.test"]
    assert await store.unblock_sending("a@example.test") is True
    assert await store.unblock_sending("a@example.test") is False
    assert await store.list_sending_blocks() == []


async def test_known_sources_hold_until_their_end_and_expire(store: Store) -> None:
    pair, other = "a" * 64, "b" * 64
    assert await store.known_source(pair, NOW) is None
    await store.remember_known_source(pair, NOW + 60)
    await store.remember_known_source(other, NOW + 30)
    assert await store.known_source(pair, NOW + 59) == NOW + 60
    assert await store.known_source(pair, NOW + 60) is None
    # a later success moves the end
    await store.remember_known_source(pair, NOW + 120)
    assert await store.known_source(pair, NOW + 60) == NOW + 120
    assert await store.expire_known_sources(NOW + 29) == 0
    assert await store.expire_known_sources(NOW + 30) == 1  # `other` ended
    assert await store.known_source(other, NOW) is None  # removed, not merely ended
    assert await store.known_source(pair, NOW + 100) == NOW + 120
    assert await store.expire_known_sources(NOW + 200) == 1
    assert await store.expire_known_sources(NOW + 200) == 0
