"""Connection limits on every listener of a running server: the (N+1)th connection
from one address gets its protocol's refusal before the close, another address is
still served, and a full listener refuses everyone."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator

import pytest

from tests.support.server import ServerProcess, running_server, write_config

PER_ADDRESS = 3
PER_LISTENER = 6
TIMEOUT = 10.0
TLS_LISTENERS = ("submissions", "imaps", "pop3s")
GREETING = {
    "smtp": b"220 ", "submission": b"220 ", "submissions": b"220 ",
    "imap": b"* OK ", "imaps": b"* OK ", "pop3": b"+OK ", "pop3s": b"+OK ",
}
_SMTP = b"421 4.7.0 Too many connections from your address\r\n"
_IMAP = b"* BYE [UNAVAILABLE] Too many connections from your address\r\n"
_POP3 = b"-ERR [SYS/TEMP] Too many connections from your address\r\n"
REFUSAL = {"smtp": _SMTP, "submission": _SMTP, "submissions": _SMTP,
           "imap": _IMAP, "imaps": _IMAP, "pop3": _POP3, "pop3s": _POP3}


def client_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = write_config(tmp_path_factory.mktemp("connection-limits"), {"limits": {
        "max_connections_per_ip": PER_ADDRESS, "max_connections_per_listener": PER_LISTENER}})
    with running_server(config) as srv:
        yield srv


async def connect(server: ServerProcess, listener: str, source: str,
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(
        "127.0.0.1", server.port(listener), local_addr=(source, 0),
        ssl=client_tls() if listener in TLS_LISTENERS else None,
        server_hostname="localhost" if listener in TLS_LISTENERS else None), TIMEOUT)


async def greeted(server: ServerProcess, listener: str, source: str,
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await connect(server, listener, source)
    line = await asyncio.wait_for(reader.readline(), TIMEOUT)
    assert line.startswith(GREETING[listener]), (listener, source, line)
    return reader, writer


async def refused(server: ServerProcess, listener: str, source: str) -> bytes:
    """Everything the server sends a refused connection, up to its close."""
    reader, writer = await connect(server, listener, source)
    try:
        return await asyncio.wait_for(reader.read(), TIMEOUT)
    finally:
        writer.close()


async def close_all(held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> None:
    for _, writer in held:
        writer.close()
    for _, writer in held:
        try:
            await writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


@pytest.mark.parametrize("listener", ["smtp", "submission", "submissions", "imap", "imaps",
                                      "pop3", "pop3s"])
async def test_the_connection_past_the_per_address_limit_is_refused(
        server: ServerProcess, listener: str) -> None:
    held = [await greeted(server, listener, "127.0.0.1") for _ in range(PER_ADDRESS)]
    try:
        assert await refused(server, listener, "127.0.0.1") == REFUSAL[listener]
        # Another address is still served, and so is this one once a slot is free.
        held.append(await greeted(server, listener, "127.0.0.2"))
        _, first = held.pop(0)
        first.close()
        await asyncio.sleep(0.2)  # the server sees the close
        held.append(await greeted(server, listener, "127.0.0.1"))
    finally:
        await close_all(held)


async def test_a_full_listener_refuses_every_address(server: ServerProcess) -> None:
    sources = ["127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"]
    held = [await greeted(server, "imap", source) for source in sources]
    try:
        assert await refused(server, "imap", "127.0.0.4") == (
            b"* BYE [UNAVAILABLE] Too many connections, try again later\r\n")
        held.append(await greeted(server, "pop3", "127.0.0.4"))  # the limit is per listener
    finally:
        await close_all(held)
