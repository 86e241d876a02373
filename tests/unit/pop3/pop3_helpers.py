"""A POP3 session over a fake transport: feed bytes, read back exactly what it wrote."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from postbus.app import App
from postbus.config import from_dict
from postbus.pop3.proto import LineReceiver
from postbus.pop3.session import Pop3Session
from postbus.store.model import INBOX

PASSWORD = "Tq7#mZ2v!pLx"
ANNA = "anna@example.test"
SETTLE_TIMEOUT = 10.0


class FakeTransport(asyncio.Transport):
    """Records writes; `high_water` makes it call pause_writing like a real one."""

    def __init__(self, *, tls: bool, high_water: int | None = None) -> None:
        super().__init__()
        self.out = bytearray()
        self.closed = False
        self.reading_paused = False
        self.high_water = high_water
        self.paused = False
        self.written_while_paused = 0
        self.protocol: asyncio.Protocol | None = None
        self._extra: dict[str, Any] = {"peername": ("192.0.2.1", 40000)}
        if tls:
            self._extra["ssl_object"] = object()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._extra.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.paused:
            self.written_while_paused += len(data)
        self.out += data
        if self.high_water is not None and not self.paused and len(self.out) > self.high_water:
            self.paused = True
            assert self.protocol is not None
            self.protocol.pause_writing()

    def drain_client(self) -> bytes:
        """The client reads everything: the buffer empties and writing resumes."""
        data = bytes(self.out)
        self.out.clear()
        if self.paused:
            self.paused = False
            assert self.protocol is not None
            self.protocol.resume_writing()
        return data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.protocol is not None:
                asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:
        self.reading_paused = True

    def resume_reading(self) -> None:
        self.reading_paused = False

    def is_reading(self) -> bool:
        return not self.reading_paused


class Client:
    def __init__(self, session: Pop3Session, transport: FakeTransport) -> None:
        self.session = session
        self.transport = transport
        self.greeting = b""

    async def settle(self) -> None:
        """Waits until the session has answered everything and waits for the client."""
        async def idle() -> None:
            task = self.session._task
            while not (self.session.idle.is_set() or task is None or task.done()):
                await asyncio.sleep(0.001)

        await asyncio.wait_for(idle(), SETTLE_TIMEOUT)

    async def send(self, data: bytes) -> bytes:
        self.session.data_received(data)
        await self.settle()
        return self.transport.drain_client()

    async def cmd(self, line: str) -> bytes:
        return await self.send(line.encode() + b"\r\n")

    async def login(self, address: str = ANNA, password: str = PASSWORD) -> bytes:
        await self.cmd(f"USER {address}")
        return await self.cmd(f"PASS {password}")

    async def drop(self) -> None:
        """The client vanishes without QUIT."""
        self.transport.closed = True
        self.session.connection_lost(ConnectionResetError())
        await self.finished()

    async def finished(self) -> None:
        task = self.session._task
        if task is not None:
            await asyncio.wait_for(asyncio.shield(task), SETTLE_TIMEOUT)


@asynccontextmanager
async def connect(app: App, *, tls: bool = True, service: str | None = None,
                  high_water: int | None = None) -> AsyncIterator[Client]:
    session = Pop3Session(app, service or ("pop3s" if tls else "pop3"))
    transport = FakeTransport(tls=tls, high_water=high_water)

    async def fake_start_tls() -> None:
        """What Pop3Session.start_tls does, minus the handshake a fake transport cannot do."""
        session.receiver = LineReceiver()
        session.tls = True

    session.start_tls = fake_start_tls  # type: ignore[method-assign]
    transport.protocol = session
    session.connection_made(transport)
    client = Client(session, transport)
    await client.settle()
    client.greeting = transport.drain_client()
    try:
        yield client
    finally:
        if not transport.closed:
            await client.drop()
        await client.finished()


async def make_app(data_dir: Path, **overrides: Any) -> App:
    settings = from_dict({"data_dir": str(data_dir), "hostname": "mail.example.test",
                          "security": {"auth_failure_delay": 0}, **overrides})
    app = App(settings)
    await app.open()
    await app.store.add_domain("example.test")
    await app.accounts.add_user(ANNA, PASSWORD)
    return app


async def inbox_uids(app: App, address: str = ANNA) -> list[int]:
    account = await app.store.get_account(address)
    assert account is not None
    inbox = await app.store.get_mailbox(account.id, INBOX)
    assert inbox is not None
    return [e.uid for e in await app.store.list_messages(inbox.id)]


def plain(authzid: str, authcid: str, password: str) -> str:
    return base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode()).decode()


def message(subject: str, body: str = "Hello.\r\n") -> bytes:
    return (f"From: bob@example.test\r\nTo: {ANNA}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n\r\n{body}").encode()
