"""RFC 3834 auto-replies: when not to answer, and what the answer looks like."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from postbus.delivery.rules import Rules, Vacation
from postbus.delivery.vacation import build_reply, must_not_reply
from postbus.message import parse
from postbus.store.sqlite.backend import SqliteStore

BASE = (b"From: Bob <bob@remote.test>\r\nTo: Anna <anna@example.test>\r\n"
        b"Subject: lunch?\r\nMessage-ID: <m1@remote.test>\r\n")


def _check(extra: bytes, sender: str = "bob@remote.test", rcpt: str = "anna@example.test") -> str | None:
    raw = BASE + extra + b"\r\nhi\r\n"
    meta = parse(raw)
    return must_not_reply(raw[: meta.header_end], sender, rcpt, meta)


@pytest.mark.parametrize(("extra", "sender", "reason"), [
    (b"", "", "null sender"),
    (b"", "MAILER-DAEMON@remote.test", "system sender"),
    (b"", "owner-list@remote.test", "system sender"),
    (b"", "list-request@remote.test", "system sender"),
    (b"Auto-Submitted: auto-replied\r\n", "bob@remote.test", "automatic message"),
    (b"Precedence: bulk\r\n", "bob@remote.test", "bulk or list message"),
    (b"List-Id: <x.remote.test>\r\n", "bob@remote.test", "list message"),
])
def test_must_not_reply(extra: bytes, sender: str, reason: str) -> None:
    assert _check(extra, sender) == reason


def test_reply_allowed_and_to_named_recipient_only() -> None:
    assert _check(b"Auto-Submitted: no\r\n") is None
    assert _check(b"", rcpt="other@example.test") == "mailbox not named in To or Cc"


def test_reply_headers() -> None:
    raw = BASE + b"References: <m0@remote.test>\r\n\r\nhi\r\n"
    meta = parse(raw)
    out = build_reply(mailbox="anna@example.test", to="bob@remote.test", subject="Afwezig — été",
                      body="Back on Monday.\n", meta=meta, hostname="mail.example.test", now=0)
    msg = email.message_from_bytes(out, policy=email.policy.default)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["In-Reply-To"] == "<m1@remote.test>"
    assert msg["References"] == "<m0@remote.test> <m1@remote.test>"
    assert msg["Subject"] == "Afwezig — été"
    assert msg.get_content().rstrip("\r\n") == "Back on Monday."
    assert b"\r\n\r\nBack on Monday.\r\n" in out


async def test_rules_interval_and_validation(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    await store.open()
    try:
        await store.add_domain("example.test")
        await store.add_account("anna@example.test", "h", quota_bytes=0)
        rules = Rules(store)
        with pytest.raises(ValueError):
            await rules.set_vacation("anna@example.test", Vacation(subject="", body="x"))
        with pytest.raises(ValueError):
            await rules.set_vacation("anna@example.test", Vacation(subject="s", body="x", start=10, end=5))
        await rules.set_vacation("anna@example.test", Vacation(subject="Away", body="x", start=100, end=200))
        v = await rules.vacation("anna@example.test")
        assert v is not None and v.active(150) and not v.active(250) and not v.active(50)
        assert await rules.vacation_due("anna@example.test", "bob@remote.test", 1000.0, 7)
        assert not await rules.vacation_due("anna@example.test", "bob@remote.test", 1000.0 + 86400, 7)
        assert await rules.vacation_due("anna@example.test", "bob@remote.test", 1000.0 + 8 * 86400, 7)
        await rules.clear_vacation("anna@example.test")
        assert await rules.vacation("anna@example.test") is None
    finally:
        await store.close()
