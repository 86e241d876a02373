"""QRESYNC and CONDSTORE across a restart of `postbus serve` (RFC 7162 §3.2.5).

A client that synchronised before the restart comes back afterwards: the
expunges and flag changes made in another session before the restart are
reported from the store's expunge records and mod-sequences, not from
anything kept in memory.  Runs on SQLite, and on PostgreSQL with
POSTBUS_TEST_STORAGE=postgresql (tests/support/server.write_config).
"""

from __future__ import annotations

import imaplib
import time
from pathlib import Path

from tests.support.server import ServerProcess, postbus, running_server, write_config
from tests.unit.imap.harness import PASSWORD, USER, message, tls_context


def _connect(server: ServerProcess) -> imaplib.IMAP4_SSL:
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=tls_context(),
                             timeout=30)
    assert imap.login(USER, PASSWORD)[0] == "OK"
    return imap


def _code(imap: imaplib.IMAP4, name: str) -> int:
    typ, data = imap.response(name)
    assert typ == name and data and data[-1] is not None, (name, data)
    return int(data[-1])


def test_qresync_and_condstore_resync_after_a_restart(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    postbus(config, "domain", "add", "example.test")
    postbus(config, "user", "add", USER, "--password-stdin", stdin=PASSWORD + "\n")
    with running_server(config) as server:
        imap = _connect(server)
        date = imaplib.Time2Internaldate(time.time())
        for n in range(5):
            assert imap.append("INBOX", "", date, message(f"m{n + 1}"))[0] == "OK"
        assert imap.select("INBOX") == ("OK", [b"5"])
        validity = _code(imap, "UIDVALIDITY")
        kept = _code(imap, "HIGHESTMODSEQ")  # what the returning client remembers
        imap.logout()
        other = _connect(server)  # "another session" changes the folder
        other.select("INBOX")
        assert other.uid("STORE", "4", "+FLAGS.SILENT", "(\\Flagged)")[0] == "OK"
        assert other.uid("STORE", "2:3", "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
        assert other.expunge()[0] == "OK"
        other.logout()
    with running_server(config) as server:
        imap = _connect(server)
        assert "QRESYNC" in imap.capabilities and "CONDSTORE" in imap.capabilities
        assert imap._simple_command("ENABLE", "QRESYNC")[0] == "OK"
        typ, _ = imap._simple_command("SELECT", f"INBOX (QRESYNC ({validity} {kept}))")
        assert typ == "OK"
        assert imap.response("VANISHED") == ("VANISHED", [b"(EARLIER) 2:3"])
        typ, fetches = imap.response("FETCH")
        assert typ == "FETCH" and len(fetches) == 1, fetches
        assert fetches[0] is not None
        assert fetches[0].startswith(b"2 (UID 4 FLAGS (\\Flagged) MODSEQ (")
        now = _code(imap, "HIGHESTMODSEQ")
        assert now > kept
        imap.logout()
        # Thunderbird's CONDSTORE flag resync, after the same restart.
        tb = _connect(server)
        assert tb._simple_command("SELECT", "INBOX (CONDSTORE)")[0] == "OK"
        tb.state = "SELECTED"  # imaplib's select() has no parameters; we sent it by hand
        assert _code(tb, "HIGHESTMODSEQ") == now
        typ, data = tb.uid("FETCH", "1:*", f"(FLAGS) (CHANGEDSINCE {kept})")
        assert typ == "OK" and len(data) == 1 and data[0] is not None, data
        assert data[0].startswith(b"2 (UID 4 FLAGS (\\Flagged) MODSEQ (")
        tb.logout()
