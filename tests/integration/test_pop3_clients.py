"""Real POP3 clients against a real `postbus serve`: fetchmail (keep and no-keep),
getmail6, curl and Python's poplib each retrieve exactly what SMTP delivered.

Messages enter through the MX listener (smtplib), so what is stored is the
original with our trace fields on top; each test first checks that, then that
the client got the stored bytes: byte for byte from poplib and curl, which keep
CR LF; with LF line ends from fetchmail and getmail, which convert them for
their delivery agents (getmail also puts a Return-Path line first).
"""

from __future__ import annotations

import base64
import os
import poplib
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mail import create_mailboxes_sync, smtp_deliver
from tests.support.mailstore import inbox, split_trace
from tests.support.server import ServerProcess, running_server, write_config
from tests.support.tools import require_tool

PASSWORD = "Tq7#mZ2v!pLx"
USERS = ("fm-keep", "fm-nokeep", "getmail", "curl", "poplib-ssl", "poplib-stls")
# A delivery agent for fetchmail and getmail: stdin to the next numbered file in a directory.
MDA_SCRIPT = """import sys
from pathlib import Path
out = Path(sys.argv[1])
out.mkdir(exist_ok=True)
(out / f"{len(list(out.iterdir())):04d}").write_bytes(sys.stdin.buffer.read())
"""

CORPUS = [
    b"From: bob@remote.test\r\nTo: x@example.test\r\nSubject: dots\r\n"
    b"Message-ID: <dots@remote.test>\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n",
    "From: bob@remote.test\r\nTo: x@example.test\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n"
    "Message-ID: <utf8@remote.test>\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\nCafé, crème brûlée, 日本語\r\n".encode(),
    b"From: bob@remote.test\r\nTo: x@example.test\r\nSubject: big\r\nMessage-ID: <big@remote.test>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(os.urandom(1_500_000)).replace(b"\n", b"\r\n"),
]


def _tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("pop3-clients")
    config = write_config(directory, {"dns": {"static": {"A localhost.invalid": ["127.0.0.1"]}}})
    create_mailboxes_sync(config, [f"{u}@example.test" for u in USERS], PASSWORD)
    with running_server(config, env={"POSTBUS_LOOP": "uvloop"}) as server:  # as in production
        yield server


def _delivered(server: ServerProcess, user: str) -> list[bytes]:
    """Delivers the corpus to `user` by SMTP; returns what the store holds, in UID order."""
    address = f"{user}@example.test"
    smtp_deliver(server.port("smtp"), address, CORPUS)
    stored = inbox(server.config, address)
    assert [split_trace(raw)[1] for raw in stored] == CORPUS
    return stored


def _mda(directory: Path) -> Path:
    script = directory / "mda.py"
    script.write_text(MDA_SCRIPT)
    return script


def _lf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n")


def _fetchmail(server: ServerProcess, tmp_path: Path, user: str, keep: bool) -> list[bytes]:
    fetchmail = require_tool("fetchmail")
    out = tmp_path / "out"
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        "set no syslog\nset invisible\n"
        f"poll 127.0.0.1 with proto POP3 port {server.port('pop3s')}\n"
        f'  user "{user}@example.test" there with password "{PASSWORD}" is "root" here\n'
        f"  options ssl no sslcertck fetchall no rewrite {'keep' if keep else 'nokeep'}\n"
        f'  mda "{sys.executable} {_mda(tmp_path)} {out}"\n')
    rc.chmod(0o600)
    result = subprocess.run([fetchmail, "-f", str(rc), "--nodetach"], capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ, "HOME": str(tmp_path), "FETCHMAILHOME": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    return [f.read_bytes() for f in sorted(out.iterdir())]


def test_fetchmail_keep(server: ServerProcess, tmp_path: Path) -> None:
    stored = _delivered(server, "fm-keep")
    assert _fetchmail(server, tmp_path, "fm-keep", keep=True) == [_lf(raw) for raw in stored]
    assert inbox(server.config, "fm-keep@example.test") == stored


def test_fetchmail_nokeep(server: ServerProcess, tmp_path: Path) -> None:
    stored = _delivered(server, "fm-nokeep")
    assert _fetchmail(server, tmp_path, "fm-nokeep", keep=False) == [_lf(raw) for raw in stored]
    assert inbox(server.config, "fm-nokeep@example.test") == []


def test_getmail(server: ServerProcess, tmp_path: Path) -> None:
    getmail = require_tool("getmail")
    stored = _delivered(server, "getmail")
    out = tmp_path / "out"
    # MDA_external: getmail refuses Maildir and mbox delivery when run as root (as CI is)
    (tmp_path / "getmailrc").write_text(
        "[retriever]\ntype = SimplePOP3SSLRetriever\nserver = 127.0.0.1\n"
        f"port = {server.port('pop3s')}\nusername = getmail@example.test\npassword = {PASSWORD}\n\n"
        f"[destination]\ntype = MDA_external\npath = {sys.executable}\n"
        f'arguments = ("{_mda(tmp_path)}", "{out}")\nallow_root_commands = true\nunixfrom = false\n\n'
        "[options]\nread_all = true\ndelete = true\nreceived = false\ndelivered_to = false\n"
        "message_log_syslog = false\n")
    result = subprocess.run([getmail, "--getmaildir", str(tmp_path), "--rcfile", "getmailrc"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    got = [f.read_bytes() for f in sorted(out.iterdir())]
    # getmail moves the Return-Path field to the top: compare with it set aside
    assert [g.split(b"\n", 1)[0] for g in got] == [b"Return-Path: <bob@remote.test>"] * len(stored)
    assert [g.split(b"\n", 1)[1] for g in got] == [
        _lf(raw).replace(b"Return-Path: <bob@remote.test>\n", b"", 1) for raw in stored]
    assert inbox(server.config, "getmail@example.test") == []


def test_curl_list_and_retr(server: ServerProcess) -> None:
    curl = require_tool("curl")
    stored = _delivered(server, "curl")
    base = f"pop3s://127.0.0.1:{server.port('pop3s')}/"

    def fetch(url: str) -> bytes:
        result = subprocess.run([curl, "-sS", "-k", "--user", f"curl@example.test:{PASSWORD}", url],
                                capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert fetch(base) == b"".join(f"{n} {len(raw)}\r\n".encode() for n, raw in enumerate(stored, 1))
    for n, raw in enumerate(stored, 1):
        assert fetch(f"{base}{n}") == raw


def test_poplib_implicit_tls(server: ServerProcess) -> None:
    stored = _delivered(server, "poplib-ssl")
    client = poplib.POP3_SSL("127.0.0.1", server.port("pop3s"), context=_tls(), timeout=30)
    assert client.getwelcome() == b"+OK Postbus POP3 ready localhost"
    client.user("poplib-ssl@example.test")
    client.pass_(PASSWORD)
    assert client.stat() == (len(stored), sum(len(raw) for raw in stored))
    uidl = client.uidl()[1]
    for n, raw in enumerate(stored, 1):
        response, lines, _ = client.retr(n)
        assert response == f"+OK {len(raw)} octets".encode()
        assert b"\r\n".join(lines) + b"\r\n" == raw
        header = raw[: raw.index(b"\r\n\r\n") + 2]
        assert b"\r\n".join(client.top(n, 0)[1]) + b"\r\n" == header + b"\r\n"
    assert client.quit().startswith(b"+OK")
    again = poplib.POP3_SSL("127.0.0.1", server.port("pop3s"), context=_tls(), timeout=30)
    again.user("poplib-ssl@example.test")
    again.pass_(PASSWORD)
    assert again.uidl()[1] == uidl  # unique-ids are stable across sessions
    again.quit()


def test_poplib_stls(server: ServerProcess) -> None:
    stored = _delivered(server, "poplib-stls")
    client = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=30)
    assert "STLS" in client.capa() and "USER" not in client.capa()
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        client.user("poplib-stls@example.test")
    client.stls(_tls())
    assert "SASL" in client.capa() and "STLS" not in client.capa()
    client.user("poplib-stls@example.test")
    client.pass_(PASSWORD)
    for n in range(1, len(stored) + 1):
        client.dele(n)
    client.rset()
    client.dele(1)
    assert client.quit() == b"+OK Postbus POP3 signing off (2 messages left)"
    assert inbox(server.config, "poplib-stls@example.test") == stored[1:]
