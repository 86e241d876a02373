"""Every timeout of the connection layer, for every protocol, on a running server.

Two servers: one where only the idle timeout (`command_timeout`) is short, and one
where only the handshake, line and data timeouts are short and the idle timeout is an
hour. A connection closed well inside that hour on the second server can only have
been closed by the timeout under test; a client trickling a line keeps sending, so it
is never idle.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator

import pytest

from tests.support.mailstore import DOMAIN, PASSWORD, mail_config
from tests.support.server import ServerProcess, running_server

SHORT = "1s"
#: Generous next to the 1 s timeouts and far below the hour the others are set to.
WITHIN = 20.0
GREETING = {"smtp": b"220 ", "imap": b"* OK ", "pop3": b"+OK "}
#: What each protocol says when it times a client out (RFC 1939 §3: POP3 says nothing).
GOODBYE = {"smtp": b"421 4.4.2 Timeout, closing transmission channel\r\n",
           "imap": b"* BYE Autologout; idle for too long\r\n", "pop3": b""}


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = mail_config(tmp_path_factory.mktemp("timeouts-idle"),
                         {"limits": {"command_timeout": SHORT}})
    with running_server(config) as srv:
        yield srv


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = mail_config(tmp_path_factory.mktemp("timeouts"), {"limits": {
        "command_timeout": "1h", "handshake_timeout": SHORT, "line_timeout": SHORT,
        "data_timeout": SHORT}})
    with running_server(config) as srv:
        yield srv


def client_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def greeted(server: ServerProcess, listener: str,
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port(listener))
    assert (await asyncio.wait_for(reader.readline(), WITHIN)).startswith(GREETING[listener])
    return reader, writer


async def rest_until_closed(reader: asyncio.StreamReader) -> bytes:
    """What the server sends before it closes; fails if it does not close in time."""
    return await asyncio.wait_for(reader.read(), WITHIN)


@pytest.mark.parametrize("listener", ["smtp", "imap", "pop3"])
async def test_idle_client_is_disconnected(idle_server: ServerProcess, listener: str) -> None:
    reader, writer = await greeted(idle_server, listener)
    try:
        assert await rest_until_closed(reader) == GOODBYE[listener]
    finally:
        writer.close()


@pytest.mark.parametrize("listener", ["submissions", "imaps", "pop3s"])
async def test_implicit_tls_handshake_timeout(server: ServerProcess, listener: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port(listener))
    try:
        writer.write(b"\x16\x03\x01")  # the start of a ClientHello, and no more
        assert await rest_until_closed(reader) == b""
    finally:
        writer.close()


@pytest.mark.parametrize(("listener", "command"), [
    ("smtp", b"STARTTLS\r\n"), ("imap", b"a1 STARTTLS\r\n"), ("pop3", b"STLS\r\n")])
async def test_starttls_handshake_timeout(server: ServerProcess, listener: str,
                                          command: bytes) -> None:
    reader, writer = await greeted(server, listener)
    try:
        if listener == "smtp":
            writer.write(b"EHLO client.test\r\n")
            while not (await reader.readline()).startswith(b"250 "):
                pass
        writer.write(command)
        assert (await asyncio.wait_for(reader.readline(), WITHIN))[:1] in (b"2", b"a", b"+")
        assert await rest_until_closed(reader) == b""  # no ClientHello ever comes
    finally:
        writer.close()


@pytest.mark.parametrize("listener", ["smtp", "imap", "pop3"])
async def test_a_line_trickled_byte_by_byte_is_cut_off(server: ServerProcess,
                                                       listener: str) -> None:
    reader, writer = await greeted(server, listener)
    closed = asyncio.ensure_future(reader.read())
    started = time.monotonic()
    try:
        prefix = b"a1 NOOP " if listener == "imap" else b"NOOP "
        writer.write(prefix)
        while not closed.done():  # one more byte every 0.1 s: never silent
            assert time.monotonic() - started < WITHIN, "the trickle was never cut off"
            writer.write(b"x")
            await asyncio.sleep(0.1)
        rest = await closed
        assert rest == GOODBYE[listener], rest
    finally:
        closed.cancel()
        writer.close()


async def test_a_stalled_imap_literal_is_cut_off(server: ServerProcess) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port("imaps"),
                                                   ssl=client_tls())
    try:
        assert (await asyncio.wait_for(reader.readline(), WITHIN)).startswith(b"* OK ")
        writer.write(f'a1 LOGIN anna@{DOMAIN} "{PASSWORD}"\r\n'.encode())
        assert (await asyncio.wait_for(reader.readline(), WITHIN)).startswith(b"a1 OK ")
        writer.write(b"a2 APPEND INBOX {100}\r\n")
        assert (await asyncio.wait_for(reader.readline(), WITHIN)).startswith(b"+ ")
        writer.write(b"Subject: x\r\n")  # 12 of the 100 octets, then nothing
        assert await rest_until_closed(reader) == GOODBYE["imap"]
    finally:
        writer.close()


async def test_an_unauthenticated_imap_command_must_arrive_within_the_line_timeout(
        server: ServerProcess) -> None:
    """Before login a command and its literals count as one line: a literal trickled
    byte by byte, with line ends inside it, is cut off too."""
    reader, writer = await greeted(server, "imap")
    closed = asyncio.ensure_future(reader.read())
    started = time.monotonic()
    try:
        writer.write(b"a1 LOGIN {4000+}\r\n")
        while not closed.done():
            assert time.monotonic() - started < WITHIN, "the trickle was never cut off"
            writer.write(b"x\r\n")
            await asyncio.sleep(0.1)
        assert await closed == GOODBYE["imap"]
    finally:
        closed.cancel()
        writer.close()


async def test_a_stalled_smtp_data_is_cut_off(server: ServerProcess) -> None:
    reader, writer = await greeted(server, "smtp")
    try:
        writer.write(f"EHLO client.test\r\nMAIL FROM:<x@remote.test>\r\n"
                     f"RCPT TO:<anna@{DOMAIN}>\r\nDATA\r\n".encode())
        replies = []
        while not replies or not replies[-1].startswith(b"354"):
            replies.append(await asyncio.wait_for(reader.readline(), WITHIN))
        writer.write(b"Subject: stalled\r\n\r\nthe first line\r\n")  # and no end
        assert await rest_until_closed(reader) == GOODBYE["smtp"]
    finally:
        writer.close()
