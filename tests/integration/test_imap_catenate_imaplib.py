"""Python's imaplib against `postbus serve`: CATENATE (RFC 4469) with URL-PARTIAL.

imaplib has no CATENATE call, so the APPEND goes through `_simple_command` with its
TEXT parts as LITERAL+ literals (RFC 7888) inline; the new message is read back with
FETCH and compared byte for byte.
"""

from __future__ import annotations

import imaplib
from collections.abc import Iterator

import pytest

from tests.support.server import ServerProcess
from tests.unit.imap.harness import PASSWORD, USER, fetched, served, tls_context

ORIGINAL = (b"From: Carol <carol@example.org>\r\nTo: alice@example.test\r\nSubject: report\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n"
            b"--x\r\nContent-Type: text/plain\r\n\r\nSee the figures.\r\n"
            b"\r\n--x\r\nContent-Type: text/csv\r\n\r\nyear,count\r\n2025,42\r\n\r\n--x--\r\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with served(tmp_path_factory.mktemp("catenate")) as running:
        yield running


def literal(data: bytes) -> bytes:
    return b"{%d+}\r\n%s" % (len(data), data)


def test_imaplib_forwards_a_part_with_catenate(server: ServerProcess) -> None:
    with imaplib.IMAP4_SSL(
        "127.0.0.1", server.port("imaps"), ssl_context=tls_context(), timeout=30
    ) as imap:
        assert imap.login(USER, PASSWORD)[0] == "OK"
        assert "CATENATE" in imap.capabilities and "URL-PARTIAL" in imap.capabilities
        assert imap.append("INBOX", "", None, ORIGINAL)[0] == "OK"
        typ, data = imap.select("INBOX")
        assert typ == "OK"
        validity = imap.response("UIDVALIDITY")[1][0].decode()
        head = (b"From: alice@example.test\r\nTo: dave@example.org\r\nSubject: Fwd: report\r\n"
                b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n"
                b"--x\r\n")
        args = (b"CATENATE (TEXT " + literal(head)
                + b' URL "/INBOX;UIDVALIDITY=' + validity.encode() + b'/;UID=1/;SECTION=2.MIME"'
                + b" URL ;UID=1/;SECTION=2"
                + b" TEXT " + literal(b"\r\n--x\r\nContent-Type: text/plain\r\n\r\n")
                + b' URL "imap://alice%40example.test@localhost/INBOX/;UID=1/;SECTION=1/;PARTIAL=4.7"'
                + b" TEXT " + literal(b"\r\n--x--\r\n") + b")")
        typ, data = imap._simple_command("APPEND", "Drafts", args.decode())
        assert typ == "OK" and data[0].startswith(b"[APPENDUID "), data
        expected = (head + b"Content-Type: text/csv\r\n\r\n" + b"year,count\r\n2025,42\r\n"
                    + b"\r\n--x\r\nContent-Type: text/plain\r\n\r\n" + b"the fig"
                    + b"\r\n--x--\r\n")
        assert imap.select("Drafts") == ("OK", [b"1"])
        assert fetched(imap, "1", "(BODY.PEEK[])")[1] == expected
        assert fetched(imap, "1", "(BODY.PEEK[1])")[1] == b"year,count\r\n2025,42\r\n"
        assert fetched(imap, "1", "(BODY.PEEK[2])")[1] == b"the fig"
        # A URL naming no message of this user refuses the APPEND and stores nothing.
        typ, data = imap._simple_command("APPEND", "Drafts", 'CATENATE (URL "/INBOX/;UID=9")')
        assert (typ, data) == ("NO", [b"[BADURL /INBOX/;UID=9] No message with UID 9"])
        assert imap.status("Drafts", "(MESSAGES)") == ("OK", [b"Drafts (MESSAGES 1)"])
        assert imap.logout()[0] == "BYE"
