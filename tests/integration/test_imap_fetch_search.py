"""FETCH, SEARCH and SORT through a real `postbus serve`, driven by Python's imaplib and curl.

Messages are delivered before the server starts (ingest + store.deliver, as SMTP
delivery does); each test logs in as its own user so \\Seen changes do not leak.
"""

from __future__ import annotations

import imaplib
import ssl
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.mail import create_mailboxes_sync, deliver_sync
from tests.support.server import ServerProcess, running_server, write_config
from tests.support.tools import require_tool
from tests.unit.imap_fetch.samples import NESTED, SIMPLE, text_message

PASSWORD = "Tq7#mZ2v!pLx"
USERS = ("fetch", "seen", "examine", "search", "curl")
SUMMER = text_message("Vacances", "L'été à Zanzibar était très chaud.",
                      date="Wed, 2 Jul 2003 08:00:00 +0000")
CORPUS = [SIMPLE, NESTED, SUMMER]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("imap-fetch")
    config = write_config(directory)
    create_mailboxes_sync(config, [f"{u}@example.test" for u in USERS], PASSWORD)
    for user in USERS:
        deliver_sync(config, f"{user}@example.test", CORPUS)
    with running_server(config) as server:
        yield server


def login(server: ServerProcess, user: str) -> imaplib.IMAP4_SSL:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    client = imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=ctx, timeout=30)
    client.login(f"{user}@example.test", PASSWORD)
    return client


def test_fetch_items_and_sections(server: ServerProcess) -> None:
    client = login(server, "fetch")
    try:
        assert client.select("INBOX") == ("OK", [b"3"])
        status, data = client.fetch("1", "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (subject)])")
        assert status == "OK"
        assert data[0] == (b"1 (UID 1 RFC822.SIZE %d BODY[HEADER.FIELDS (SUBJECT)] {33}"
                           % len(SIMPLE), b"Subject: Lunch on\r\n Thursday?\r\n\r\n")
        status, data = client.uid("FETCH", "2", "(BODY.PEEK[1.2.HEADER] BINARY.PEEK[2] "
                                                "BODY.PEEK[1.2.TEXT]<0.5>)")
        assert status == "OK"
        assert data[0] == (b"2 (UID 2 BODY[1.2.HEADER] {52}",
                           b"From: c@example.org\r\nSubject: inner\r\nX-Deep: yes\r\n\r\n")
        assert data[1] == (b" BINARY[2] ~{4}", b"\x00\x01\x02\x03")
        assert data[2] == (b" BODY[1.2.TEXT]<0> {5}", b"inner")
        status, data = client.fetch("1:3", "(ENVELOPE)")
        assert status == "OK" and len(data) == 3
        first = data[0]
        assert isinstance(first, bytes)
        assert b'"Lunch on Thursday?" (("Alice Example" NIL "alice" "example.org"))' in first
        status, data = client.fetch("2", "BODYSTRUCTURE")
        first = data[0]
        assert isinstance(first, bytes)
        assert first.startswith(b'2 (BODYSTRUCTURE (("message" "rfc822" NIL NIL NIL "7BIT"')
        status, data = client.fetch("1:*", "(FLAGS)")
        # PEEK set nothing; this first session to select the folder has them \Recent
        assert data == [b"1 (FLAGS (\\Recent))", b"2 (FLAGS (\\Recent))", b"3 (FLAGS (\\Recent))"]
    finally:
        client.logout()


def test_body_sets_seen_and_reports_flags(server: ServerProcess) -> None:
    client = login(server, "seen")
    try:
        client.select("INBOX")
        status, data = client.fetch("1", "(BODY[TEXT])")
        assert status == "OK"
        assert data[0] == (b"1 (FLAGS (\\Seen \\Recent) BODY[TEXT] {45}",
                           SIMPLE.partition(b"\r\n\r\n")[2])
        status, data = client.fetch("1:2", "(FLAGS)")
        assert data == [b"1 (FLAGS (\\Seen \\Recent))", b"2 (FLAGS (\\Recent))"]
        status, data = client.search(None, "SEEN")
        assert data == [b"1"]
    finally:
        client.logout()


def test_examine_is_read_only(server: ServerProcess) -> None:
    client = login(server, "examine")
    try:
        client.select("INBOX", readonly=True)
        status, data = client.fetch("1:3", "(RFC822 BINARY[2])")
        assert status == "OK"
        assert data[0] == (b"1 (RFC822 {%d}" % len(SIMPLE), SIMPLE)
        status, data = client.fetch("1:3", "(FLAGS)")
        # \Seen is not set; EXAMINE sees the unclaimed messages as \Recent and
        # leaves them so (RFC 3501 §6.3.2)
        assert data == [b"1 (FLAGS (\\Recent))", b"2 (FLAGS (\\Recent))", b"3 (FLAGS (\\Recent))"]
    finally:
        client.logout()


def test_search_and_sort(server: ServerProcess) -> None:
    client = login(server, "search")
    try:
        client.select("INBOX")
        assert client.search(None, "TEXT", "zanzibar") == ("OK", [b"3"])
        assert client.uid("SEARCH", "FROM", '"alice example"') == ("OK", [b"1"])
        assert client.search(None, "OR", "SUBJECT", "outer", "SENTON", "2-Jul-2003") == \
            ("OK", [b"2 3"])
        assert client.search(None, "HEADER", "X-Long", '""') == ("OK", [b"1"])
        assert client.search(None, "NOT", "BODY", "lunch") == ("OK", [b"2 3"])
        # imaplib sends it as a literal after the command
        client.literal = "ÉTÉ".encode()  # type: ignore[assignment]
        assert client.search("UTF-8", "BODY") == ("OK", [b"3"])
        assert client.sort("(SUBJECT)", "UTF-8", "ALL") == ("OK", [b"1 2 3"])
        # message 2 has no Date: it sorts by its INTERNALDATE, the delivery (now)
        assert client.sort("(REVERSE DATE)", "UTF-8", "ALL") == ("OK", [b"2 3 1"])
        assert client.uid("SORT", "(SIZE)", "UTF-8", "UNSEEN") == ("OK", [b"3 1 2"])
    finally:
        client.logout()


def curl(server: ServerProcess, path: str, *args: str) -> bytes:
    tool = require_tool("curl")
    result = subprocess.run(
        [tool, "-k", "-s", "--user", f"curl@example.test:{PASSWORD}",
         f"imaps://127.0.0.1:{server.port('imaps')}/{path}", *args],
        capture_output=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_curl_search_and_fetch(server: ServerProcess) -> None:
    assert curl(server, "INBOX", "-X", "UID SEARCH TEXT zanzibar") == b"* SEARCH 3\r\n"
    assert curl(server, "INBOX", "-X", "SEARCH SUBJECT lunch") == b"* SEARCH 1\r\n"
    assert curl(server, "INBOX;UID=2") == NESTED
    assert curl(server, "INBOX;UID=2;SECTION=1.2.HEADER") == \
        b"From: c@example.org\r\nSubject: inner\r\nX-Deep: yes\r\n\r\n"
    out = curl(server, "INBOX", "-X", "FETCH 3 (BODY.PEEK[HEADER.FIELDS (Subject)])")
    assert out.startswith(b"* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {21}\r\n"), out
