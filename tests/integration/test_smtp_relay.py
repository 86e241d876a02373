"""Open-relay tricks against the real MX: each is refused and nothing reaches the queue;
the spellings of our own addresses are delivered locally and never relayed."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator

import pytest

from tests.support.mailstore import DOMAIN, inbox, mail_config, queue
from tests.support.server import ServerProcess, running_server

TRICKS = [
    "<anna%remote.test@example.test>",
    "<remote.test!anna@example.test>",
    '<"anna@remote.test"@example.test>',
    '<"anna%remote.test"@example.test>',
    "<@example.test:victim@remote.test>",
    "<@example.test,@localhost:victim@remote.test>",
    "<victim@remote.test.>",
    "<victim@REMOTE.test>",
    "<victim@[127.0.0.1]>",
    "<victim@[IPv6:::1]>",
    "<victim@xn--bcher-kva.example>",
    "<victim@example.test.remote.test>",
]
UTF8_TRICKS = ["<victim@bücher.example>", "<victim@ｒｅｍｏｔｅ.test>"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = mail_config(tmp_path_factory.mktemp("smtp-relay"))
    with running_server(config) as srv:
        yield srv


@pytest.mark.parametrize("rcpt", TRICKS + UTF8_TRICKS)
def test_relay_trick_is_refused(server: ServerProcess, rcpt: str) -> None:
    with smtplib.SMTP("127.0.0.1", server.port("smtp")) as c:
        c.ehlo()
        c.command_encoding = "utf-8"  # RFC 6531: UTF-8 in commands once SMTPUTF8 is used
        utf8 = " SMTPUTF8" if not rcpt.isascii() else ""
        assert c.docmd(f"MAIL FROM:<spammer@remote.test>{utf8}")[0] == 250
        code, text = c.docmd(f"RCPT TO:{rcpt}")
        assert code in (550, 553), (code, text)
        assert text.startswith(b"5.")
        c.docmd("RSET")
    assert queue(server.config) == []


@pytest.mark.parametrize("rcpt", [
    "<ANNA@Example.Test>", "<anna@example.test.>", '<"anna"@example.test>',
    "<@remote.test:anna@example.test>",
])
def test_our_spellings_stay_local(server: ServerProcess, rcpt: str) -> None:
    tag = uuid.uuid4().hex[:8]
    with smtplib.SMTP("127.0.0.1", server.port("smtp")) as c:
        c.ehlo()
        assert c.docmd("MAIL FROM:<sender@remote.test>")[0] == 250
        assert c.docmd(f"RCPT TO:{rcpt}")[0] == 250
        assert c.docmd("DATA")[0] == 354
        c.send(f"Subject: {tag}\r\n\r\nx\r\n.\r\n".encode())
        assert c.getreply()[0] == 250
    assert len([m for m in inbox(server.config, f"anna@{DOMAIN}") if tag.encode() in m]) == 1
    assert queue(server.config) == []
