"""STARTTLS cannot be stripped into a plain-text login, on a real server.

On each plain-text port (IMAP 143, POP3 110, submission 587): before TLS no
login method is advertised and a login is refused, so a man in the middle who
removes STARTTLS from the capability list gets no password (RFC 9051 §6.2.1
LOGINDISABLED, RFC 2595 §4, RFC 4954 §4); and a command pipelined behind
STARTTLS in the same packet is dropped, not run inside TLS (the command
injection of CVE-2011-0411)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.support.mail import create_mailboxes_sync
from tests.support.server import ServerProcess, running_server, write_config
from tests.support.tools import trusting_tls

USER, PASSWORD = "strip@example.test", "Tq7#mZ2v!pLx"
TIMEOUT = 15.0  # a socket timeout, not a performance bound


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("strip")
    config = write_config(directory)
    create_mailboxes_sync(config, [USER], PASSWORD)
    with running_server(config) as srv:
        yield srv



class Line:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def read(self) -> bytes:
        while b"\r\n" not in self.buffer:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("closed")
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def until(self, prefix: bytes) -> list[bytes]:
        lines = []
        while True:
            lines.append(self.read())
            if lines[-1].startswith(prefix):
                return lines


def _connect(port: int) -> tuple[socket.socket, Line]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return sock, Line(sock)


def test_imap(server: ServerProcess) -> None:
    sock, r = _connect(server.port("imap"))
    assert r.read().startswith(b"* OK")
    sock.sendall(b"a CAPABILITY\r\n")
    caps = b" ".join(r.until(b"a "))
    assert b"LOGINDISABLED" in caps and b"AUTH=" not in caps
    sock.sendall(f"b LOGIN {USER} {PASSWORD}\r\n".encode())
    assert r.until(b"b ")[-1].startswith(b"b NO")
    sock.sendall(f"c STARTTLS\r\nd LOGIN {USER} {PASSWORD}\r\n".encode())
    assert r.until(b"c ")[-1].startswith(b"c OK")
    tls = trusting_tls().wrap_socket(sock, server_hostname="localhost")
    t = Line(tls)
    tls.sendall(b"e NOOP\r\n")
    # "d" was pipelined in plain text: dropped, so the first tagged reply is e's
    replies = t.until(b"e ")
    assert replies[-1].startswith(b"e OK")
    assert not any(line.startswith(b"d ") for line in replies)
    tls.sendall(b"f LOGOUT\r\n")
    t.until(b"f ")
    tls.close()


def test_pop3(server: ServerProcess) -> None:
    sock, r = _connect(server.port("pop3"))
    assert r.read().startswith(b"+OK")
    sock.sendall(b"CAPA\r\n")
    caps = r.until(b".")
    assert b"STLS" in caps and not any(c.startswith(b"SASL") or c == b"USER" for c in caps)
    sock.sendall(f"USER {USER}\r\n".encode())
    assert r.read().startswith(b"-ERR")
    sock.sendall(f"STLS\r\nUSER {USER}\r\n".encode())
    assert r.read().startswith(b"+OK")
    tls = trusting_tls().wrap_socket(sock, server_hostname="localhost")
    t = Line(tls)
    tls.sendall(b"NOOP\r\n")
    # the pipelined USER was dropped (its reply would be +OK): the first reply
    # in TLS is NOOP's, refused before login
    assert t.read().startswith(b"-ERR")
    tls.sendall(f"USER {USER}\r\nPASS {PASSWORD}\r\n".encode())
    assert t.read().startswith(b"+OK") and t.read().startswith(b"+OK")
    tls.sendall(b"QUIT\r\n")
    t.read()
    tls.close()


def test_submission(server: ServerProcess) -> None:
    sock, r = _connect(server.port("submission"))
    assert r.read().startswith(b"220")
    sock.sendall(b"EHLO client.test\r\n")
    ehlo = r.until(b"250 ")
    assert any(b"STARTTLS" in line for line in ehlo)
    assert not any(line[4:].startswith(b"AUTH") for line in ehlo)
    sock.sendall(b"AUTH PLAIN AHN0cmlwQGV4YW1wbGUudGVzdABUcTcjbVoydiFwTHg=\r\n")
    assert r.read()[:1] == b"5"  # 530 5.7.0 Must issue a STARTTLS command first
    sock.sendall(b"STARTTLS\r\nMAIL FROM:<strip@example.test>\r\n")
    assert r.read().startswith(b"220")
    tls = trusting_tls().wrap_socket(sock, server_hostname="localhost")
    t = Line(tls)
    tls.sendall(b"EHLO client.test\r\n")
    ehlo = t.until(b"250 ")
    # the pipelined MAIL was dropped: the first reply in TLS is EHLO's, which now offers AUTH
    assert ehlo[0].startswith(b"250") and any(line[4:].startswith(b"AUTH") for line in ehlo)
    tls.sendall(b"QUIT\r\n")
    t.read()
    tls.close()
