"""One POP3 connection: the asyncio.Protocol, its command loop and its states.

Theory of operation. `data_received` feeds the sans-IO `LineReceiver`; one task
per connection takes lines from it in order (so pipelined commands, RFC 2449
§6.6, are answered in order), parses each with `parse_command`, checks the
command table for the states that allow it (RFC 1939 §3: AUTHORIZATION,
TRANSACTION, UPDATE) and awaits its handler. Handlers live in
`authorization.py` and `transaction.py`; they write replies with `write` and
raise `Pop3Error` for every -ERR, which is turned into a wire line here, in one
place. A server fault becomes "-ERR [SYS/TEMP]" plus a logged traceback, or a
closed connection when a multi-line response was already under way.

Invariants:
- Reading is bounded: past `MAX_INPUT_BUFFERED` unread octets the transport
  stops reading until the session catches up. Writing is bounded: after every
  command and every chunk of a message the session waits for the transport to
  drain below its high-water mark (`pause_writing`/`resume_writing`).
- Timeouts (RFC 1939 §3): `limits.command_timeout` before login; after it, at
  least `MIN_TRANSACTION_TIMEOUT` (10 minutes, the RFC's floor for the
  autologout timer). A client that stays silent, or stops reading, that long
  is disconnected without a reply, and nothing is deleted.
- Messages are deleted only after QUIT in the TRANSACTION state, and "+OK" is
  sent only once the store has committed the deletions. Any other way the
  session ends, the maildrop is left as it was.
- The maildrop lock is released exactly once, whatever way the session ends,
  before the session leaves the app's registry (so shutdown waits for it).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from postbus.app import App
from postbus.executor import Overloaded
from postbus.pop3 import authorization as a
from postbus.pop3 import transaction as t
from postbus.pop3.lock import locks_for
from postbus.pop3.maildrop import Maildrop
from postbus.pop3.proto import (
    Line,
    LineReceiver,
    LineTooLong,
    Pop3Command,
    Pop3Error,
    ResponseCode,
    err,
    ok,
    parse_command,
)
from postbus.pop3.state import SessionClosed, State
from postbus.sasl import SaslError

if TYPE_CHECKING:
    from postbus.pop3.listener import PeerLimit

log = logging.getLogger("postbus.pop3")

MIN_TRANSACTION_TIMEOUT = 600.0  # RFC 1939 §3: the autologout timer is at least 10 minutes
MAX_INPUT_BUFFERED = 64 * 1024  # unread client octets before the transport stops reading
TLS_HANDSHAKE_TIMEOUT = 30.0


Handler = Callable[["Pop3Session", Pop3Command], Awaitable[None]]


class _Stopping(Exception):
    """The server is shutting down and the session has no command in hand."""


@dataclass(frozen=True, slots=True)
class Rule:
    handler: Handler
    states: frozenset[State]


class Pop3Session(asyncio.Protocol):
    def __init__(self, app: App, service: str, *, peers: PeerLimit | None = None) -> None:
        self.app = app
        self.service = service
        self.state = State.AUTHORIZATION
        self.receiver = LineReceiver()
        self.tls = False
        self.utf8 = False  # RFC 6856 §2: the client sent UTF8
        self.pending_user: str | None = None  # the name of USER, until PASS
        self.auth_failures = 0
        self.account_id: int | None = None
        self.locked_account: int | None = None  # the maildrop lock this session holds
        self.maildrop: Maildrop | None = None
        self.finished = False  # reply to the current command, then close
        self.streaming = False  # a multi-line response is under way
        self.idle = asyncio.Event()  # set while waiting for the client, all it sent answered
        self.transport: asyncio.Transport | None = None
        self._peers = peers
        self._peer = ""
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._reading_paused = False
        self._eof = False
        self._lost = False
        self._stopping = False
        self._unregister: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol --------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TLS transport is not an asyncio.Transport subclass, but it is one
        transport = cast(asyncio.Transport, transport)
        if self._peers is not None:
            peername = transport.get_extra_info("peername")
            self._peer = str(peername[0]) if isinstance(peername, tuple) and peername else "?"
            if not self._peers.enter(self._peer):
                self._peers = None
                transport.write(err("Too many connections from your address", ResponseCode.SYS_TEMP))
                transport.close()
                return
        self.transport = transport
        self.tls = transport.get_extra_info("ssl_object") is not None
        self._unregister = self.app.register(self)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="pop3-session")

    def data_received(self, data: bytes) -> None:
        if self.transport is None:  # refused in connection_made
            return
        self.receiver.feed(data)
        self.idle.clear()
        self._readable.set()
        if self.receiver.buffered > MAX_INPUT_BUFFERED and not self._reading_paused:
            self._reading_paused = True
            assert self.transport is not None
            self.transport.pause_reading()

    def eof_received(self) -> bool | None:
        self._eof = True
        self._readable.set()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._readable.set()
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # -- app.Session ---------------------------------------------------------------
    def shutdown(self) -> None:
        """Finish the command in hand, then say goodbye; deletes nothing without QUIT."""
        self._stopping = True
        self._readable.set()

    def abort(self) -> None:
        """Closes the connection now. The task is not cancelled: a store call in
        flight (QUIT's expunge) completes, then the session ends as if dropped."""
        if self.transport is not None:
            self.transport.abort()

    # -- what handlers use -----------------------------------------------------------
    @property
    def timeout(self) -> float:
        timeout = self.app.settings.duration("limits", "command_timeout")
        if self.state is State.AUTHORIZATION:
            return timeout
        return max(timeout, MIN_TRANSACTION_TIMEOUT)

    def write(self, data: bytes) -> None:
        if self._lost or self.transport is None or self.transport.is_closing():
            raise SessionClosed("connection lost")
        self.transport.write(data)

    async def drain(self) -> None:
        """Waits until the transport's buffer is below its high-water mark."""
        if self._lost:
            raise SessionClosed("connection lost")
        if not self._writable.is_set():
            await self._wait(self._writable)

    async def read_line(self) -> bytes | None:
        """The next line from the client, or None for a line past the limit."""
        while True:
            event = self.receiver.next_event()
            if isinstance(event, Line):
                return event.line
            if isinstance(event, LineTooLong):
                return None
            if self._eof or self._lost:
                raise SessionClosed("client closed the connection")
            if self._stopping:
                raise _Stopping()
            if self._reading_paused and self.transport is not None:
                self._reading_paused = False
                self.transport.resume_reading()
            self._readable.clear()
            self.idle.set()
            try:
                await self._wait(self._readable)
            finally:
                self.idle.clear()

    async def start_tls(self) -> None:
        """RFC 2595 §4: TLS now; anything the client pipelined in plaintext is dropped."""
        assert self.transport is not None
        self.receiver = LineReceiver()
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                self.transport, self, self.app.tls, server_side=True,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
            )
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
            raise SessionClosed(f"TLS handshake failed: {exc}") from None
        if transport is None:
            raise SessionClosed("TLS handshake failed")
        self.transport = transport
        self.tls = True

    # -- the command loop ---------------------------------------------------------------
    async def _wait(self, event: asyncio.Event) -> None:
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            event.set()

        handle = asyncio.get_running_loop().call_later(self.timeout, expire)
        try:
            await event.wait()
        finally:
            handle.cancel()
        if expired:
            raise SessionClosed("timeout")  # RFC 1939 §3: close without a response
        if self._lost:
            raise SessionClosed("connection lost")

    async def _run(self) -> None:
        try:
            self.write(ok(f"Postbus POP3 ready {self.app.settings.hostname}"))
            while not self.finished:
                line = await self.read_line()
                if line is None:
                    self.write(err("Line too long"))
                else:
                    await self._execute(line)
                await self.drain()
        except _Stopping:
            if not self._lost and self.transport is not None and not self.transport.is_closing():
                self.transport.write(err("Server shutting down", ResponseCode.SYS_TEMP))
        except (SessionClosed, ConnectionError):
            pass
        finally:
            await self._end()

    async def _execute(self, line: bytes) -> None:
        try:
            command = parse_command(line)
            rule = COMMANDS[command.keyword]
            if self.state not in rule.states:
                raise Pop3Error(
                    "Not logged in" if self.state is State.AUTHORIZATION
                    else "Command not valid after login"
                )
            await rule.handler(self, command)
        except Pop3Error as error:
            self.write(err(error.text, error.code))
        except SaslError as error:  # RFC 5034 §4: a failed exchange is -ERR
            self.write(err(error.text))
        except Overloaded:  # reported by the executor; RFC 3206 §3: the client may retry
            self.write(err("Server busy, try again later", ResponseCode.SYS_TEMP))
        except (SessionClosed, _Stopping, ConnectionError):
            raise
        except Exception:
            log.exception("POP3 command failed")
            if self.streaming:
                raise SessionClosed("server fault during a multi-line response") from None
            self.write(err("Internal server error, try again later", ResponseCode.SYS_TEMP))
        finally:
            self.streaming = False

    async def _end(self) -> None:
        try:
            if self.locked_account is not None:
                try:
                    await locks_for(self.app).release(self.locked_account)
                except Exception:  # the store may already be closed at shutdown
                    log.warning("could not release the POP3 lock", exc_info=True)
                self.locked_account = None
        finally:
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()
            if self._unregister is not None:
                self._unregister()
            if self._peers is not None:
                self._peers.leave(self._peer)


_AUTH = frozenset({State.AUTHORIZATION})
_TRANS = frozenset({State.TRANSACTION})
_BOTH = _AUTH | _TRANS

# The command table: which handler, in which states (RFC 1939 §3).
COMMANDS: dict[str, Rule] = {
    "CAPA": Rule(a.capa, _BOTH),  # RFC 2449 §5
    "STLS": Rule(a.stls, _AUTH),  # RFC 2595 §4
    "UTF8": Rule(a.utf8, _AUTH),  # RFC 6856 §2
    "USER": Rule(a.user, _AUTH),  # RFC 1939 §7
    "PASS": Rule(a.pass_, _AUTH),
    "APOP": Rule(a.apop, _AUTH),
    "AUTH": Rule(a.auth, _AUTH),  # RFC 5034 §4
    "QUIT": Rule(t.quit, _BOTH),  # RFC 1939 §4, §6
    "STAT": Rule(t.stat, _TRANS),  # RFC 1939 §5
    "LIST": Rule(t.list_, _TRANS),
    "RETR": Rule(t.retr, _TRANS),
    "DELE": Rule(t.dele, _TRANS),
    "NOOP": Rule(t.noop, _TRANS),
    "RSET": Rule(t.rset, _TRANS),
    "TOP": Rule(t.top, _TRANS),  # RFC 1939 §7
    "UIDL": Rule(t.uidl, _TRANS),
}
