"""curl as an IMAP client over imaps: listing, fetching by UID and a custom UID SEARCH."""

from __future__ import annotations

import imaplib
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.server import ServerProcess
from tests.support.tools import require_tool
from tests.unit.imap.harness import PASSWORD, USER, message, served, tls_context


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with served(tmp_path_factory.mktemp("curl")) as running:
        with imaplib.IMAP4_SSL("127.0.0.1", running.port("imaps"),
                               ssl_context=tls_context(), timeout=30) as imap:
            imap.login(USER, PASSWORD)
            date = imaplib.Time2Internaldate(time.time())
            imap.append("INBOX", "", date, message("hello"))
            imap.append("INBOX", "", date, message("something else"))
            imap.create("Projects/2025")
        yield running


def curl(server: ServerProcess, path: str, *args: str) -> bytes:
    binary = require_tool("curl")
    result = subprocess.run(
        [binary, "--silent", "--show-error", "-k", "--max-time", "20", "-u", f"{USER}:{PASSWORD}",
         *args, f"imaps://127.0.0.1:{server.port('imaps')}/{path}"],
        capture_output=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_curl_lists_folders(server: ServerProcess) -> None:
    lines = curl(server, "").decode().splitlines()
    assert '* LIST (\\HasNoChildren) "/" INBOX' in lines
    assert '* LIST (\\HasChildren) "/" Projects' in lines
    assert '* LIST (\\HasNoChildren) "/" Projects/2025' in lines
    assert '* LIST (\\HasNoChildren \\Sent) "/" Sent' in lines


def test_curl_fetches_a_message_by_uid(server: ServerProcess) -> None:
    assert curl(server, "INBOX;UID=1") == message("hello")
    assert curl(server, "INBOX;UID=2;SECTION=HEADER.FIELDS%20(SUBJECT)") == (
        b"Subject: something else\r\n\r\n")


def test_curl_searches(server: ServerProcess) -> None:
    assert curl(server, "INBOX", "-X", "UID SEARCH SUBJECT hello") == b"* SEARCH 1\r\n"
    assert curl(server, "INBOX", "-X", "UID SEARCH ALL") == b"* SEARCH 1 2\r\n"
