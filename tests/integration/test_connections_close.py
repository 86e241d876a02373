"""The close after LOGOUT / QUIT over TLS: the server sends its reply and close_notify
and closes TCP at once, even when the client never reads another byte and never
sends its own close_notify (RFC 8446 §6.1 does not make the closer wait).

The client here does TLS through memory BIOs over a plain socket, so that after
sending LOGOUT it can stop taking part in TLS entirely, and watches the kernel's
TCP state (TCP_INFO) for the server's FIN or RST without reading the socket.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Iterator

import pytest

from tests.support.server import ServerProcess, running_server, write_config

#: The issue's bound: TCP is closed within 1 s of LOGOUT / QUIT, whatever the client does.
CLOSE_BOUND = 1.0
TCP_CLOSE, TCP_CLOSE_WAIT = 7, 8  # include/net/tcp_states.h: RST seen, FIN seen
COMMANDS = {"imaps": b"a1 LOGOUT\r\n", "pop3s": b"QUIT\r\n", "submissions": b"QUIT\r\n"}
GREETING = {"imaps": b"* OK ", "pop3s": b"+OK ", "submissions": b"220 "}
REPLY = {"imaps": b"* BYE Logging out\r\na1 OK LOGOUT completed\r\n",
         "pop3s": b"+OK Postbus POP3 signing off\r\n",
         "submissions": b"221 2.0.0 Bye\r\n"}


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def server(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    config = write_config(tmp_path_factory.mktemp("connection-close"))
    with running_server(config, env={"POSTBUS_LOOP": request.param}) as srv:
        yield srv


class BioClient:
    """TLS over memory BIOs: the test decides when (and whether) bytes move."""

    def __init__(self, port: int) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname="localhost")
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._pull()
        self._flush()

    def _flush(self) -> None:
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def _pull(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the server")
        self.incoming.write(data)

    def readline(self) -> bytes:
        line = b""
        while not line.endswith(b"\n"):
            try:
                line += self.tls.read(1)
            except ssl.SSLWantReadError:
                self._pull()
        return line

    def send(self, data: bytes) -> None:
        self.tls.write(data)
        self._flush()

    def rest(self) -> bytes:
        """The application data left up to the server's close_notify."""
        while data := self.sock.recv(65536):
            self.incoming.write(data)
        out = b""
        try:
            while chunk := self.tls.read(65536):
                out += chunk
        except ssl.SSLWantReadError:
            raise AssertionError(f"no close_notify after {out!r}") from None
        return out  # read() gives b"" once the close_notify is in

    def tcp_state(self) -> int:
        return struct.unpack("B", self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1))[0]


@pytest.mark.parametrize("listener", ["imaps", "pop3s", "submissions"])
def test_logout_closes_tcp_at_once_without_the_clients_close_notify(
        server: ServerProcess, listener: str) -> None:
    client = BioClient(server.port(listener))
    try:
        assert client.readline().startswith(GREETING[listener])
        client.send(COMMANDS[listener])
        sent = time.monotonic()
        # From here on the client neither reads the socket nor sends anything.
        while client.tcp_state() not in (TCP_CLOSE_WAIT, TCP_CLOSE):
            assert time.monotonic() - sent < CLOSE_BOUND, "the server kept the connection open"
            time.sleep(0.005)
        print(f"{listener}: TCP closed by the server {1000 * (time.monotonic() - sent):.1f} ms "
              "after the command")
        # What the server sent before its FIN: the reply, then close_notify.
        assert client.rest() == REPLY[listener]
    finally:
        client.sock.close()
