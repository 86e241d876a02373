"""RFC 3834 auto-replies: when not to answer, and what the answer looks like."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from postbus.delivery.rules import Rules, Vacation
from postbus.delivery.vacation import (
    addressed_to,
    build_reply,
    must_not_reply,
    named_recipients,
    reply_subject,
)
from postbus.message import parse
from postbus.store.sqlite.backend import SqliteStore

BASE = (b"From: Bob <bob@remote.test>\r\nTo: Anna <anna@example.test>\r\n"
        b"Subject: lunch?\r\nMessage-ID: <m1@remote.test>\r\n")


def _check(extra: bytes, sender: str = "bob@remote.test", rcpt: str = "anna@example.test") -> str | None:
    raw = BASE + extra + b"\r\nhi\r\n"
    meta = parse(raw)
    header = raw[: meta.header_end]
    addressed = rcpt.lower() in named_recipients(header, meta)
    return must_not_reply(header, sender, rcpt, addressed=addressed)


@pytest.mark.parametrize(("extra", "sender", "reason"), [
    (b"", "", "null sender"),
    (b"", "MAILER-DAEMON@remote.test", "system sender"),
    (b"", "owner-list@remote.test", "system sender"),
    (b"", "list-request@remote.test", "system sender"),
    (b"", "noreply@remote.test", "system sender"),
    (b"", "No-Reply@remote.test", "system sender"),
    (b"", "do-not-reply@remote.test", "system sender"),
    (b"", "anna@example.test", "own message"),
    (b"Auto-Submitted: auto-replied\r\n", "bob@remote.test", "automatic message"),
    (b"Auto-Submitted: auto-generated; owner-email=x@y\r\n", "bob@remote.test", "automatic message"),
    (b"X-Auto-Response-Suppress: DR, OOF\r\n", "bob@remote.test", "automatic message"),
    (b"Precedence: bulk\r\n", "bob@remote.test", "bulk or list message"),
    (b"Precedence: junk\r\n", "bob@remote.test", "bulk or list message"),
    (b"List-Id: <x.remote.test>\r\n", "bob@remote.test", "list message"),
    (b"List-Unsubscribe: <mailto:u@remote.test>\r\n", "bob@remote.test", "list message"),
    (b"list-archive: <https://remote.test/>\r\n", "bob@remote.test", "list message"),
])
def test_must_not_reply(extra: bytes, sender: str, reason: str) -> None:
    assert _check(extra, sender) == reason


def test_reply_allowed_and_to_named_recipient_only() -> None:
    assert _check(b"Auto-Submitted: no\r\n") is None
    assert _check(b"Precedence: first-class\r\n") is None
    assert _check(b"", rcpt="other@example.test") == "mailbox not named in To or Cc"


async def test_addressed_through_an_alias_or_plus_address() -> None:
    raw = (b"From: bob@remote.test\r\nTo: Info <INFO@example.test>\r\nCc: x@remote.test\r\n"
           b"Resent-To: team@example.test\r\n\r\nhi\r\n")
    meta = parse(raw)
    named = named_recipients(raw[: meta.header_end], meta)
    assert named == ["info@example.test", "x@remote.test", "team@example.test"]
    aliases = {"info@example.test": ("anna@example.test",), "team@example.test": ("bob@example.test",)}

    async def targets(address: str) -> tuple[str, ...] | None:
        return aliases.get(address)

    assert await addressed_to("anna@example.test", named, targets)
    assert await addressed_to("bob@example.test", named, targets)  # Resent-To
    assert not await addressed_to("carl@example.test", named, targets)
    assert await addressed_to("carl@example.test", ["carl+away@example.test"], targets)
    assert not await addressed_to("carl@example.test", ["carl+away@example.test"], targets,
                                  recipient_delimiter="")


def test_default_subject_is_auto_and_the_original() -> None:
    meta = parse(b"Subject: =?utf-8?q?d=C3=A9jeuner?=\r\n ensemble\r\n\r\nhi\r\n")
    assert reply_subject("", meta) == "Auto: déjeuner ensemble"
    assert reply_subject("Out of office", meta) == "Out of office"


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


def test_reply_text_is_data_and_long_lines_are_encoded() -> None:
    meta = parse(BASE + b"\r\nhi\r\n")
    body = "{{ 7*7 }} {% for x in y %} ${HOME} %(name)s\n" + "x" * 2000 + "\n"
    out = build_reply(mailbox="anna@example.test", to="bob@remote.test", subject="",
                      body=body, meta=meta, hostname="mail.example.test", now=0)
    msg = email.message_from_bytes(out, policy=email.policy.default)
    assert msg["Subject"] == "Auto: lunch?"
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg.get_content().replace("\r\n", "\n") == body
    assert all(len(line) <= 998 for line in out.split(b"\r\n"))


async def test_rules_interval_and_validation(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    await store.open()
    try:
        await store.add_domain("example.test")
        await store.add_account("anna@example.test", "h", quota_bytes=0)
        rules = Rules(store)
        with pytest.raises(ValueError):
            await rules.set_vacation("anna@example.test", Vacation(subject="a\r\nBcc: x@y", body="x"))
        with pytest.raises(ValueError):
            await rules.set_vacation("anna@example.test", Vacation(subject="s", body="x" * 20000))
        with pytest.raises(ValueError):
            await rules.set_vacation("anna@example.test", Vacation(subject="s", body="x", interval_days=0))
        with pytest.raises(ValueError):
            await rules.set_vacation("anna@example.test", Vacation(subject="s", body="x", start=10, end=5))
        await rules.set_vacation("anna@example.test", Vacation(subject="Away", body="x", start=100, end=200))
        v = await rules.vacation("anna@example.test")
        assert v is not None and v.active(150) and not v.active(250) and not v.active(50)
        anna = await store.get_account("anna@example.test")
        assert anna is not None
        assert await rules.vacation_due(anna.id, "bob@remote.test", 1000.0, 7)
        assert not await rules.vacation_due(anna.id, "Bob@Remote.test", 1000.0 + 86400, 7)
        assert await rules.vacation_due(anna.id, "carl@remote.test", 1000.0 + 86400, 7)
        assert await rules.vacation_due(anna.id, "bob@remote.test", 1000.0 + 8 * 86400, 7)
        # setting the rule again answers everyone afresh
        await rules.set_vacation("anna@example.test", Vacation(subject="Away", body="x"))
        assert await rules.vacation_due(anna.id, "bob@remote.test", 1000.0 + 8 * 86400 + 1, 7)
        await rules.clear_vacation("anna@example.test")
        assert await rules.vacation("anna@example.test") is None
    finally:
        await store.close()
