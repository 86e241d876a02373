"""SMTP smuggling (CVE-2023-51764/51765/51766) against the real MX over raw sockets.

Each sequence below is taken as the end of DATA by some server. Here it must not
end the message, and the "second message" hidden behind it must never be
accepted: the message carrying a bare CR or LF is refused as a whole (550),
with exactly one reply, at the real CR LF "." CR LF. A NUL octet is refused the
same way: a server downstream that strips it would see `CR LF "." CR LF`.
"""

from __future__ import annotations

import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mailstore import DOMAIN, PASSWORD, inbox, mail_config, queue, split_trace
from tests.support.server import ServerProcess, running_server
from tests.support.tools import require_tool

SMUGGLING = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\r", b"\r.\r\n", b"\n.\r"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = mail_config(tmp_path_factory.mktemp("smtp-smuggling"))
    with running_server(config) as srv:
        yield srv


class Raw:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        assert self.reply()[0] == 220

    def reply(self) -> tuple[int, bytes]:
        while True:
            end = self.buf.find(b"\r\n")
            while end >= 0 and self.buf[3:4] == b"-":
                self.buf = self.buf[end + 2 :]
                end = self.buf.find(b"\r\n")
            if end >= 0:
                line, self.buf = self.buf[:end], self.buf[end + 2 :]
                return int(line[:3]), line[4:]
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def no_more_replies(self) -> bool:
        self.sock.settimeout(0.5)
        try:
            return self.buf == b"" and self.sock.recv(65536) == b""
        except TimeoutError:
            return self.buf == b""
        finally:
            self.sock.settimeout(10)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("sequence", SMUGGLING, ids=[repr(s) for s in SMUGGLING])
def test_smuggled_end_of_data_never_splits_the_message(server: ServerProcess, sequence: bytes) -> None:
    tag = uuid.uuid4().hex[:8]
    c = Raw(server.port("smtp"))
    c.send(b"EHLO client.example\r\n")
    assert c.reply()[0] == 250
    c.send(b"MAIL FROM:<sender@remote.test>\r\nRCPT TO:<anna@example.test>\r\nDATA\r\n")
    assert [c.reply()[0] for _ in range(3)] == [250, 250, 354]
    c.send(b"From: sender@remote.test\r\nSubject: outer " + tag.encode() + b"\r\n\r\nfirst part"
           + sequence
           + b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
           + b"From: admin@example.test\r\nSubject: smuggled " + tag.encode() + b"\r\n\r\nboo\r\n"
           + b".\r\n")
    code, text = c.reply()
    assert (code, text[:5]) == (550, b"5.5.2")  # one reply for the whole thing
    assert c.no_more_replies()  # no 250 for a smuggled MAIL, RCPT or DATA
    c.send(b"QUIT\r\n")
    assert c.reply()[0] == 221
    c.close()
    everything = inbox(server.config, f"anna@{DOMAIN}") + inbox(server.config, f"bob@{DOMAIN}")
    assert not [m for m in everything if tag.encode() in m]
    assert not [q for q in queue(server.config) if tag.encode() in q[2]]


def test_dot_stuffed_lines_are_content(server: ServerProcess) -> None:
    tag = uuid.uuid4().hex[:8]
    c = Raw(server.port("smtp"))
    c.send(b"EHLO client.example\r\nMAIL FROM:<sender@remote.test>\r\nRCPT TO:<anna@example.test>\r\n"
           b"DATA\r\n")
    assert [c.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    c.send(b"Subject: dots " + tag.encode() + b"\r\n\r\n..\r\n..MAIL FROM:<x@y.test>\r\n...\r\n.\r\n")
    assert c.reply()[0] == 250
    c.send(b"QUIT\r\n")
    assert c.reply()[0] == 221
    c.close()
    (raw,) = [m for m in inbox(server.config, f"anna@{DOMAIN}") if tag.encode() in m]
    assert split_trace(raw)[1] == (b"Subject: dots " + tag.encode()
                                   + b"\r\n\r\n.\r\n.MAIL FROM:<x@y.test>\r\n..\r\n")


def test_pipelined_second_message_after_a_refused_one(server: ServerProcess) -> None:
    """After the refusal the session is in step: a real second transaction works."""
    tag = uuid.uuid4().hex[:8]
    c = Raw(server.port("smtp"))
    c.send(b"EHLO client.example\r\nMAIL FROM:<sender@remote.test>\r\nRCPT TO:<anna@example.test>\r\n"
           b"DATA\r\n")
    assert [c.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    c.send(b"Subject: bad\r\n\r\nx\ny\r\n.\r\nMAIL FROM:<sender@remote.test>\r\n"
           b"RCPT TO:<anna@example.test>\r\nDATA\r\n")
    assert [c.reply()[0] for _ in range(4)] == [550, 250, 250, 354]
    c.send(b"Subject: good " + tag.encode() + b"\r\n\r\nfine\r\n.\r\nQUIT\r\n")
    assert [c.reply()[0] for _ in range(2)] == [250, 221]
    c.close()
    assert len([m for m in inbox(server.config, f"anna@{DOMAIN}") if tag.encode() in m]) == 1


def stored_anywhere(server: ServerProcess, tag: bytes) -> bool:
    everything = inbox(server.config, f"anna@{DOMAIN}") + inbox(server.config, f"bob@{DOMAIN}")
    return any(tag in m for m in everything) or any(tag in q[2] for q in queue(server.config))


@pytest.mark.parametrize("command", ["DATA", "BDAT"])
def test_nul_is_refused_on_the_mx(server: ServerProcess, command: str) -> None:
    tag = uuid.uuid4().hex[:8].encode()
    body = (b"From: sender@remote.test\r\nSubject: nul " + tag + b"\r\n\r\nfirst\r\n\x00.\r\n"
            b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
    c = Raw(server.port("smtp"))
    c.send(b"EHLO client.example\r\nMAIL FROM:<sender@remote.test>\r\nRCPT TO:<anna@example.test>\r\n")
    assert [c.reply()[0] for _ in range(3)] == [250, 250, 250]
    if command == "DATA":
        c.send(b"DATA\r\n")
        assert c.reply()[0] == 354
        c.send(body + b".\r\n")
    else:
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    code, text = c.reply()
    assert (code, text[:5]) == (550, b"5.6.0")
    assert c.no_more_replies()
    c.send(b"QUIT\r\n")
    assert c.reply()[0] == 221
    c.close()
    assert not stored_anywhere(server, tag)


@pytest.mark.parametrize("listener", ["smtp", "submissions"])
def test_swaks_message_with_nul_is_refused(server: ServerProcess, tmp_path: Path, listener: str) -> None:
    swaks = require_tool("swaks")
    tag = uuid.uuid4().hex[:8]
    path = tmp_path / f"{tag}.eml"
    # swaks turns LF into CR LF and ends the data itself
    path.write_bytes(f"From: anna@{DOMAIN}\nTo: bob@{DOMAIN}\nSubject: nul {tag}\n\nline\n".encode()
                     + b"\x00.\nafter")
    args = [swaks, "--server", f"127.0.0.1:{server.port(listener)}", "--from", f"anna@{DOMAIN}",
            "--to", f"bob@{DOMAIN}", "--data", f"@{path}"]
    if listener == "submissions":
        args += ["--tls-on-connect", "--auth", "PLAIN", "--auth-user", f"anna@{DOMAIN}",
                 "--auth-password", PASSWORD]
    result = subprocess.run(args, capture_output=True, timeout=60)
    out = result.stdout.decode(errors="replace")
    assert result.returncode != 0 and "* 550 5.6.0 " in out, out[-2000:]  # "<**" or "<~*" (TLS)
    assert not stored_anywhere(server, tag.encode())
