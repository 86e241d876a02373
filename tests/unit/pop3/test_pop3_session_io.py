"""POP3 session plumbing: timeouts, shutdown, bounded input, server faults, and
TLS (implicit and STLS) over real loopback sockets through the listener."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from postbus.app import App
from postbus.pop3 import session as session_module
from postbus.pop3.listener import protocol_factory
from tests.support.mail import deliver
from tests.unit.pop3.pop3_helpers import ANNA, PASSWORD, connect, inbox_uids, message


async def test_silent_client_is_disconnected_without_reply(app: App,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    app.settings.limits.command_timeout = 0.05  # type: ignore[assignment]
    async with connect(app) as client:
        await client.finished()
        assert client.transport.closed and client.transport.drain_client() == b""
    monkeypatch.setattr(session_module, "MIN_TRANSACTION_TIMEOUT", 0.1)
    await deliver(app, ANNA, message("kept"))
    async with connect(app) as client:
        assert client.session.timeout == 0.05
        app.settings.limits.command_timeout = 30
        await client.login()
        app.settings.limits.command_timeout = 0.01  # type: ignore[assignment]
        assert client.session.timeout == 0.1  # never below the RFC 1939 floor (patched here)
        await client.cmd("DELE 1")
        await client.finished()
        assert client.transport.closed and client.transport.drain_client() == b""
    assert len(await inbox_uids(app)) == 1


async def test_shutdown_says_goodbye_and_deletes_nothing(app: App) -> None:
    await deliver(app, ANNA, message("kept"))
    async with connect(app) as client:
        await client.login()
        await client.cmd("DELE 1")
        client.session.shutdown()
        await client.finished()
        assert client.transport.drain_client() == b"-ERR [SYS/TEMP] Server shutting down\r\n"
        assert client.transport.closed and client.session not in app.sessions
    assert len(await inbox_uids(app)) == 1


async def test_shutdown_during_an_auth_exchange(app: App) -> None:
    async with connect(app) as client:
        assert await client.cmd("AUTH PLAIN") == b"+ \r\n"
        client.session.shutdown()
        await client.finished()
        assert client.transport.drain_client() == b"-ERR [SYS/TEMP] Server shutting down\r\n"


async def test_abort_releases_the_lock(app: App) -> None:
    async with connect(app) as client:
        await client.login()
        client.session.abort()
        await client.finished()
    async with connect(app) as again:
        assert (await again.login()).startswith(b"+OK Logged in")


async def test_a_flood_of_pipelined_input_pauses_reading(app: App) -> None:
    async with connect(app) as client:
        flood = b"NOOP\r\n" * 20_000
        client.session.data_received(flood)
        assert client.transport.reading_paused
        await client.settle()
        assert not client.transport.reading_paused
        assert client.transport.drain_client() == b"-ERR Not logged in\r\n" * 20_000


@pytest.mark.allow_errors
async def test_server_fault_is_generic_err_and_the_session_goes_on(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(mailbox_id: int) -> Any:
        raise RuntimeError("disk on fire")

    real = app.store.list_messages
    monkeypatch.setattr(app.store, "list_messages", broken)
    async with connect(app) as client:
        assert await client.login() == b"-ERR [SYS/TEMP] Internal server error, try again later\r\n"
        monkeypatch.setattr(app.store, "list_messages", real)
        assert (await client.login()).startswith(b"+OK Logged in")  # the lock was given back


@pytest.mark.allow_errors
async def test_server_fault_mid_message_closes_the_connection(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    await deliver(app, ANNA, b"Subject: big\r\n\r\n" + b"z" * 200_000 + b"\r\n")
    real = app.store.read_blob

    async def failing(blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        if offset:
            raise RuntimeError("disk on fire")
        return await real(blob_id, offset, length)

    async with connect(app) as client:
        await client.login()
        monkeypatch.setattr(app.store, "read_blob", failing)
        out = await client.cmd("RETR 1")
        await client.finished()
        assert out.startswith(b"+OK 200018 octets\r\n") and not out.endswith(b"\r\n.\r\n")
        assert client.transport.closed


# -- real sockets --------------------------------------------------------------------
@asynccontextmanager
async def listening(app: App, service: str) -> AsyncIterator[int]:
    server = await asyncio.get_running_loop().create_server(
        protocol_factory(app, service), "127.0.0.1", 0, ssl=app.tls if service == "pop3s" else None)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for session in list(app.sessions):
            session.abort()
        await server.wait_closed()


def _client_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def _multiline(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n.\r\n")


async def test_stls_drops_pipelined_plaintext_and_then_allows_login(app: App) -> None:
    async with listening(app, "pop3") as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await reader.readline() == b"+OK Postbus POP3 ready mail.example.test\r\n"
        writer.write(b"STLS\r\nUSER injected@example.test\r\n")
        assert await reader.readline() == b"+OK Begin TLS negotiation\r\n"
        await writer.start_tls(_client_tls(), server_hostname="localhost")
        writer.write(b"CAPA\r\n")
        capa = await _multiline(reader)
        assert b"\r\nUSER\r\nSASL PLAIN\r\n" in capa and b"STLS" not in capa
        writer.write(f"PASS {PASSWORD}\r\nSTLS\r\n".encode())
        assert await reader.readline() == b"-ERR Send USER first\r\n"  # the injected USER is gone
        assert await reader.readline() == b"-ERR Already using TLS\r\n"
        writer.write(f"USER {ANNA}\r\nPASS {PASSWORD}\r\nQUIT\r\n".encode())
        assert await reader.readline() == b"+OK Send your password\r\n"
        assert (await reader.readline()).startswith(b"+OK Logged in")
        assert await reader.readline() == b"+OK Postbus POP3 signing off (0 messages left)\r\n"
        assert await reader.read() == b""
        writer.close()


async def test_implicit_tls_listener(app: App) -> None:
    raw = message("tls", ".dot\r\n")
    await deliver(app, ANNA, raw)
    async with listening(app, "pop3s") as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=_client_tls(),
                                                       server_hostname="localhost")
        assert await reader.readline() == b"+OK Postbus POP3 ready mail.example.test\r\n"
        writer.write(f"USER {ANNA}\r\nPASS {PASSWORD}\r\nRETR 1\r\nQUIT\r\n".encode())
        await reader.readline()
        await reader.readline()
        assert await _multiline(reader) == (
            f"+OK {len(raw)} octets\r\n".encode() + raw.replace(b"\n.", b"\n..") + b".\r\n")
        assert (await reader.readline()).startswith(b"+OK Postbus POP3 signing off")
        writer.close()


async def test_connections_per_address_are_limited(app: App) -> None:
    app.settings.limits.max_connections_per_ip = 2
    async with listening(app, "pop3") as port:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        for reader, _ in held:
            assert (await reader.readline()).startswith(b"+OK")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await reader.read() == b"-ERR [SYS/TEMP] Too many connections from your address\r\n"
        writer.close()
        held[0][1].write(b"QUIT\r\n")
        assert await held[0][0].read() == b"+OK Postbus POP3 signing off\r\n"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert (await reader.readline()).startswith(b"+OK Postbus POP3 ready")
        for _, w in [*held, (reader, writer)]:
            w.close()
