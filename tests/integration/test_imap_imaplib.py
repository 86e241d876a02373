"""Python's imaplib against `postbus serve`: the everyday IMAP4rev1 conversation.

The server runs on uvloop here, as in production (the other real-client tests
use the plain asyncio loop), so both loops' TLS and STARTTLS paths are driven.
"""

from __future__ import annotations

import imaplib
import time
from collections.abc import Iterator

import pytest

from tests.support.server import ServerProcess
from tests.unit.imap.harness import PASSWORD, USER, fetched, message, served, tls_context


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with served(tmp_path_factory.mktemp("imaplib"), loop="uvloop") as running:
        yield running


def test_imaplib_over_imaps(server: ServerProcess) -> None:
    with imaplib.IMAP4_SSL(
        "127.0.0.1", server.port("imaps"), ssl_context=tls_context(), timeout=30
    ) as imap:
        assert imap.login(USER, PASSWORD)[0] == "OK"
        assert "IDLE" in imap.capabilities and "MOVE" in imap.capabilities
        date = imaplib.Time2Internaldate(time.time())
        for subject in ("hello", "other", "hello again"):
            assert imap.append("INBOX", "", date, message(subject))[0] == "OK"
        assert imap.select("INBOX") == ("OK", [b"3"])
        assert imap.search(None, "SUBJECT", "hello") == ("OK", [b"1 3"])
        assert fetched(imap, "1", "(RFC822)")[1] == message("hello")
        # New to this first session to select the folder: \Recent (RFC 3501 §2.3.2).
        assert imap.fetch("1", "(FLAGS)") == ("OK", [b"1 (FLAGS (\\Seen \\Recent))"])
        assert imap.uid("FETCH", "3", "(UID RFC822.SIZE)") == (
            "OK", [b"3 (UID 3 RFC822.SIZE %d)" % len(message("hello again"))])
        assert imap.store("2", "+FLAGS", "(\\Deleted)") == (
            "OK", [b"2 (FLAGS (\\Deleted \\Recent))"])
        assert imap.copy("1:2", "Trash")[0] == "OK"
        assert imap.expunge() == ("OK", [b"2"])
        assert imap.select("Trash", readonly=True) == ("OK", [b"2"])
        typ, listing = imap.list()
        assert typ == "OK" and b'(\\HasNoChildren \\Trash) "/" Trash' in listing
        assert imap.logout()[0] == "BYE"


def test_imaplib_starttls_on_the_plain_port(server: ServerProcess) -> None:
    imap = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=30)
    assert "LOGINDISABLED" in imap.capabilities
    try:
        imap.login(USER, PASSWORD)
        raise AssertionError("LOGIN worked without TLS")
    except imaplib.IMAP4.error as exc:
        assert "PRIVACYREQUIRED" in str(exc)
    assert imap.starttls(ssl_context=tls_context())[0] == "OK"
    assert "AUTH=PLAIN" in imap.capabilities
    assert imap.login(USER, PASSWORD)[0] == "OK"
    assert imap.select("Drafts") == ("OK", [b"0"])
    assert imap.logout()[0] == "BYE"
