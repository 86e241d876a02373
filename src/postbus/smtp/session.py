"""One SMTP connection on `asyncio.Protocol`: bytes in, replies out, handlers in between.

Theory of operation. `data_received` feeds the sans-IO `Receiver` and pumps its
events in order. A handler (see `handlers.COMMANDS`) returns a `Reply`, nothing,
or a coroutine when it must wait on the store, the accounts service or TLS.
While a coroutine runs the session is *busy*: it pauses reading from the
socket, processes no further buffered command, and resumes both when the
coroutine has answered. So pipelined commands (RFC 2920) are executed strictly
in order, and replies are collected and written in one piece whenever the
receiver has no complete command left (RFC 2920 §3.2: flush before waiting
for input).

Invariants:
- every reply goes through `reply()`, which counts 5xx answers and closes the
  connection with 421 after `MAX_ERRORS`; handlers raise (`smtp.errors`) and
  never write error lines themselves;
- memory per session is bounded: the receiver holds at most one read's worth
  of input (reading pauses while busy and while the client does not read our
  replies, `pause_writing`), a message body streams to its sink;
- after STARTTLS nothing from before the handshake survives: buffered
  plaintext is dropped (the CVE-2011-0411 family of STARTTLS injections) and
  HELO, AUTH and the transaction are forgotten (RFC 3207 §4.2);
- a session that is silent for `limits.command_timeout` gets 421 4.4.2 and is closed;
  a session never times out while it is waiting on the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from postbus import metrics
from postbus.delivery.pipeline import Delivery
from postbus.delivery.trace import ClientInfo
from postbus.executor import Overloaded
from postbus.net.connection import Connection, ConnectionClosed, InputState, Listener, make_listener
from postbus.smtp import data, handlers
from postbus.smtp.errors import CloseConnection, Refusal
from postbus.smtp.proto import (
    NEED_DATA,
    BdatEnd,
    CommandLine,
    DataChunk,
    DataEnd,
    Event,
    LineTooLong,
    Receiver,
    Reply,
    SmtpSyntaxError,
    greeting,
)
from postbus.smtp.proto.replies import (
    LINE_TOO_LONG,
    LOCAL_ERROR,
    SERVER_BUSY,
    TIMEOUT,
    TOO_MANY_ERRORS,
)
from postbus.smtp.rdns import verified_name
from postbus.smtp.transaction import Transaction

if TYPE_CHECKING:
    from postbus.app import App
    from postbus.store.model import Account

log = logging.getLogger("postbus.smtp")

MAX_ERRORS = 20  # 5xx replies before 421 (as Postfix's smtpd_hard_error_limit)
SHUTTING_DOWN = Reply(421, "4.3.2", "Server shutting down, try again later")

Result = Reply | None | Coroutine[Any, Any, Reply | None]
LineHandler = Callable[["SmtpSession", CommandLine | LineTooLong], Result]


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    name: str  # "smtp", "submission" or "submissions"
    hostname: str
    max_message_size: int
    command_timeout: float

    @property
    def mx(self) -> bool:
        return self.name == "smtp"

    @property
    def submission(self) -> bool:
        return not self.mx

    @property
    def implicit_tls(self) -> bool:
        return self.name == "submissions"


def describe_tls(transport: asyncio.BaseTransport) -> str:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return ""
    cipher = ssl_object.cipher()
    version = ssl_object.version() or "TLS"
    return f"{version} with cipher {cipher[0]}" if cipher else version


class SmtpSession(Connection):
    logger = log

    def __init__(self, app: App, cfg: ListenerConfig, delivery: Delivery,
                 listener: Listener | None = None) -> None:
        super().__init__(app, listener or make_listener(app, cfg.name))
        self.cfg = cfg
        self.delivery = delivery
        self.loop = asyncio.get_running_loop()
        self.receiver = Receiver()
        self.helo: str | None = None
        self.esmtp = True  # EHLO rather than HELO: enhanced status codes in replies
        self.account: Account | None = None
        self.tx: Transaction | None = None
        self.line_handler: LineHandler | None = None  # the next line is not a command (AUTH)
        self.bdat_chunk: tuple[Reply | None, bool] | None = None  # (failure, LAST) being read
        self.errors = 0
        self.auth_failures = 0
        self._out: list[bytes] = []
        self._closed = False
        self._shutdown = False
        self._rdns: asyncio.Task[str] | None = None  # never waited for: used if it has answered

    @property
    def peer_ip(self) -> str:
        return self.peer

    # -- the net layer's hooks --------------------------------------------------
    def connected(self) -> None:
        if self.app.closing:
            self.reply(SHUTTING_DOWN)
            self.close()
            return
        self._rdns = self.loop.create_task(verified_name(self.app, self.peer_ip))
        self.reply(greeting(self.cfg.hostname))  # RFC 5321 §4.2: 220 Domain text
        self.flush()

    def received(self, data: bytes) -> None:
        self.receiver.feed(data)
        if not self.busy:
            self._pump()

    def input_buffered(self) -> int:
        return self.receiver.buffered

    def input_state(self) -> InputState:
        if self.receiver.mode != "command":
            return InputState.BULK
        return InputState.LINE if self.receiver.buffered else InputState.IDLE

    def timed_out(self, what: str) -> None:
        self.reply(TIMEOUT)  # RFC 5321 §4.5.3.2
        self.close()

    def refusal(self, text: str) -> bytes:
        return Reply(421, "4.7.0", text).to_bytes(enhanced_codes=True)

    def eof(self) -> bool | None:
        # Plain TCP stays half-open so that replies to work in flight still go out.
        return self.busy

    def disconnected(self) -> None:
        self._cleanup()

    def stop(self) -> None:
        self._shutdown = True
        if not self.busy and not self.closing:
            self.reply(SHUTTING_DOWN)
            self.close()

    def abort(self) -> None:
        super().abort()
        self._cleanup()

    # -- state ------------------------------------------------------------------
    @property
    def state(self) -> str:
        """connect (no HELO yet), ready, mail (sender given), rcpt (recipients), bdat."""
        if self.helo is None:
            return "connect"
        tx = self.tx
        if tx is None:
            return "ready"
        if tx.bdat:
            return "bdat"
        return "rcpt" if tx.recipients else "mail"

    def client_info(self) -> ClientInfo:
        tx = self.tx
        rdns = self._rdns
        return ClientInfo(
            ip=self.peer_ip, helo=self.helo or "", esmtp=self.esmtp,
            tls=describe_tls(self.transport) if self.tls and self.transport is not None else "",
            rdns=rdns.result() if rdns is not None and rdns.done() and not rdns.cancelled() else "",
            authenticated=self.account is not None,
            smtputf8=bool(tx is not None and tx.params.smtputf8),
        )

    def reset_transaction(self) -> None:
        if self.tx is not None:
            self.tx.abort()
            self.tx = None

    # -- replies ----------------------------------------------------------------
    def reply(self, reply: Reply) -> None:
        self._out.append(reply.to_bytes(enhanced_codes=self.esmtp))
        if reply.code >= 500:
            self.errors += 1
            if self.errors >= MAX_ERRORS and not self.closing:
                self._out.append(TOO_MANY_ERRORS.to_bytes(enhanced_codes=self.esmtp))
                self.close()

    def write_raw(self, line: bytes) -> None:
        """A line that is not a Reply (RFC 4954 §4 "334 " SP base64)."""
        self._out.append(line)

    def flush(self) -> None:
        if not self._out:
            return
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out.clear()
        transport = self.transport
        if transport is not None and not self.lost and not transport.is_closing():
            transport.write(data)

    def close(self) -> None:
        """Send what is queued, then close."""
        self.flush()
        super().close()

    # -- the pump ---------------------------------------------------------------
    def _pump(self) -> None:
        receiver = self.receiver
        while not self.busy and not self.closing:
            event = receiver.next_event()
            if event is NEED_DATA:
                break
            self.line_done()
            self._handle(event)
        if self.closing:
            return
        self.flush()
        if not self.busy:
            if self._shutdown:
                self.stop()
                return
            if self._eof:
                self.close()
                return

    def _handle(self, event: Event) -> None:
        kind = type(event)
        if kind is DataChunk:
            data.chunk(self, event)  # type: ignore[arg-type]
        elif kind is CommandLine or kind is LineTooLong:
            if self.line_handler is not None:
                handler, self.line_handler = self.line_handler, None
                self.run(handler, event)
            elif kind is LineTooLong:
                self.reply(LINE_TOO_LONG)  # RFC 5321 §4.5.3.1.4; the line was discarded
            else:
                self.run(handlers.command, event)
        elif kind is DataEnd:
            self.run(data.end_data, event)
        elif kind is BdatEnd:
            self.run(data.end_bdat, event)

    def run(self, fn: Callable[[SmtpSession, Any], Result], arg: Any) -> None:
        started = time.perf_counter()
        try:
            result = fn(self, arg)
        except Exception as exc:
            self._fail(exc)
            return
        if result is None:
            return
        if isinstance(result, Reply):
            self.reply(result)
            metrics.command_done("smtp", started)
            return
        self.set_busy(True)
        self.loop.create_task(self._complete(result, started))

    async def _complete(self, coro: Coroutine[Any, Any, Reply | None], started: float) -> None:
        try:
            result = await coro
        except Exception as exc:
            self._fail(exc)
        else:
            if result is not None:
                self.reply(result)
                metrics.command_done("smtp", started)
        finally:
            self.set_busy(False)
        if self._closed:
            self.reset_transaction()
            return
        self._pump()

    def _fail(self, exc: Exception) -> None:
        if isinstance(exc, Refusal):
            self.reply(exc.reply)
        elif isinstance(exc, SmtpSyntaxError):
            self.reply(Reply.from_error(exc))
        elif isinstance(exc, CloseConnection):
            self.reply(exc.reply)
            self.close()
        elif isinstance(exc, Overloaded):  # reported by the executor; the client retries
            self.reply(SERVER_BUSY)
        else:
            self.log.error("server fault", exc_info=exc)
            self.reply(LOCAL_ERROR)

    # -- STARTTLS ---------------------------------------------------------------
    async def start_tls(self) -> None:
        """RFC 3207 §4: the 220 is queued by the caller; upgrade, then forget everything."""
        self.receiver = Receiver()  # drop any plaintext pipelined after STARTTLS (§4.2)
        self.flush()
        try:
            await super().start_tls()
        except ConnectionClosed:  # the handshake failed; the net layer closed the connection
            return
        self.helo = None
        self.esmtp = True
        self.account = None
        self.line_handler = None
        self.reset_transaction()

    # -- the end ------------------------------------------------------------------
    def _cleanup(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._rdns is not None and not self._rdns.done():
            self._rdns.cancel()
        if not self.busy:
            self.reset_transaction()
