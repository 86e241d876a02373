"""neomutt, driven headless through tmux, reads a message over imaps and moves it to Archive."""

from __future__ import annotations

import imaplib
import os
import shutil
import subprocess
import time
from pathlib import Path

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

SCREEN_TIMEOUT = 20.0


class Tmux:
    def __init__(self, tmux: str, socket: str) -> None:
        self.tmux = tmux
        self.socket = socket

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True,
                                text=True, timeout=10, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "mutt", *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "mutt")

    def wait_until_gone(self) -> None:
        """Wait for neomutt to quit (its tmux session, and then the server, end with it)."""
        deadline = time.monotonic() + SCREEN_TIMEOUT
        while subprocess.run([self.tmux, "-L", self.socket, "has-session", "-t", "mutt"],
                             capture_output=True, timeout=10).returncode == 0:
            assert time.monotonic() < deadline, "neomutt did not quit"
            time.sleep(0.1)

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + SCREEN_TIMEOUT
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")
            time.sleep(0.1)


def muttrc(tmp_path: Path, port: int) -> Path:
    certs = tmp_path / "certificates.pem"  # neomutt trusts what this file holds
    shutil.copy(certificate(tmp_path), certs)
    rc = tmp_path / "muttrc"
    rc.write_text(f"""\
set folder="imaps://localhost:{port}/"
set spoolfile="+INBOX"
set imap_user="{USER}"
set imap_pass="{PASSWORD}"
set certificate_file="{certs}"
set ssl_verify_host=no
set record=""
set postponed=""
set header_cache=""
set message_cachedir=""
set confirmappend=no
set delete=yes
set move=no
set mark_old=no
set pager_stop=yes
set sleep_time=0
set timeout=1
""")
    return rc


def test_neomutt_reads_and_moves_a_message(tmp_path: Path) -> None:
    neomutt = require_tool("neomutt")
    tmux = Tmux(require_tool("tmux"), f"postbus-{os.getpid()}-{time.monotonic_ns()}")
    with served(tmp_path) as server:
        port = server.port("imaps")
        with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=tls_context(), timeout=30) as imap:
            imap.login(USER, PASSWORD)
            imap.append("INBOX", "", imaplib.Time2Internaldate(time.time()),
                        message("Quarterly report", body="The numbers are in.\r\n"))
        env = {**os.environ, "HOME": str(tmp_path), "TERM": "xterm-256color"}
        tmux.run("new-session", "-d", "-s", "mutt", "-x", "160", "-y", "40",
                 f"{neomutt} -n -F {muttrc(tmp_path, port)}", env=env)
        try:
            tmux.wait_for("Quarterly report")
            tmux.wait_for("+INBOX [Msgs:1 New:1")
            tmux.keys("Enter")  # read it
            tmux.wait_for("The numbers are in.")
            tmux.keys("q")
            tmux.wait_for("+INBOX [Msgs:1 ")
            tmux.keys("s")  # save-message: copy to another folder and mark deleted
            tmux.wait_for("Save to mailbox")
            tmux.keys("C-u", "=Archive", "Enter")
            tmux.wait_for("Del:1")
            tmux.keys("$")  # sync: expunge from INBOX
            tmux.wait_for("+INBOX [Msgs:0")
            tmux.keys("q")
            tmux.wait_until_gone()
        finally:
            subprocess.run([tmux.tmux, "-L", tmux.socket, "kill-server"], capture_output=True,
                           timeout=10)
        with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=tls_context(), timeout=30) as imap:
            imap.login(USER, PASSWORD)
            assert imap.select("INBOX") == ("OK", [b"0"])
            assert imap.select("Archive") == ("OK", [b"1"])
            head, text = fetched(imap, "1", "(FLAGS BODY.PEEK[TEXT])")
            assert text == b"The numbers are in.\r\n"
            assert b"\\Seen" in head


def test_neomutt_resyncs_with_qresync_from_its_header_cache(tmp_path: Path) -> None:
    """neomutt with a header cache and imap_qresync: after another client flags one
    message and expunges another, its second visit asks ``UID FETCH 1:n (FLAGS)
    (CHANGEDSINCE m VANISHED)`` with the HIGHESTMODSEQ it cached (RFC 7162 §3.2.6) and
    gets the expunged UID and the changed flags only.  (This neomutt then logs "QRESYNC
    failed" from its own sanity check and re-reads the headers; as far as we read its
    source, imap_verify_qresync meets the expunged entry whose data imap_expunge_mailbox
    has freed, whatever the server.  The screen is right either way.)"""
    neomutt = require_tool("neomutt")
    tmux = Tmux(require_tool("tmux"), f"postbus-{os.getpid()}-{time.monotonic_ns()}")
    cache = tmp_path / "hcache"
    cache.mkdir()
    with served(tmp_path) as server:
        port = server.port("imaps")
        rc = muttrc(tmp_path, port)
        rc.write_text(rc.read_text().replace('header_cache=""', f'header_cache="{cache}/"')
                      + "set imap_condstore=yes\nset imap_qresync=yes\n")
        with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=tls_context(), timeout=30) as imap:
            imap.login(USER, PASSWORD)
            for subject in ("Alpha", "Bravo", "Charlie"):
                imap.append("INBOX", "", imaplib.Time2Internaldate(time.time()), message(subject))
        env = {**os.environ, "HOME": str(tmp_path), "TERM": "xterm-256color"}
        logs = []
        try:
            for visit in (1, 2):
                log = tmp_path / f"neomutt{visit}.log"
                logs.append(log)
                tmux.run("new-session", "-d", "-s", "mutt", "-x", "160", "-y", "40",
                         f"{neomutt} -n -F {rc} -d 5 -l {log}", env=env)
                if visit == 1:
                    tmux.wait_for("+INBOX [Msgs:3")
                else:
                    screen = tmux.wait_for("+INBOX [Msgs:2")
                    assert "Flag:1" in screen and "Charlie" not in screen, screen
                tmux.keys("q")
                tmux.wait_until_gone()
                if visit == 1:  # another client changes the folder in between
                    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=tls_context(),
                                           timeout=30) as imap:
                        imap.login(USER, PASSWORD)
                        imap.select("INBOX")
                        imap.store("2", "+FLAGS", "(\\Flagged)")
                        imap.store("3", "+FLAGS", "(\\Deleted)")
                        imap.expunge()
        finally:
            subprocess.run([tmux.tmux, "-L", tmux.socket, "kill-server"], capture_output=True,
                           timeout=10)
        second = next(logs[1].parent.glob(logs[1].name + "*")).read_text(errors="replace")
        assert "ENABLED QRESYNC" in second and "(CHANGEDSINCE " in second, second[-3000:]
        assert "4< * VANISHED (EARLIER) 3\n" in second, second[-3000:]
        assert "4< * 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (" in second, second[-3000:]
