"""500 idle connections from one address (issue 15): the configured per-address limit
holds (that many are served, every other one gets the refusal line and is closed),
and meanwhile the server keeps serving other addresses: logins, mail, greetings."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Iterator

import pytest

from tests.support.mail import create_mailboxes_sync
from tests.support.server import ServerProcess, running_server, write_config

FLOOD = 500
PER_ADDRESS = 20
PASSWORD = "Tq7#mZ2v!pLx"
USER = "anna@example.test"
TIMEOUT = 30.0
REFUSAL = b"* BYE [UNAVAILABLE] Too many connections from your address\r\n"


def _tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = write_config(tmp_path_factory.mktemp("flood"), {"limits": {
        "max_connections_per_ip": PER_ADDRESS, "max_connections_per_listener": 5000}})
    create_mailboxes_sync(config, [USER], PASSWORD)
    with running_server(config) as srv:
        yield srv


async def _open(server: ServerProcess, listener: str, source: str, *, tls: bool = False,
                ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(
        "127.0.0.1", server.port(listener), local_addr=(source, 0),
        ssl=_tls() if tls else None, server_hostname="localhost" if tls else None), TIMEOUT)
    return reader, writer, await asyncio.wait_for(reader.readline(), TIMEOUT)


async def _served_elsewhere(server: ServerProcess) -> None:
    """Another address logs in over IMAPS and submits a message meanwhile."""
    reader, writer, greeting = await _open(server, "imaps", "127.0.0.3", tls=True)
    assert greeting.startswith(b"* OK ")
    writer.write(f'a LOGIN {USER} "{PASSWORD}"\r\n'.encode())
    assert (await asyncio.wait_for(reader.readline(), TIMEOUT)).startswith(b"a OK")
    writer.write(b"b SELECT INBOX\r\n")
    while not (line := await asyncio.wait_for(reader.readline(), TIMEOUT)).startswith(b"b "):
        pass
    assert line.startswith(b"b OK")
    writer.close()
    reader, writer, greeting = await _open(server, "submissions", "127.0.0.4", tls=True)
    assert greeting.startswith(b"220 ")
    token = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    for line, expect in ((b"EHLO client.test", b"250 "), (f"AUTH PLAIN {token}".encode(), b"235 "),
                         (f"MAIL FROM:<{USER}>".encode(), b"250 "),
                         (f"RCPT TO:<{USER}>".encode(), b"250 "), (b"DATA", b"354 "),
                         (f"From: {USER}\r\nSubject: meanwhile\r\n\r\nhello\r\n.".encode(), b"250 ")):
        writer.write(line + b"\r\n")
        while not (reply := await asyncio.wait_for(reader.readline(), TIMEOUT))[3:4] == b" ":
            pass
        assert reply.startswith(expect), (line, reply)
    writer.close()


async def test_five_hundred_idle_connections_from_one_address(server: ServerProcess) -> None:
    async def one() -> tuple[asyncio.StreamWriter, bytes, bytes]:
        reader, writer, greeting = await _open(server, "imap", "127.0.0.2")
        rest = b"" if greeting.startswith(b"* OK ") else await asyncio.wait_for(
            reader.read(), TIMEOUT)
        return writer, greeting, rest

    flood = [asyncio.create_task(one()) for _ in range(FLOOD)]
    await _served_elsewhere(server)  # while the flood connects
    results = await asyncio.gather(*flood)
    held = [w for w, greeting, _ in results if greeting.startswith(b"* OK ")]
    refused = [(greeting, rest) for _, greeting, rest in results
               if not greeting.startswith(b"* OK ")]
    try:
        assert len(held) == PER_ADDRESS
        assert len(refused) == FLOOD - PER_ADDRESS
        assert all(greeting == REFUSAL and rest == b"" for greeting, rest in refused)
        await _served_elsewhere(server)  # while the flood's connections sit idle
        # a fresh address still gets its own connections on the same listener
        _, writer, greeting = await _open(server, "imap", "127.0.0.5")
        assert greeting.startswith(b"* OK ")
        writer.close()
    finally:
        for w, _, _ in results:
            w.close()
        await asyncio.gather(*(w.wait_closed() for w, _, _ in results), return_exceptions=True)
