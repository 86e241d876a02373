"""Outbound mail end to end through a real `postbus serve`: submitted with
Python's smtplib over implicit TLS, delivered by the queue to a fake remote MX
on loopback (static DNS points remote.test at it), DKIM-signed (dkimpy
verifies against the key `postbus domain add` made), 550 bounced into the
sender's Inbox, and a message queued before a kill -9 delivered after restart."""

from __future__ import annotations

import email
import email.policy
import smtplib
import ssl
import time
from pathlib import Path

import dkim as dkimpy

from tests.support.fake_mx import ThreadedFakeMX
from tests.support.mailstore import DOMAIN, PASSWORD, inbox, mail_config
from tests.support.server import postbus, running_server

ANNA = f"anna@{DOMAIN}"


def config_for(tmp_path: Path, port: int) -> Path:
    return mail_config(tmp_path, {
        "dns": {"static": {"MX remote.test": ["10 mx.remote.test"], "A mx.remote.test": ["127.0.0.1"]},
                "mx_port": port},
        "queue": {"first_retry": 1, "max_retry_interval": 1},
    })


def submit(port: int, recipients: list[str], subject: str) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    body = (f"From: Anna <{ANNA}>\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@{DOMAIN}>\r\n\r\nHello from Postbus.\r\n")
    with smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=30) as client:
        client.login(ANNA, PASSWORD)
        client.sendmail(ANNA, recipients, body.encode())


def dkim_record(config: Path) -> bytes:
    out = postbus(config, "domain", "dns", DOMAIN).stdout
    [line] = [ln for ln in out.splitlines() if "._domainkey." in ln]
    return line.split(" IN TXT ", 1)[1].strip().strip('"').encode()


def wait_until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_submission_reaches_the_remote_mx_signed_and_bounces_come_home(tmp_path: Path) -> None:
    fake = ThreadedFakeMX()
    with fake as mx:
        mx.rcpt_replies = {"nobody@remote.test": "550 5.1.1 <nobody@remote.test>: no such user"}
        config = config_for(tmp_path, mx.port)
        with running_server(config) as server:
            submit(server.port("submissions"), ["bob@remote.test", "nobody@remote.test"], "e2e-1")
            [tx] = fake.wait_for(1)
            wait_until(lambda: any(b"report-type=delivery-status" in m for m in inbox(config, ANNA)))
        assert tx.recipients == ["bob@remote.test"]
        assert tx.mail_from == ANNA
        record = dkim_record(config)
        assert dkimpy.verify(tx.data, dnsfunc=lambda name, timeout=5: record)
        [report] = [m for m in inbox(config, ANNA) if b"report-type=delivery-status" in m]
        msg = email.message_from_bytes(report, policy=email.policy.default)
        per_recipient = list(msg.iter_parts())[1].get_payload()[1]  # type: ignore[attr-defined]
        assert per_recipient["Final-Recipient"] == "rfc822; nobody@remote.test"
        assert (per_recipient["Action"], per_recipient["Status"]) == ("failed", "5.1.1")


def test_queued_mail_survives_kill_9(tmp_path: Path) -> None:
    fake = ThreadedFakeMX()
    with fake as mx:
        mx.data_replies = ["451 4.3.0 try later"] * 1000
        config = config_for(tmp_path, mx.port)
        with running_server(config) as server:
            submit(server.port("submissions"), ["bob@remote.test"], "e2e-2")
            wait_until(lambda: mx.connections >= 2)  # refused and retried at least once
            server.proc.kill()
            server.proc.wait(10)
        mx.data_replies = []
        with running_server(config):
            [tx] = fake.wait_for(1)
        assert tx.recipients == ["bob@remote.test"]
        assert b"Subject: e2e-2" in tx.data
