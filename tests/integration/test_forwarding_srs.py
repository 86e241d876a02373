"""Forwarding through a real `postbus serve`: mail from another domain reaches
the forward target (a fake MX on loopback) with an SRS envelope sender, its
original DKIM signature still verifies (dkimpy, the signer's key supplied
through dkimpy's dnsfunc), a kept copy is in the Inbox, a bounce to the SRS
address goes back to the original sender, a forged SRS address is refused at
RCPT, and a forwarding loop between two hosted mailboxes is refused instead
of going round."""

from __future__ import annotations

import smtplib
import time
from pathlib import Path

import dkim as dkimpy
import pytest

from postbus.mailauth.dkim import dns_txt_record, generate_key
from tests.support.fake_mx import ThreadedFakeMX
from tests.support.mailstore import DOMAIN, add_user, inbox, mail_config
from tests.support.server import postbus, running_server

ANNA = f"anna@{DOMAIN}"
HOSTNAME = "mail.example.test"
ALICE = "alice@sender.test"
SELECTOR = "s2026"


@pytest.fixture(scope="module")
def signer_key() -> str:
    return generate_key()


def signed_message(key: str, subject: str) -> bytes:
    raw = (f"From: Alice <{ALICE}>\r\nTo: {ANNA}\r\nSubject: {subject}\r\n"
           f"Date: Thu, 03 Dec 2026 15:00:00 +0000\r\nMessage-ID: <{subject}@sender.test>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "Hello Anna,\r\n\r\nthis is signed by sender.test.\r\n.leading dot line\r\n").encode()
    signature = dkimpy.sign(raw, SELECTOR.encode(), b"sender.test", key.encode(),
                            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return signature + raw


def config_for(tmp_path: Path, port: int) -> Path:
    return mail_config(tmp_path, {
        "dns": {"static": {"MX remote.test": ["10 mx.remote.test"],
                           "MX sender.test": ["10 mx.remote.test"],
                           "A mx.remote.test": ["127.0.0.1"]},
                "mx_port": port},
        "queue": {"first_retry": 1, "max_retry_interval": 1},
    }, hostname=HOSTNAME)


def wait_until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_forwarded_mail_gets_srs_keeps_dkim_and_bounces_come_back(tmp_path: Path, signer_key: str) -> None:
    fake = ThreadedFakeMX()
    with fake as mx:
        config = config_for(tmp_path, mx.port)
        postbus(config, "forward", "set", ANNA, "bob@remote.test", "--keep-copy")
        message = signed_message(signer_key, "fwd-1")
        with running_server(config) as server, \
                smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=30) as client:
            client.sendmail(ALICE, [ANNA], message)
            [tx] = fake.wait_for(1)
            assert tx.recipients == ["bob@remote.test"]
            srs_local, _, srs_domain = tx.mail_from.rpartition("@")
            assert srs_domain == HOSTNAME
            assert srs_local.startswith("SRS0=") and srs_local.endswith("=sender.test=alice")

            # A bounce from the target's side comes back to the SRS address...
            bounce = (f"From: MAILER-DAEMON@remote.test\r\nTo: {tx.mail_from}\r\n"
                      "Subject: Undelivered Mail\r\n\r\nbob is gone\r\n").encode()
            client.sendmail("", [tx.mail_from], bounce)
            [_, back] = fake.wait_for(2)
            # ...and goes on to the original sender, from the null sender.
            assert (back.mail_from, back.recipients) == ("", [ALICE])
            assert b"bob is gone" in back.data

            # A forged or damaged SRS address is refused at RCPT.
            tag, hash_, rest = srs_local.split("=", 2)
            forged = f"{tag}={'AAAA' if hash_.upper() != 'AAAA' else 'BBBB'}={rest}@{HOSTNAME}"
            client.rset()
            client.ehlo()
            client.mail("")
            code, text = client.rcpt(forged)
            assert code == 550 and b"SRS" in text
            code, _ = client.rcpt(f"SRS0=x=y@{HOSTNAME}")
            assert code == 550
            code, _ = client.rcpt(f"someone@{HOSTNAME}")  # not an SRS address: no relaying
            assert code == 550
            client.rset()

        # The target got the message exactly as signed, plus our trace fields on top.
        record = dns_txt_record(signer_key).encode()
        names: list[bytes] = []

        def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
            names.append(name)
            return record if name == f"{SELECTOR}._domainkey.sender.test.".encode() else b""

        assert dkimpy.verify(tx.data, dnsfunc=dnsfunc)
        assert names  # the signature was really looked at
        assert tx.data.endswith(message)
        # keep-copy: the mailbox has it too
        [kept] = inbox(config, ANNA)
        assert kept.endswith(message)


def test_a_forwarding_loop_between_two_mailboxes_terminates(tmp_path: Path) -> None:
    config = mail_config(tmp_path, hostname=HOSTNAME)
    carl, dora = f"carl@{DOMAIN}", f"dora@{DOMAIN}"
    add_user(config, carl)
    add_user(config, dora)
    postbus(config, "forward", "set", carl, dora)
    postbus(config, "forward", "set", dora, carl, "--keep-copy")
    with running_server(config) as server, \
            smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=30) as client:
        client.ehlo()
        client.mail(ALICE)
        code, text = client.rcpt(carl)
        assert (code, text[:5]) == (550, b"5.4.6")
        code, _ = client.rcpt(dora)
        assert code == 550
        code, _ = client.rcpt(ANNA)  # the session goes on
        assert code == 250
        client.data(b"Subject: after the loop\r\n\r\nhi\r\n")
    assert inbox(config, carl) == [] and inbox(config, dora) == []
    assert len(inbox(config, ANNA)) == 1
