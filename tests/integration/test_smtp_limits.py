"""Size and quota limits on the real server: 12 MB + 1 byte is refused with 552, 12 MB - 1 KB
is stored intact; a recipient over quota gets 452 4.2.2, never a silent drop."""

from __future__ import annotations

import hashlib
import smtplib
import uuid
from collections.abc import Iterator

import pytest

from tests.support.mailstore import DOMAIN, inbox, mail_config, set_quota, split_trace
from tests.support.server import ServerProcess, running_server

MAX = 12 * 1024 * 1024  # the default limits.max_message_size
ANNA, BOB = f"anna@{DOMAIN}", f"bob@{DOMAIN}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = mail_config(tmp_path_factory.mktemp("smtp-limits"))
    set_quota(config, BOB, "4KB")
    with running_server(config) as srv:
        yield srv


def message_of(size: int, tag: str) -> bytes:
    """A well-formed message of exactly `size` octets (CRLF lines of at most 78)."""
    head = f"From: sender@remote.test\r\nSubject: {tag}\r\n\r\n".encode()
    line = b"x" * 76 + b"\r\n"
    body_size = size - len(head)
    body = line * (body_size // len(line))
    rest = body_size - len(body)
    if rest:
        body = body[: len(body) - len(line)] + b"y" * (len(line) + rest - 2) + b"\r\n" \
            if rest < 2 else body + b"z" * (rest - 2) + b"\r\n"
    raw = head + body
    assert len(raw) == size and raw.endswith(b"\r\n")
    return raw


def send_without_size(port: int, rcpt: str, raw: bytes) -> tuple[int, bytes]:
    """MAIL without SIZE=, so that the limit must be found during DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as c:
        c.ehlo()
        assert c.docmd("MAIL FROM:<sender@remote.test>")[0] == 250
        code, text = c.docmd(f"RCPT TO:<{rcpt}>")
        if code != 250:
            return code, text
        assert c.docmd("DATA")[0] == 354
        c.send(raw + b".\r\n")
        result = c.getreply()
        assert c.noop()[0] == 250  # still in step afterwards
        return result


def test_one_byte_over_the_limit_is_refused(server: ServerProcess) -> None:
    tag = uuid.uuid4().hex[:8]
    raw = message_of(MAX + 1, tag)
    code, text = send_without_size(server.port("smtp"), ANNA, raw)
    assert (code, text[:5]) == (552, b"5.3.4")
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=120) as c:  # SIZE= at MAIL
        with pytest.raises(smtplib.SMTPSenderRefused) as info:
            c.sendmail("sender@remote.test", [ANNA], raw)
        assert info.value.smtp_code == 552
    assert not [m for m in inbox(server.config, ANNA) if tag.encode() in m[:2000]]


def test_just_under_the_limit_is_stored_intact(server: ServerProcess) -> None:
    tag = uuid.uuid4().hex[:8]
    raw = message_of(MAX - 1024, tag)
    code, _ = send_without_size(server.port("smtp"), ANNA, raw)
    assert code == 250
    (stored,) = [m for m in inbox(server.config, ANNA) if tag.encode() in m[:2000]]
    fields, rest = split_trace(stored)
    assert fields and hashlib.sha256(rest).hexdigest() == hashlib.sha256(raw).hexdigest()
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=120) as c:  # and with SIZE=
        assert c.sendmail("sender@remote.test", [ANNA], raw) == {}


def test_over_quota_recipient_gets_452(server: ServerProcess) -> None:
    tag = uuid.uuid4().hex[:8]
    code, text = send_without_size(server.port("smtp"), BOB, message_of(5000, tag))
    assert (code, text[:5]) == (452, b"4.2.2")  # refused after the data: it does not fit
    with smtplib.SMTP("127.0.0.1", server.port("smtp")) as c:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:  # SIZE= tells at RCPT
            c.sendmail("sender@remote.test", [BOB], message_of(5000, tag))
        assert info.value.recipients[BOB][0] == 452
    assert send_without_size(server.port("smtp"), BOB, message_of(3500, tag))[0] == 250
    code, text = send_without_size(server.port("smtp"), BOB, message_of(100, tag))
    assert (code, text[:5]) == (452, b"4.2.2")  # even a small one no longer fits
    assert len([m for m in inbox(server.config, BOB) if tag.encode() in m]) == 1
