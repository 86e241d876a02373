"""mbsync (isync) syncing a folder tree both ways with `postbus serve` over imaps."""

from __future__ import annotations

import imaplib
import subprocess
import time
from pathlib import Path

from tests.support.server import ServerProcess
from tests.support.tools import require_tool
from tests.unit.imap.harness import (
    PASSWORD,
    USER,
    certificate,
    fetched,
    message,
    served,
    tls_context,
)


def mbsyncrc(tmp_path: Path, server: ServerProcess, auth: str) -> Path:
    rc = tmp_path / "mbsyncrc"
    rc.write_text(f"""\
IMAPAccount postbus
Host localhost
Port {server.port("imaps")}
User {USER}
Pass "{PASSWORD}"
SSLType IMAPS
CertificateFile {certificate(tmp_path)}
AuthMechs {auth}

IMAPStore remote
Account postbus

MaildirStore local
Path {tmp_path}/mail/
Inbox {tmp_path}/mail/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
Sync All
""")
    return rc


def mbsync(rc: Path) -> None:
    binary = require_tool("mbsync")
    result = subprocess.run([binary, "-c", str(rc), "-a"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def normal(raw: bytes) -> bytes:
    """mbsync stores LF line ends locally and may add an X-TUID header while propagating."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    return b"\n".join(line for line in lines if not line.startswith(b"X-TUID: "))


def messages(folder: Path) -> list[bytes]:
    return sorted(normal(p.read_bytes()) for sub in ("new", "cur")
                  for p in (folder / sub).iterdir())


def test_mbsync_pulls_and_pushes_a_folder_tree(tmp_path: Path) -> None:
    with served(tmp_path) as server:
        with imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=tls_context(),
                               timeout=30) as imap:
            imap.login(USER, PASSWORD)
            date = imaplib.Time2Internaldate(time.time())
            imap.append("INBOX", "", date, message("one"))
            imap.append("INBOX", "", date, message("two"))
            imap.create("Projects/Q1")
            imap.append("Projects/Q1", "(\\Seen)", date, message("plan"))
        (tmp_path / "mail").mkdir()
        rc = mbsyncrc(tmp_path, server, "LOGIN")
        mbsync(rc)
        mail = tmp_path / "mail"
        assert messages(mail / "INBOX") == sorted([normal(message("one")), normal(message("two"))])
        assert messages(mail / "Projects" / "Q1") == [normal(message("plan"))]
        assert (mail / "Trash" / "cur").is_dir() and (mail / "Sent" / "cur").is_dir()
        (seen,) = list((mail / "Projects" / "Q1" / "cur").iterdir())
        assert seen.name.endswith(",S")

        # A new local folder with a message, and a message deleted locally.
        local = mail / "Local" / "Notes"
        for sub in ("cur", "new", "tmp"):
            (local / sub).mkdir(parents=True)
        (local / "new" / "1700000000.1.host").write_bytes(message("written offline"))
        doomed = next(p for p in (mail / "INBOX" / "new").iterdir()
                      if normal(p.read_bytes()) == normal(message("two")))
        doomed.unlink()
        mbsync(mbsyncrc(tmp_path, server, "PLAIN LOGIN"))

        with imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=tls_context(),
                               timeout=30) as imap:
            imap.login(USER, PASSWORD)
            assert imap.select("Local/Notes") == ("OK", [b"1"])
            assert normal(fetched(imap, "1", "(BODY.PEEK[])")[1]) == normal(
                message("written offline"))
            assert imap.select("INBOX") == ("OK", [b"1"])
            assert fetched(imap, "1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1] == (
                b"Subject: one\r\n\r\n")
            _typ, listing = imap.list()
            assert b'(\\HasChildren) "/" Local' in listing
