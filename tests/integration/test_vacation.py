"""Vacation replies through a real server: one reply per sender and interval,
sent from the null sender, never to automatic mail."""

from __future__ import annotations

import smtplib
import ssl
import time
from pathlib import Path

from tests.support.mailstore import DOMAIN, PASSWORD, inbox, mail_config
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
