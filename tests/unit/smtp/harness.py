"""An in-process SMTP server for byte-level session tests, and a raw line client.

`smtp_app(tmp_path)` opens an App on a fresh embedded store with one hosted
domain (example.test: anna, bob; alias info -> anna), starts the three SMTP
listeners on 127.0.0.1 port 0 and yields a `Harness`. `Client` speaks raw
bytes so that tests can send exactly what they mean, pipelined or broken.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postbus.app import App
from postbus.config import from_dict
from postbus.smtp.listener import protocol_factory, start_services
from postbus.store.model import INBOX

PASSWORD = "Tq7#mZ2v!pLx"
DOMAIN = "example.test"
# a static table means no network lookups; the client's address has a confirmed name
STATIC_DNS = {"PTR 127.0.0.1": ["client.localhost"], "A client.localhost": ["127.0.0.1"]}


def client_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@dataclass
class Harness:
    app: App
    ports: dict[str, int]
    clients: list[Client] = field(default_factory=list)

    async def connect(self, name: str = "smtp", *, greet: bool = True) -> Client:
        tls = client_tls() if name == "submissions" else None
        reader, writer = await asyncio.open_connection("127.0.0.1", self.ports[name], ssl=tls)
        client = Client(reader, writer)
        self.clients.append(client)
        if greet:
            code, _ = await client.reply()
            assert code == 220
        return client

    async def inbox(self, address: str) -> list[bytes]:
        store = self.app.store
        account = await store.get_account(address)
        assert account is not None
        box = await store.get_mailbox(account.id, INBOX)
        assert box is not None
        infos = await store.fetch_info(box.id, [e.uid for e in await store.list_messages(box.id)])
        return [await store.read_blob(info.blob_id) for info in infos]

    async def queued(self) -> list[Any]:
        return await self.app.store.list_queue()


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def reply(self, timeout: float = 10.0) -> tuple[int, list[str]]:
        """One (possibly multi-line) reply: its code and the text of each line."""
        lines: list[str] = []
        while True:
            raw = await asyncio.wait_for(self.reader.readline(), timeout)
            if not raw:
                raise ConnectionError("connection closed; got so far: " + repr(lines))
            assert raw.endswith(b"\r\n"), raw
            line = raw[:-2].decode()
            lines.append(line[4:])
            if line[3:4] != "-":
                return int(line[:3]), lines

    async def command(self, line: str | bytes) -> tuple[int, list[str]]:
        await self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return await self.reply()

    async def expect(self, line: str | bytes, code: int) -> list[str]:
        got, text = await self.command(line)
        assert got == code, (line, got, text)
        return text

    async def starttls(self) -> None:
        await self.expect("STARTTLS", 220)
        await self.writer.start_tls(client_tls())

    async def login(self, user: str = f"anna@{DOMAIN}", password: str = PASSWORD) -> None:
        import base64

        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        await self.expect(f"AUTH PLAIN {token}", 235)

    async def closed(self, timeout: float = 10.0) -> bool:
        """True when the server closed the connection (EOF after any pending bytes)."""
        data = await asyncio.wait_for(self.reader.read(), timeout)
        return data == b"" or data.endswith(b"\r\n")

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


@asynccontextmanager
async def smtp_app(tmp_path: Path, **overrides: Any) -> AsyncIterator[Harness]:
    config: dict[str, Any] = {
        "hostname": "mx.example.test",
        "data_dir": str(tmp_path / "var"),
        "security": {"auth_failure_delay": 0},
        "dns": {"static": STATIC_DNS},
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            config.setdefault(key, {}).update(value)
        else:
            config[key] = value
    app = App(from_dict(config))
    await app.open()
    servers: list[asyncio.Server] = []
    try:
        await app.store.add_domain(DOMAIN)
        for user in ("anna", "bob"):
            await app.accounts.add_user(f"{user}@{DOMAIN}", PASSWORD)
        await app.accounts.add_alias(f"info@{DOMAIN}", [f"anna@{DOMAIN}"])
        await start_services(app, queue=False)  # tests inspect the queue themselves
        loop = asyncio.get_running_loop()
        ports = {}
        for name in ("smtp", "submission", "submissions"):
            server = await loop.create_server(
                protocol_factory(app, name), "127.0.0.1", 0,
                ssl=app.tls if name == "submissions" else None)
            servers.append(server)
            ports[name] = server.sockets[0].getsockname()[1]
        harness = Harness(app, ports)
        try:
            yield harness
        finally:
            for client in harness.clients:
                await client.close()
    finally:
        for server in servers:
            server.close()
        for session in list(app.sessions):
            session.abort()
        for server in servers:
            await server.wait_closed()
        await app.close()


def message(subject: str = "hello", sender: str = "x@remote.test", body: str = "Hi.\r\n") -> bytes:
    return (f"From: {sender}\r\nTo: anna@{DOMAIN}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@remote.test>\r\n\r\n{body}").encode()
