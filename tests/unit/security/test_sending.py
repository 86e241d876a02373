"""security.sending on a real SQLite store with a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus import config
from postbus.security.sending import SendingLimits, SendingRefused
from postbus.store.sqlite.backend import SqliteStore

ANNA = "anna@example.test"
HOUR_START = 1_800_000_000.0 - 1_800_000_000 % 86400  # midnight UTC


class Clock:
    def __init__(self) -> None:
        self.now = HOUR_START + 60

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path)
    await s.open()
    yield s
    await s.close()


def limits(store: SqliteStore, **security: object) -> tuple[SendingLimits, Clock]:
    settings = config.from_dict({"hostname": "mail.example.test", "security": {
        "mailbox_messages_per_hour": 3, "mailbox_messages_per_day": 5,
        "mailbox_recipients_per_hour": 10, "block_after": 4, **security}})
    clock = Clock()
    return SendingLimits(store, settings, clock=clock), clock


async def test_limits_refuse_with_one_notice_per_window_then_block(store: SqliteStore) -> None:
    sending, clock = limits(store)
    for _ in range(3):
        await sending.take(ANNA, 2)
    with pytest.raises(SendingRefused) as first:
        await sending.take(ANNA, 1)
    assert first.value.enhanced == "4.7.1"
    assert "per hour (3 messages, 10 recipients)" in first.value.text
    assert "try again after" in first.value.text and "01:00 UTC" in first.value.text
    assert [n.subject for n in first.value.notices] == [
        "Sending limit reached by the mailbox anna@example.test"]
    # refused again at MAIL FROM, without a second notice
    with pytest.raises(SendingRefused) as again:
        await sending.check(ANNA)
    assert again.value.notices == ()
    with pytest.raises(SendingRefused):
        await sending.take(ANNA, 1)
    # the fourth refusal blocks, and says so once
    with pytest.raises(SendingRefused) as blocking:
        await sending.check(ANNA)
    assert [n.subject for n in blocking.value.notices] == [
        "Mailbox anna@example.test blocked from sending"]
    clock.now += 3600  # a new hour: still blocked
    with pytest.raises(SendingRefused) as blocked:
        await sending.check(ANNA)
    assert blocked.value.enhanced == "5.7.1" and blocked.value.notices == ()
    assert [b.address for b in await sending.blocked()] == [ANNA]
    assert await sending.unblock(ANNA) is True
    await sending.check(ANNA)
    await sending.take(ANNA, 1)  # the new hour's first message (4 of 5 today)


async def test_recipients_count_and_other_mailboxes_are_not_affected(store: SqliteStore) -> None:
    sending, _ = limits(store)
    await sending.take(ANNA, 9)
    with pytest.raises(SendingRefused):
        await sending.take(ANNA, 2)  # 11 recipients this hour
    await sending.take(ANNA, 1)
    await sending.take("bob@example.test", 10)


async def test_the_domain_limit_holds_across_its_mailboxes(store: SqliteStore) -> None:
    sending, _ = limits(store, domain_messages_per_hour=4)
    for n in range(4):
        await sending.take(f"user{n}@example.test", 1)
    with pytest.raises(SendingRefused) as refused:
        await sending.take("user9@example.test", 1)
    assert "the domain example.test per hour" in refused.value.text
    await sending.take("someone@other.test", 1)


async def test_notices_go_to_admins_with_addresses_and_notify(store: SqliteStore) -> None:
    sending, _ = limits(store)
    assert await sending.notice_recipients("example.test") == ["postmaster@example.test"]
    await store.add_domain("example.test")
    await store.add_admin("root", "h", operator=True, domains=[])
    await store.add_admin("ops@hoster.test", "h", operator=True, domains=[])
    await store.add_admin("web@example.test", "h", operator=False, domains=["example.test"])
    sending, _ = limits(store, notify=["noc@hoster.test"])
    assert sorted(await sending.notice_recipients("example.test")) == [
        "noc@hoster.test", "ops@hoster.test", "postmaster@example.test", "web@example.test"]
    assert await sending.notice_recipients("other.test") == [
        "postmaster@other.test", "noc@hoster.test", "ops@hoster.test"]
    notice = (await sending._refused(ANNA, sending.limits_for(ANNA)[0]))[0]
    raw = sending.notice_message(notice, ["ops@hoster.test"])
    assert b"\r\nAuto-Submitted: auto-generated\r\n" in raw
    assert b"Subject: Sending limit reached by the mailbox anna@example.test\r\n" in raw
