"""One POP3 session: its command loop and its states, on the shared connection.

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
- The connection itself (TLS, limits, flow control, the close) is the net
  layer's (`postbus.net.connection`). Reading is bounded: it pauses while a
  command runs and past `MAX_INPUT_BUFFERED` unread octets. Writing is bounded:
  after every command and every chunk of a message the session waits for the
  transport to drain below its high-water mark.
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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from postbus import metrics
from postbus.app import App
from postbus.executor import Overloaded
from postbus.net.connection import NETWORK_ERRORS, Connection, InputState, Listener, make_listener
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

log = logging.getLogger("postbus.pop3")

MIN_TRANSACTION_TIMEOUT = 600.0  # RFC 1939 §3: the autologout timer is at least 10 minutes


Handler = Callable[["Pop3Session", Pop3Command], Awaitable[None]]


class _Stopping(Exception):
    """The server is shutting down and the session has no command in hand."""


@dataclass(frozen=True, slots=True)
class Rule:
    handler: Handler
    states: frozenset[State]


class Pop3Session(Connection):
    closed_error = SessionClosed
    logger = log
    holds_registration = True  # until the maildrop lock is released (see _end)

    def __init__(self, app: App, service: str, listener: Listener | None = None) -> None:
        super().__init__(app, listener or make_listener(app, service))
        self.service = service
        self.state = State.AUTHORIZATION
        self.receiver = LineReceiver()
        self.utf8 = False  # RFC 6856 §2: the client sent UTF8
        self.pending_user: str | None = None  # the name of USER, until PASS
        self.auth_failures = 0
        self.account_id: int | None = None
        self.locked_account: int | None = None  # the maildrop lock this session holds
        self.maildrop: Maildrop | None = None
        self.finished = False  # reply to the current command, then close
        self.streaming = False  # a multi-line response is under way
        self.idle = asyncio.Event()  # set while waiting for the client, all it sent answered
        self._readable = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # -- the net layer's hooks -------------------------------------------------------
    def connected(self) -> None:
        self.set_busy(True)  # the greeting first; read_line lets input in
        self._task = asyncio.get_running_loop().create_task(self._run(), name="pop3-session")

    def received(self, data: bytes) -> None:
        self.receiver.feed(data)
        self.idle.clear()
        self._readable.set()

    def input_buffered(self) -> int:
        return self.receiver.buffered

    def input_state(self) -> InputState:
        return InputState.LINE if self.receiver.buffered else InputState.IDLE

    def idle_timeout(self) -> float:
        return self.timeout

    def timed_out(self, what: str) -> None:
        self.close()  # RFC 1939 §3: the autologout timer closes without a response
        self._readable.set()

    def refusal(self, text: str) -> bytes:
        return err(text, ResponseCode.SYS_TEMP)  # RFC 3206 §4

    def eof(self) -> bool | None:
        self._readable.set()
        return None

    def disconnected(self) -> None:
        self._readable.set()

    def stop(self) -> None:
        """Finish the command in hand, then say goodbye; deletes nothing without QUIT."""
        self._stopping = True
        self._readable.set()

    def abort(self) -> None:
        """Closes the connection now. The task is not cancelled: a store call in
        flight (QUIT's expunge) completes, then the session ends as if dropped."""
        super().abort()

    # -- what handlers use -----------------------------------------------------------
    @property
    def timeout(self) -> float:
        timeout = self.app.settings.duration("limits", "command_timeout")
        if self.state is State.AUTHORIZATION:
            return timeout
        return max(timeout, MIN_TRANSACTION_TIMEOUT)

    def write(self, data: bytes) -> None:
        self.send(data)

    async def read_line(self) -> bytes | None:
        """The next line from the client, or None for a line past the limit."""
        while True:
            event = self.receiver.next_event()
            if isinstance(event, Line):
                self.line_done()
                self.set_busy(True)
                return event.line
            if isinstance(event, LineTooLong):
                self.line_done()
                self.set_busy(True)
                return None
            if self._eof or self.lost or self.closing:
                raise SessionClosed("client closed the connection")
            if self._stopping:
                raise _Stopping()
            self._readable.clear()
            self.set_busy(False)
            self.idle.set()
            try:
                await self._readable.wait()
            finally:
                self.idle.clear()

    async def start_tls(self) -> None:
        """RFC 2595 §4: TLS now; anything the client pipelined in plaintext is dropped."""
        self.receiver = LineReceiver()
        await super().start_tls()

    # -- the command loop ---------------------------------------------------------------
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
            if not self.lost and not self.closing:
                self.send(err("Server shutting down", ResponseCode.SYS_TEMP))
        except SessionClosed:
            pass
        except NETWORK_ERRORS:
            pass
        finally:
            await self._end()

    async def _execute(self, line: bytes) -> None:
        started = time.perf_counter()
        try:
            await self._execute_timed(line)
        finally:
            metrics.command_done("pop3", started)

    async def _execute_timed(self, line: bytes) -> None:
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
        except (SessionClosed, _Stopping):
            raise
        except NETWORK_ERRORS:
            raise
        except Exception:
            self.log.exception("command failed")
            if self.streaming:
                raise SessionClosed("server fault during a multi-line response") from None
            self.write(err("Internal server error, try again later", ResponseCode.SYS_TEMP))
        finally:
            self.streaming = False

    async def release_maildrop(self) -> None:
        """Releases the maildrop lock if this session holds it (once: QUIT does it
        before its reply, so that the client's next session finds the maildrop free
        on any worker or node; otherwise the session's end does)."""
        account, self.locked_account = self.locked_account, None
        if account is not None:
            try:
                await locks_for(self.app).release(account)
            except Exception:  # the store may already be closed at shutdown
                self.log.warning("could not release the maildrop lock", exc_info=True)

    async def _end(self) -> None:
        try:
            await self.release_maildrop()
        finally:
            self.close()
            self.unregister()


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
