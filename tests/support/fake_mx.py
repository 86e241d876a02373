"""A small SMTP server posing as a remote domain's MX in outbound tests.

It speaks just enough RFC 5321 for a client (EHLO/HELO, optional STARTTLS,
MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), records every
completed transaction, and answers as the test scripts it: per-recipient RCPT
replies and a queue of DATA replies (then 250).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass, field

MAX_LINE = 4096


@dataclass
class Transaction:
    mail_from: str
    mail_params: list[str]
    recipients: list[str]
    rcpt_params: list[list[str]]
    data: bytes
    tls: bool
    helo: str


@dataclass
class FakeMX:
    extensions: list[str] = field(default_factory=lambda: ["8BITMIME", "SIZE 20000000", "DSN",
                                                           "SMTPUTF8", "ENHANCEDSTATUSCODES"])
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # address -> "550 5.1.1 ..."
    data_replies: list[str] = field(default_factory=list)  # consumed one per DATA, then 250
    tls_context: ssl.SSLContext | None = None  # offer STARTTLS with it
    greeting: str = "220 mx.remote.test ESMTP fake"
    mail_reply: str = "250 2.1.0 ok"
    received: list[Transaction] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> FakeMX:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Transaction]:
        """Waits until `count` transactions have completed."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.received

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self._converse(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tls, helo = False, ""
        mail_from: str | None = None
        params: list[str] = []
        rcpts: list[str] = []
        rcpt_params: list[list[str]] = []

        async def reply(text: str) -> None:
            writer.write(text.encode() + b"\r\n")
            await writer.drain()

        await reply(self.greeting)
        if not self.greeting.startswith("220"):
            await reader.readline()  # RFC 5321 §3.1: wait for QUIT, then close
            await reply("221 bye")
            return
        while True:
            line = await reader.readline()
            if not line:
                return
            verb, _, arg = line.decode("utf-8", "replace").rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                helo = arg
                ext = list(self.extensions)
                if self.tls_context is not None and not tls:
                    ext.append("STARTTLS")
                lines = ["mx.remote.test greets " + arg, *ext]
                await reply("\r\n".join(
                    f"250{'-' if i < len(lines) - 1 else ' '}{t}" for i, t in enumerate(lines)))
            elif verb == "HELO":
                helo = arg
                await reply("250 mx.remote.test")
            elif verb == "STARTTLS" and self.tls_context is not None and not tls:
                await reply("220 2.0.0 go ahead")
                await writer.start_tls(self.tls_context)
                tls, mail_from, rcpts, rcpt_params = True, None, [], []
            elif verb == "MAIL":
                path, *params = arg.split(" ")
                rcpts, rcpt_params = [], []
                if not self.mail_reply.startswith("2"):
                    await reply(self.mail_reply)
                    continue
                mail_from = path.partition(":")[2].strip("<>")
                await reply(self.mail_reply)
            elif verb == "RCPT":
                path, *rparams = arg.split(" ")
                address = path.partition(":")[2].strip("<>")
                answer = self.rcpt_replies.get(address, "250 2.1.5 ok")
                if answer.startswith("2"):
                    rcpts.append(address)
                    rcpt_params.append(rparams)
                await reply(answer)
            elif verb == "DATA":
                if mail_from is None or not rcpts:
                    await reply("503 5.5.1 no valid recipients")
                    continue
                await reply("354 go on")
                data = await self._read_data(reader)
                answer = self.data_replies.pop(0) if self.data_replies else "250 2.0.0 queued"
                if answer.startswith("2"):
                    self.received.append(Transaction(mail_from, params, rcpts, rcpt_params,
                                                     data, tls, helo))
                    self._arrived.set()
                mail_from, rcpts, rcpt_params = None, [], []
                await reply(answer)
            elif verb in ("RSET", "NOOP"):
                mail_from, rcpts, rcpt_params = None, [], []
                await reply("250 2.0.0 ok")
            elif verb == "QUIT":
                await reply("221 2.0.0 bye")
                return
            else:
                await reply("502 5.5.2 not implemented")

    @staticmethod
    async def _read_data(reader: asyncio.StreamReader) -> bytes:
        lines = []
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b".\r\n":
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b".") else line)


class ThreadedFakeMX:
    """A FakeMX on its own event loop in a thread, for tests whose Postbus runs
    in a subprocess and whose own code is synchronous."""

    def __init__(self, mx: FakeMX | None = None) -> None:
        self.mx = mx or FakeMX()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-mx", daemon=True)

    def __enter__(self) -> FakeMX:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.mx.start(), self._loop).result(10)
        return self.mx

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.mx.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Transaction]:
        future = asyncio.run_coroutine_threadsafe(self.mx.wait_for(count, timeout), self._loop)
        return future.result(timeout + 5)
