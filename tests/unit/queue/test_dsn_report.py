"""RFC 3464 reports, parsed back with the standard library's email package."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from postbus.delivery.dsn import RecipientStatus, build_dsn, status_of

ORIGINAL = (b"From: alice@example.org\r\nTo: bob@remote.test\r\nSubject: caf\xc3\xa9\r\n"
            b"Message-ID: <m1@example.org>\r\n\r\nbody line\r\n")


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def report(**kw: object) -> bytes:
    args: dict[str, object] = dict(
        hostname="mail.example.org", sender="alice@example.org", original=ORIGINAL,
        recipients=[RecipientStatus("bob@remote.test", "failed", "5.1.1",
                                    "550 5.1.1 no such user", "mx.remote.test",
                                    "rfc822;bobby@remote.test")],
        arrival=1_700_000_000.0, now=1_700_000_100.0)
    args.update(kw)
    return build_dsn(**args)  # type: ignore[arg-type]


def test_failure_report_structure() -> None:
    raw = report(envid="E-1")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    msg = parse(raw)
    assert msg["To"] == "alice@example.org"
    assert msg["From"].addresses[0].addr_spec == "MAILER-DAEMON@mail.example.org"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    text, status, original = msg.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert "bob@remote.test" in text.get_content()
    assert status.get_content_type() == "message/delivery-status"
    per_message, per_recipient = status.get_payload()  # type: ignore[misc]
    assert per_message["Reporting-MTA"] == "dns; mail.example.org"
    assert per_message["Original-Envelope-Id"] == "E-1"
    assert per_message["Arrival-Date"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert per_recipient["Original-Recipient"] == "rfc822;bobby@remote.test"
    assert per_recipient["Final-Recipient"] == "rfc822; bob@remote.test"
    assert per_recipient["Action"] == "failed"
    assert per_recipient["Status"] == "5.1.1"
    assert per_recipient["Remote-MTA"] == "dns; mx.remote.test"
    assert per_recipient["Diagnostic-Code"] == "smtp; 550 5.1.1 no such user"
    assert "Will-Retry-Until" not in per_recipient
    assert original.get_content_type() == "message/rfc822"
    assert original["Content-Transfer-Encoding"] == "8bit"
    [inner] = original.get_payload()  # type: ignore[misc]
    assert inner["Message-ID"] == "<m1@example.org>"


def test_ret_hdrs_returns_only_the_header() -> None:
    msg = parse(report(ret="HDRS"))
    returned = list(msg.iter_parts())[2]
    assert returned.get_content_type() == "text/rfc822-headers"
    assert b"body line" not in msg.as_bytes()


def test_a_large_message_comes_back_as_headers_without_ret() -> None:
    big = ORIGINAL + b"x" * 300_000 + b"\r\n"
    assert list(parse(report(original=big)).iter_parts())[2].get_content_type() == "text/rfc822-headers"
    assert list(parse(report(original=big, ret="FULL")).iter_parts())[2].get_content_type() == "message/rfc822"


def test_delay_notice() -> None:
    raw = report(recipients=[RecipientStatus("bob@remote.test", "delayed", "4.2.1", "450 4.2.1 busy")],
                 retry_until=1_700_432_000.0)
    msg = parse(raw)
    assert msg["Subject"].startswith("Delayed Mail")
    _, status, returned = msg.iter_parts()
    per_recipient = status.get_payload()[1]  # type: ignore[index]
    assert per_recipient["Action"] == "delayed"
    assert per_recipient["Will-Retry-Until"] == "Sun, 19 Nov 2023 22:13:20 GMT"
    assert returned.get_content_type() == "text/rfc822-headers"


def test_remote_text_cannot_inject_fields() -> None:
    raw = report(recipients=[RecipientStatus("bob@remote.test", "failed", "5.0.0",
                                             "550 oops\r\nAction: delivered")])
    per_recipient = list(parse(raw).iter_parts())[1].get_payload()[1]  # type: ignore[index]
    assert per_recipient.get_all("Action") == ["failed"]


def test_status_of() -> None:
    assert status_of("550 5.1.1 no such user", permanent=True) == "5.1.1"
    assert status_of("451 4.7.1 greylisted", permanent=False) == "4.7.1"
    assert status_of("554 transaction failed", permanent=True) == "5.0.0"
    assert status_of("550 4.1.1 mismatched", permanent=True) == "5.0.0"
    assert status_of("connection refused", permanent=False) == "4.0.0"
