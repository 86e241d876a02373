"""Vacation replies through a real server: one reply per sender and interval,
sent from the null sender, never to automatic mail."""

from __future__ import annotations

import smtplib
import ssl
import time
from pathlib import Path

from tests.support.mailstore import DOMAIN, PASSWORD, inbox, mail_config, queue
from tests.support.server import postbus, running_server

ANNA, BOB = f"anna@{DOMAIN}", f"bob@{DOMAIN}"


def _send(port: int, subject: str, extra: str = "") -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = (f"From: {BOB}\r\nTo: {ANNA}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@x>\r\n"
           f"{extra}\r\nhello\r\n")
    with smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=30) as smtp:
        smtp.login(BOB, PASSWORD)
        smtp.sendmail(BOB, [ANNA], raw.encode())


def _replies(config: Path) -> list[bytes]:
    return [m for m in inbox(config, BOB) if b"Auto-Submitted: auto-replied" in m]


def _wait_for(config: Path, count: int) -> list[bytes]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = _replies(config)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    return _replies(config)


def test_vacation_replies_once_per_sender(tmp_path: Path) -> None:
    config = mail_config(tmp_path)
    body = tmp_path / "away.txt"
    body.write_text("I am away until Monday.\n")
    postbus(config, "vacation", "set", ANNA, "--subject", "Away", "--body-file", str(body))
    with running_server(config) as server:
        port = server.port("submissions")
        _send(port, "first")
        (reply,) = _wait_for(config, 1)
        assert b"Subject: Away" in reply and b"In-Reply-To: <first@x>" in reply
        assert b"Return-Path: <>" in reply
        assert b"I am away until Monday." in reply
        _send(port, "second")
        _send(port, "automatic", "Auto-Submitted: auto-generated\r\n")
        time.sleep(1.0)
        assert len(_replies(config)) == 1
        assert len(inbox(config, ANNA)) == 3  # every message was delivered


def test_vacation_rfc3834_through_the_mx_and_the_queue(tmp_path: Path) -> None:
    """A remote sender gets one reply, through the outbound queue, from the null
    sender; the same sender again, list mail, automatic mail, a noreply sender
    and mail that does not name the mailbox get none. Mail to an alias of the
    mailbox counts as addressed to it."""
    import email
    import email.policy

    from tests.support.fake_mx import ThreadedFakeMX

    fake = ThreadedFakeMX()
    with fake as mx:
        config = mail_config(tmp_path, {
            "dns": {"static": {"MX remote.test": ["10 mx.remote.test"],
                               "A mx.remote.test": ["127.0.0.1"]}, "mx_port": mx.port},
            "queue": {"first_retry": 1, "max_retry_interval": 1},
        }, hostname="mail.example.test")
        body = tmp_path / "away.txt"
        body.write_text("Back on Monday.\n{{ config }} is not a template.\n")
        postbus(config, "vacation", "set", ANNA, "--body-file", str(body))

        def mx_send(sender: str, subject: str, extra: str = "", to: str = ANNA) -> None:
            raw = (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
                   f"Message-ID: <{subject}@remote.test>\r\nReferences: <older@remote.test>\r\n"
                   f"{extra}\r\nhello\r\n")
            with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=30) as smtp:
                smtp.sendmail(sender, [ANNA], raw.encode())

        with running_server(config) as server:
            mx_send("carol@remote.test", "first")
            [tx] = fake.wait_for(1)
            mx_send("carol@remote.test", "again")
            mx_send("dave@remote.test", "list", "List-Id: <team.remote.test>\r\n")
            mx_send("dave@remote.test", "bulk", "Precedence: bulk\r\n")
            mx_send("dave@remote.test", "auto", "Auto-Submitted: auto-generated\r\n")
            mx_send("noreply@remote.test", "noreply")
            mx_send("dave@remote.test", "bcc", to="someone@remote.test")
            mx_send("erin@remote.test", "via-alias", to=f"Info <info@{DOMAIN}>")
            # The last reply is the barrier: the decisions on the earlier messages
            # (a few store reads each, started earlier) were made before it was sent.
            [_, tx2] = fake.wait_for(2)
            deadline = time.monotonic() + 10
            while queue(config) and time.monotonic() < deadline:
                time.sleep(0.1)  # the queue records erin's delivery just after the DATA reply
            assert len(mx.received) == 2 and queue(config) == []
            assert len(inbox(config, ANNA)) == 8  # every message was delivered
        assert (tx.mail_from, tx.recipients) == ("", ["carol@remote.test"])  # RFC 3834 §3.3
        assert tx2.recipients == ["erin@remote.test"]
        reply = email.message_from_bytes(tx.data, policy=email.policy.default)
        assert reply["Auto-Submitted"] == "auto-replied"
        assert reply["In-Reply-To"] == "<first@remote.test>"
        assert reply["References"] == "<older@remote.test> <first@remote.test>"
        assert reply["Subject"] == "Auto: first"
        assert reply["From"] == ANNA and reply["To"] == "carol@remote.test"
        text = reply.get_content().replace("\r\n", "\n")
        assert text == "Back on Monday.\n{{ config }} is not a template.\n"
