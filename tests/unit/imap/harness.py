"""An in-process Postbus with only the IMAP listeners, and a raw IMAP client.

Transcript tests talk bytes: ``Client.command`` sends one tagged command and
returns every response line up to and including the tagged one, exactly as
received (literals inline), so a test can compare them byte for byte.
"""

from __future__ import annotations

import asyncio
import imaplib
import re
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postbus.config import from_dict
from postbus.delivery.ingest import ingest_bytes
from postbus.server import Server
from postbus.store.model import Account, Appended
from tests.support.server import ServerProcess, postbus, running_server, write_config

USER = "alice@example.test"
OTHER = "bob@example.test"
PASSWORD = "Tq7#mZ2v!pLx"
READ_TIMEOUT = 10.0
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


def message(subject: str = "hello", body: str = "Hi there.\r\n", sender: str = "carol@example.org") -> bytes:
    return (
        f"From: Carol <{sender}>\r\nTo: {USER}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 6 Jan 2025 10:00:00 +0000\r\nMessage-ID: <{subject}@example.org>\r\n"
        f"\r\n{body}"
    ).encode()


def tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.greeting = b""
        self._tags = 0

    @classmethod
    async def connect(cls, port: int, *, tls: bool = True) -> Client:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=tls_context() if tls else None, limit=2**24
        )
        client = cls(reader, writer)
        client.greeting = await client.response()
        return client

    def tag(self) -> str:
        self._tags += 1
        return f"a{self._tags}"

    async def send(self, data: bytes | str) -> None:
        self.writer.write(data.encode() if isinstance(data, str) else data)
        await self.writer.drain()

    async def response(self, timeout: float = READ_TIMEOUT) -> bytes:
        """One response: a line, with any literals it announces and the rest of the line."""
        out = b""
        while True:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
            if not line:
                raise ConnectionError(f"connection closed after {out!r}")
            out += line
            m = _LITERAL.search(line)
            if m is None:
                return out
            out += await asyncio.wait_for(self.reader.readexactly(int(m.group(1))), timeout)

    async def until_tagged(self, tag: str, timeout: float = READ_TIMEOUT) -> list[bytes]:
        lines = []
        while True:
            line = await self.response(timeout)
            lines.append(line)
            if line.startswith(tag.encode() + b" "):
                return lines

    async def command(self, text: str | bytes, timeout: float = READ_TIMEOUT) -> list[bytes]:
        tag = self.tag()
        raw = text.encode() if isinstance(text, str) else text
        await self.send(tag.encode() + b" " + raw + b"\r\n")
        lines = await self.until_tagged(tag, timeout)
        return [line.replace(tag.encode() + b" ", b"TAG ", 1) if line.startswith(tag.encode() + b" ")
                else line for line in lines]

    async def ok(self, text: str | bytes) -> list[bytes]:
        lines = await self.command(text)
        assert lines[-1].startswith(b"TAG OK"), lines
        return lines

    async def login(self, user: str = USER, password: str = PASSWORD) -> None:
        await self.ok(f'LOGIN {user} "{password}"')

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


@dataclass
class Harness:
    server: Server
    accounts: dict[str, Account] = field(default_factory=dict)
    clients: list[Client] = field(default_factory=list)

    @property
    def app(self) -> Any:
        return self.server.app

    def port(self, name: str = "imaps") -> int:
        return self.server.bound[name][1]

    async def client(self, *, login: bool = True, service: str = "imaps") -> Client:
        client = await Client.connect(self.port(service), tls=service == "imaps")
        self.clients.append(client)
        if login:
            await client.login()
        return client

    async def deliver(self, raw: bytes, folder: str = "INBOX", user: str = USER,
                      flags: tuple[str, ...] = ()) -> Appended:
        store = self.app.store
        account = self.accounts[user]
        box = await store.get_mailbox(account.id, folder)
        ingested = await ingest_bytes(store, raw)
        return await store.append(box.id, ingested.blob, ingested.parsed, flags=flags)

    async def mailbox(self, folder: str, user: str = USER) -> Any:
        return await self.app.store.get_mailbox(self.accounts[user].id, folder)


#: No network lookups for the MX: the client's address has a confirmed name.
STATIC_DNS = {"PTR 127.0.0.1": ["client.localhost"], "A client.localhost": ["127.0.0.1"]}


def settings_for(data_dir: Path, *, smtp: bool = False, **limits: Any) -> Any:
    listen = {name: "" for name in ("smtp", "submissions", "submission", "pop3s", "pop3",
                                     "https", "http")}
    listen |= {"imaps": "127.0.0.1:0", "imap": "127.0.0.1:0"}
    if smtp:
        listen["smtp"] = "127.0.0.1:0"
    return from_dict({
        "hostname": "localhost", "data_dir": str(data_dir), "listen": listen,
        "security": {"auth_failure_delay": 0}, "limits": limits, "dns": {"static": STATIC_DNS},
    })


@asynccontextmanager
async def running(data_dir: Path, *, smtp: bool = False, **limits: Any) -> AsyncIterator[Harness]:
    """Postbus in this process with the IMAP listeners (and the MX when ``smtp``)."""
    server = Server(settings_for(data_dir, smtp=smtp, **limits), announce=lambda line: None)
    await server.start()
    harness = Harness(server)
    try:
        await server.app.store.add_domain("example.test")
        for user in (USER, OTHER):
            harness.accounts[user] = await server.app.accounts.add_user(user, PASSWORD)
        yield harness
    finally:
        for client in harness.clients:
            await client.close()
        await server.stop()


async def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


# -- the subprocess server the real-client tests drive -------------------------------------------
@contextmanager
def served(tmp_path: Path, *, loop: str = "asyncio") -> Iterator[ServerProcess]:
    """`postbus serve` (on the ``asyncio`` or ``uvloop`` event loop) with the domain
    example.test and the user alice (PASSWORD)."""
    cfg = write_config(tmp_path)
    postbus(cfg, "domain", "add", "example.test")
    postbus(cfg, "user", "add", USER, "--password-stdin", stdin=PASSWORD + "\n")
    with running_server(cfg, env={"POSTBUS_LOOP": loop}) as server:
        yield server


def certificate(tmp_path: Path) -> Path:
    """The self-signed certificate `postbus serve` made in its data_dir."""
    return tmp_path / "var" / "tls" / "selfsigned.crt"


def fetched(imap: imaplib.IMAP4, message_set: str, items: str) -> tuple[bytes, bytes]:
    """imaplib's FETCH of one message with a literal: (response head, literal data)."""
    typ, data = imap.fetch(message_set, items)
    assert typ == "OK", data
    item = data[0]
    assert isinstance(item, tuple), data
    return item[0], item[1]
