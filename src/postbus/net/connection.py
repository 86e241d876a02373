"""The one connection class under SMTP, IMAP and POP3.

Theory of operation. A listener's protocol factory makes one session per
accepted TCP connection; every session is a :class:`Connection`, which owns
the transport and everything that is not the protocol itself:

* accept: the connection is counted against its listener's limits
  (:mod:`postbus.net.limits`) before anything else, and registered with the
  app so that a shutdown reaches it; the one past a limit gets the session's
  :meth:`~Connection.refusal` line and is closed;
* TLS: on an implicit-TLS listener (RFC 8314) the handshake runs here before
  the session sees a byte; :meth:`~Connection.start_tls` upgrades for
  STARTTLS / STLS (the session drops the plaintext it buffered first, RFC 3207
  §4.2, RFC 9051 §6.2.1, RFC 2595 §4; bytes still unread in the socket are fed
  to the handshake, which fails on them);
* timeouts, one timer per connection: the TLS handshake, silence between
  commands (:meth:`~Connection.idle_timeout`, the session's per-state value),
  one command line from its first byte to its end (``limits.line_timeout``,
  so a line trickled byte by byte is cut off; the session says when a line
  ends with :meth:`~Connection.line_done`), and a stall in the middle of DATA,
  BDAT or a literal (``limits.data_timeout``). While the session is
  busy on a command of its own no client timeout runs; while the client does
  not read our output, that counts as silence;
* flow control: :meth:`~Connection.drain` waits while the transport is above
  its high-water mark; reading is paused while the session is busy and while
  the client does not read our output, so what one connection holds in memory
  is one read plus what its receiver's named limits allow;
* compression (:meth:`~Connection.start_deflate`, IMAP COMPRESS=DEFLATE): from
  then on what the session sends is deflated, and flushed once the burst of
  writes it belongs to is over (the next turn of the event loop), and what the
  client sends is inflated a bounded chunk at a time (:mod:`postbus.net.deflate`);
* log lines: :attr:`~Connection.log` prefixes every line about the
  connection with ``proto=... listener=... ip=... port=...`` (the format of
  docs/logging.md, which fail2ban and log tools rely on);
* the close (:meth:`~Connection.close`, after LOGOUT, QUIT, a timeout or a
  refusal): queued bytes, then close_notify under TLS, then FIN without
  waiting for the client's close_notify (RFC 8446 §6.1 does not require the
  closer to wait), and an abort :data:`CLOSE_TIMEOUT` later whatever the
  client does (a client that does not read keeps the FIN from being sent).

Invariants: network errors (:data:`NETWORK_ERRORS`) are caught here and in
the sessions' loops only, and end the connection; the limiter slot and the
app registration are released exactly once, however the connection ends
(a failed handshake included, where asyncio never calls ``connection_lost``).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

from postbus import metrics
from postbus.logs import CONNECTION_ATTR
from postbus.net.deflate import CompressionError, Deflate
from postbus.net.limits import MAX_TLS_REFUSALS, ConnectionLimiter, SharedCounts, address_key
from postbus.security.throttle import ban_text

if TYPE_CHECKING:
    from postbus.app import App

log = logging.getLogger("postbus.net")

#: After LOGOUT / QUIT (or any close) the TCP connection is gone within this many
#: seconds. Policy: what could not be sent by then is dropped with an abort.
CLOSE_TIMEOUT = 1.0

#: What writing to or reading from a broken or vanished peer raises; handled as
#: "the connection is gone" (never a bare OSError: the store raises those too).
NETWORK_ERRORS: tuple[type[Exception], ...] = (ConnectionError, ssl.SSLError)

#: What a failed TLS handshake raises (a timeout, garbage, a reset).
HANDSHAKE_ERRORS: tuple[type[Exception], ...] = (OSError, ssl.SSLError, TimeoutError)

#: Unread client octets a session may hold before reading pauses until it catches
#: up (one read is at most 256 KiB on asyncio and uvloop; this bounds the rest).
MAX_INPUT_BUFFERED = 64 * 1024

#: TLS octets a client may send before the server's handshake has taken over the
#: transport (a ClientHello is one record of at most 16 KiB). uvloop starts reading
#: right after connection_made, so these reach the connection, which hands them
#: to the handshake. Policy: more than this, and the connection is aborted.
MAX_EARLY_TLS = 16 * 1024 + 5

#: Listeners that speak TLS from the first byte (RFC 8314 §3.3).
IMPLICIT_TLS = frozenset({"imaps", "pop3s", "submissions"})

#: The protocol each listener speaks, for the ``proto=`` of log lines.
PROTOCOLS = {
    "smtp": "smtp", "submission": "smtp", "submissions": "smtp",
    "imap": "imap", "imaps": "imap", "pop3": "pop3", "pop3s": "pop3",
}



def _can_write_eof(transport: asyncio.BaseTransport) -> bool:
    """Whether `transport` can half-close (a TCP socket can; test doubles may not say)."""
    try:
        return bool(transport.can_write_eof())  # type: ignore[attr-defined]
    except (AttributeError, NotImplementedError):
        return False

class ConnectionLog(logging.LoggerAdapter[logging.Logger]):
    """A logger whose lines start with the connection they are about (docs/logging.md):

        proto=imap listener=imaps ip=203.0.113.5 port=51234 login failed user=...

    Only values we produce go into the prefix; what the client sent goes after
    it, and only where the message says so (never a secret)."""

    def __init__(self, logger: logging.Logger, connection: Connection) -> None:
        super().__init__(logger, {})
        self.connection = connection

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        prefix = self.connection.log_prefix()
        # the fields again, for `[log] format = "json"` (postbus.logs)
        extra = dict(kwargs.get("extra") or {})
        extra[CONNECTION_ATTR] = (prefix, self.connection.log_fields())
        kwargs["extra"] = extra
        return f"{prefix} {msg}", kwargs


class ConnectionClosed(Exception):
    """The connection is gone or closing: stop without a reply."""


class InputState(enum.Enum):
    """Where the client is in its input, for choosing the timeout that applies."""

    IDLE = "idle"  # between commands, nothing of the next one received
    LINE = "line"  # part of a command line received
    BULK = "bulk"  # inside DATA, BDAT or a literal


@dataclass(slots=True)
class Listener:
    """One configured listener: its name, whether it is implicit TLS, its limits."""

    name: str
    implicit_tls: bool
    limiter: ConnectionLimiter = field(default_factory=lambda: ConnectionLimiter(0, 0))


#: `App.services` key of the `SharedCounts` of worker processes (net/workers.py).
SHARED_COUNTS = "net.shared_counts"


def make_listener(app: App, name: str) -> Listener:
    limits = app.settings.limits
    shared = app.services.get(SHARED_COUNTS)
    return Listener(name, name in IMPLICIT_TLS, ConnectionLimiter(
        limits.max_connections_per_ip, limits.max_connections_per_listener,
        shared if isinstance(shared, SharedCounts) else None, name))


class Connection(asyncio.Protocol):
    """Base of every protocol session (see the module docstring)."""

    #: What :meth:`send` raises once the connection is gone; a session may name
    #: its own exception (it should derive from nothing that handlers catch).
    closed_error: ClassVar[type[Exception]] = ConnectionClosed
    #: Where the session's lines go (each protocol names its own logger).
    logger: ClassVar[logging.Logger] = log
    #: True when the session leaves the app's registry itself (:meth:`unregister`)
    #: once its own clean-up is done, so that a shutdown waits for that clean-up.
    holds_registration: ClassVar[bool] = False

    #: No per-instance dict: a server holds thousands of idle connections (issue 11).
    __slots__ = (
        "_close_timer", "_closing", "_data_timeout", "_deflate", "_deflate_flush", "_drain_waiter",
        "_early", "_eof", "_handshake", "_input_full", "_line_started", "_line_timeout", "_lost",
        "_peer_key", "_progress", "_raw", "_reading", "_ready", "_timer", "_timer_at",
        "_tls_refusal", "_unregister", "_write_paused", "app", "busy", "listener", "peer",
        "peer_port", "tls", "transport",
    )

    def __init__(self, app: App, listener: Listener) -> None:
        self.app = app
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.tls = False
        self.peer = ""  # the client's address, for logs and limits
        self.peer_port = 0
        self.busy = False  # the session works on a command: no client timeout, no reading
        self._raw: asyncio.Transport | None = None  # the TCP transport under any TLS
        self._peer_key: str | None = None  # set while the connection holds a limiter slot
        self._tls_refusal = False
        self._unregister: Callable[[], None] | None = None
        self._handshake: asyncio.Task[None] | None = None
        self._early = b""  # TLS bytes that arrived before the handshake took the transport
        self._ready = False  # connected() was called
        self._reading = True
        self._input_full = False
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._eof = False
        self._closing = False
        self._lost = False
        self._progress = 0.0  # the client's last sign of life (input, reading our output)
        self._line_started = 0.0  # when the current partial line began
        self._line_timeout = 0.0
        self._data_timeout = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._close_timer: asyncio.TimerHandle | None = None
        self._deflate: Deflate | None = None  # set by start_deflate
        self._deflate_flush: asyncio.Handle | None = None

    # -- log lines -------------------------------------------------------------------------
    @property
    def log(self) -> ConnectionLog:
        """The session's logger, every line prefixed with this connection (docs/logging.md)."""
        return ConnectionLog(self.logger, self)

    def log_prefix(self) -> str:
        name = self.listener.name
        return (f"proto={PROTOCOLS.get(name, name)} listener={name} ip={self.peer or '-'}"
                f" port={self.peer_port or '-'}")

    def log_fields(self) -> dict[str, str | int | None]:
        name = self.listener.name
        return {"proto": PROTOCOLS.get(name, name), "listener": name,
                "ip": self.peer or None, "port": self.peer_port or None}

    # -- what a session provides ---------------------------------------------------------
    def connected(self) -> None:
        """The connection is ready (after any implicit TLS): greet and start."""

    def received(self, data: bytes) -> None:
        """Bytes from the client."""

    def input_state(self) -> InputState:
        return InputState.IDLE

    def input_buffered(self) -> int:
        """Octets received and not yet consumed by the session's receiver."""
        return 0

    def idle_timeout(self) -> float:
        """Silence allowed between commands in the session's current state."""
        return self.app.settings.duration("limits", "command_timeout")

    def timed_out(self, what: str) -> None:
        """A timeout passed (``what`` names it): say so if the protocol does, then close."""
        self.close()

    def refusal(self, text: str) -> bytes:
        """The protocol's "try again later" line, sent before closing a refused connection."""
        raise NotImplementedError

    def stop(self) -> None:
        """The server shuts down: finish what is in hand, say goodbye, close."""
        self.close()

    def disconnected(self) -> None:
        """The connection is gone: release what the session holds."""

    def eof(self) -> bool | None:
        """The client half-closed; return True to keep our side open (plain TCP only)."""
        return None

    # -- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = self._raw = cast(asyncio.Transport, transport)
        loop = asyncio.get_running_loop()
        self._progress = self._line_started = loop.time()
        peername = transport.get_extra_info("peername")
        self.peer = str(peername[0]) if isinstance(peername, tuple) and peername else ""
        if isinstance(peername, tuple) and len(peername) > 1 and isinstance(peername[1], int):
            self.peer_port = peername[1]
        self._unregister = self.app.register(self)
        name = self.listener.name
        metrics.connection_opened(PROTOCOLS.get(name, name), name)
        already_tls = transport.get_extra_info("ssl_object") is not None
        self.tls = already_tls
        key = address_key(self.peer)
        limiter = self.listener.limiter
        refused: str | None = None
        banned = self.app.throttle.banned_until(self.peer) if self.peer else None
        if banned is not None:  # security.throttle: refused before taking a slot
            refused = ban_text(banned)
        else:
            over = limiter.acquire(key)
            if over is None:
                self._peer_key = key
            else:
                refused = over.value
        needs_tls = self.listener.implicit_tls and not already_tls
        if needs_tls:  # the ClientHello must wait for the handshake task (start_tls resumes)
            self._raw.pause_reading()
        if refused is not None:
            self.log.info("connection refused: %s", refused)
            if not needs_tls:
                self._refuse_connection(refused)
            elif limiter.tls_refusals < MAX_TLS_REFUSALS:
                limiter.tls_refusals += 1
                self._tls_refusal = True
                self._handshake = loop.create_task(self._implicit_tls(refused))
            else:
                self.abort()
            return
        if needs_tls:
            self._handshake = loop.create_task(self._implicit_tls(None))
            return
        self._connected()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        if not self._ready:
            if self._handshake is not None:  # uvloop reads before the handshake starts
                self._early += data
                if len(self._early) > MAX_EARLY_TLS:
                    self.abort()
            return
        now = asyncio.get_running_loop().time()
        self._progress = now
        # The line clock starts with the first byte of a line (after a command,
        # a literal or DATA) and only line_done() resets it, so more bytes of the
        # same line, or of an unfinished command, do not.
        if self.input_state() is not InputState.LINE:
            self._line_started = now
        self._wake_timer_by(now)
        if self._deflate is not None:
            self._deflate.feed(data)
            self._input_full = True  # no more reading until this is inflated
            self._update_reading()
            self._inflate()
            return
        self.received(data)
        if not self._input_full and self.input_buffered() > MAX_INPUT_BUFFERED:
            self._input_full = True
            self._update_reading()

    def eof_received(self) -> bool | None:
        self._eof = True
        if not self._ready or self._closing:
            return None  # the transport closes: during our close, this is the client's FIN
        keep = self.eof()
        return (bool(keep) and not self.tls) or None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._closing = True
        name = self.listener.name
        metrics.connection_closed(PROTOCOLS.get(name, name), name)
        for timer in (self._timer, self._close_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._close_timer = None
        self._release_slot()
        if self._tls_refusal:
            self._tls_refusal = False
            self.listener.limiter.tls_refusals -= 1
        self._release_drain()
        try:
            if self._ready:
                self.disconnected()
        finally:
            if not (self._ready and self.holds_registration):
                self.unregister()

    def unregister(self) -> None:
        """Leave the app's registry (once)."""
        if self._unregister is not None:
            self._unregister()
            self._unregister = None

    def pause_writing(self) -> None:
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._progress = asyncio.get_running_loop().time()  # the client reads: not idle
        self._release_drain()
        self._update_reading()

    # -- app.Session ---------------------------------------------------------------------
    def shutdown(self) -> None:
        if self._ready and not self._closing:
            self.stop()
        elif not self._ready:
            self.abort()

    def abort(self) -> None:
        """Close now, dropping whatever is unsent."""
        self._closing = True
        if self._handshake is not None and not self._handshake.done():
            self._handshake.cancel()
        raw = self._raw
        if raw is not None and not self._lost:
            raw.abort()
        if self._handshake is not None:
            # A handshake in progress never reports connection_lost.
            self.connection_lost(None)

    # -- writing -------------------------------------------------------------------------
    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def lost(self) -> bool:
        return self._lost

    def send(self, data: bytes) -> None:
        """Queue ``data`` (then :meth:`drain`, or use :meth:`write`)."""
        transport = self.transport
        if self._lost or self._closing or transport is None or transport.is_closing():
            raise self.closed_error()
        deflate = self._deflate
        if deflate is not None:
            data = deflate.compress(data)
            if self._deflate_flush is None:  # after this burst of writes
                self._deflate_flush = asyncio.get_running_loop().call_soon(self._flush_deflate)
            if not data:
                return
        transport.write(data)

    async def drain(self) -> None:
        while self._write_paused and not self._lost:
            waiter = asyncio.get_running_loop().create_future()
            self._drain_waiter = waiter
            await waiter
        if self._lost:
            raise self.closed_error()

    @property
    def write_paused(self) -> bool:
        return self._write_paused

    def close(self) -> None:
        """Send what is queued, close_notify under TLS, FIN; abort after CLOSE_TIMEOUT."""
        if self._closing:
            return
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        transport, raw = self.transport, self._raw
        if self._lost or transport is None or raw is None:
            return
        self._flush_deflate()  # a BYE still in the compressor
        if raw is transport and not self._eof and _can_write_eof(transport):
            # Plain TCP: FIN once what is queued has gone, and go on reading (and
            # dropping) what the client still sends until its FIN or CLOSE_TIMEOUT.
            # A socket closed with unread input answers with RST, and an RST can
            # destroy our last reply in the client's receive buffer before it reads
            # it (RFC 1122 §4.2.2.13; the "lingering close" of RFC 9112 §9.6).
            transport.write_eof()
            self._update_reading()
            self._release_slot()  # the session is over: the client may connect again now
        else:
            transport.close()  # under TLS this writes close_notify to the raw transport now
            if raw is not transport:
                raw.close()  # do not wait for the client's close_notify
        self._close_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self._force_close)

    def _release_slot(self) -> None:
        if self._peer_key is not None:
            self.listener.limiter.release(self._peer_key)
            self._peer_key = None

    def line_done(self) -> None:
        """The receiver produced a complete line (or command): the line clock restarts
        for whatever follows it."""
        self._line_started = asyncio.get_running_loop().time()

    def set_busy(self, busy: bool) -> None:
        """The session starts (True) or ends (False) work of its own on a command."""
        if not busy and self._deflate is not None and self._deflate.pending:
            # The session has consumed what it was given: inflate the next chunk once
            # its task has gone back to waiting.
            asyncio.get_running_loop().call_soon(self._inflate)
        if busy == self.busy:
            return
        self.busy = busy
        if not busy:
            now = asyncio.get_running_loop().time()
            self._progress = now
            self._input_full = self.input_buffered() > MAX_INPUT_BUFFERED
            if self._deflate is not None and self._deflate.pending:
                self._input_full = True
            if self._timer is not None:  # waiting for the client: its timeout, as it is now
                deadline, _ = self._deadline(now)
                if deadline < self._timer_at:
                    self._schedule(deadline)
        self._update_reading()

    # -- compression (RFC 4978) -----------------------------------------------------------
    @property
    def compressed(self) -> bool:
        return self._deflate is not None

    def start_deflate(self, buffered: bytes = b"") -> None:
        """Both directions are raw DEFLATE from now on. `buffered` is what the client
        sent after the command that started it (already compressed)."""
        self._deflate = Deflate()
        if buffered:
            self._deflate.feed(buffered)
            asyncio.get_running_loop().call_soon(self._inflate)

    def _flush_deflate(self) -> None:
        self._deflate_flush = None
        deflate, transport = self._deflate, self.transport
        if deflate is None or not deflate.unflushed or self._lost or transport is None:
            return
        if not transport.is_closing():
            transport.write(deflate.flush())

    def _inflate(self) -> None:
        """Hand the session one chunk of inflated input. While compressed input is left,
        reading stays paused and the next chunk follows on the next turn of the loop
        (after the session's task has run), or, once the session holds more than
        MAX_INPUT_BUFFERED, when it reports that it consumed it (set_busy(False))."""
        deflate = self._deflate
        if deflate is None or self._lost or self._closing:
            return
        if deflate.pending and self.input_buffered() <= MAX_INPUT_BUFFERED:
            try:
                data = deflate.inflate()
            except CompressionError as exc:
                log.info("%s: closing the connection of %s: %s", self.listener.name, self.peer,
                         exc)
                self.abort()
                return
            if data:
                self.received(data)
            if deflate.pending and self.input_buffered() <= MAX_INPUT_BUFFERED:
                asyncio.get_running_loop().call_soon(self._inflate)
        if not deflate.pending and self._input_full:
            # All inflated: read again; data_received pauses anew if the session is behind.
            self._input_full = False
            self._update_reading()

    # -- TLS -----------------------------------------------------------------------------
    async def start_tls(self) -> None:
        """Upgrade to TLS now (STARTTLS); the session has dropped its buffered plaintext."""
        transport = self.transport
        if transport is None or self._lost or self._closing:
            raise self.closed_error()
        try:
            new = await self._handshake_on(transport)
        except HANDSHAKE_ERRORS as exc:
            self.log.info("TLS handshake failed: %s", exc)
            self.abort()
            self.connection_lost(None)
            raise self.closed_error() from None
        self.transport = new
        self.tls = True
        self._reading = True  # the new transport starts reading
        self._update_reading()

    async def _handshake_on(self, transport: asyncio.Transport) -> asyncio.Transport:
        settings = self.app.settings
        new = await asyncio.get_running_loop().start_tls(
            transport, self, self.app.tls, server_side=True,
            ssl_handshake_timeout=settings.duration("limits", "handshake_timeout"),
            ssl_shutdown_timeout=CLOSE_TIMEOUT,
        )
        if new is None:  # the client went away during the handshake
            raise ConnectionResetError("connection lost during the TLS handshake")
        return cast(asyncio.Transport, new)

    async def _implicit_tls(self, refused: str | None) -> None:
        raw = self._raw
        assert raw is not None
        raw.pause_reading()  # effective now on uvloop too; start_tls resumes it
        # Runs after start_tls has put its protocol in place (below, synchronously)
        # and before that protocol's connection_made and the resumed reading.
        asyncio.get_running_loop().call_soon(self._replay_early, raw)
        try:
            self.transport = await self._handshake_on(raw)
        except HANDSHAKE_ERRORS as exc:
            self.log.info("TLS handshake failed: %s", exc)
            if not self._lost:
                raw.abort()
            self.connection_lost(None)
            return
        except asyncio.CancelledError:
            if not self._lost:
                raw.abort()
            self.connection_lost(None)
            raise
        finally:
            self._handshake = None
        self.tls = True
        if refused is not None:
            self._refuse_connection(refused)
        else:
            self._connected()

    def _replay_early(self, raw: asyncio.Transport) -> None:
        data, self._early = self._early, b""
        protocol = raw.get_protocol()
        if not data or protocol is self or self._lost:
            return
        # Both loops' TLS protocols are buffered protocols (uvloop's without
        # subclassing asyncio.BufferedProtocol).
        buffered = cast(asyncio.BufferedProtocol, protocol)
        view = memoryview(data)
        while view:
            buffer = memoryview(buffered.get_buffer(len(view)))
            n = min(len(buffer), len(view))
            buffer[:n] = view[:n]
            buffered.buffer_updated(n)
            view = view[n:]

    # -- internals -------------------------------------------------------------------------
    def _connected(self) -> None:
        settings = self.app.settings
        self._line_timeout = settings.duration("limits", "line_timeout")
        self._data_timeout = settings.duration("limits", "data_timeout")
        self._ready = True
        self._progress = asyncio.get_running_loop().time()
        self._arm_timer()
        self.connected()

    def _refuse_connection(self, refused: str) -> None:
        transport = self.transport
        assert transport is not None
        transport.write(self.refusal(refused))
        self.close()

    def _update_reading(self) -> None:
        # Closing, input is read only to be dropped (the lingering close above).
        want = self._closing or not (self.busy or self._input_full or self._write_paused)
        transport = self.transport
        if want == self._reading or transport is None or self._lost or transport.is_closing():
            return
        self._reading = want
        if want:
            transport.resume_reading()
        else:
            transport.pause_reading()

    def _release_drain(self) -> None:
        waiter = self._drain_waiter
        self._drain_waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _force_close(self) -> None:
        self._close_timer = None
        if not self._lost and self._raw is not None:
            self.log.info("close not taken in %.1f s; aborting", CLOSE_TIMEOUT)
            self._raw.abort()

    # -- timeouts --------------------------------------------------------------------------
    def _deadline(self, now: float) -> tuple[float, str]:
        if self._write_paused:
            return self._progress + self.idle_timeout(), "the client stopped reading"
        if self.busy:
            return now + self.idle_timeout(), ""  # our own work is not the client's silence
        state = self.input_state()
        if state is InputState.BULK:
            return self._progress + self._data_timeout, "data stalled"
        if state is InputState.LINE:
            return self._line_started + self._line_timeout, "command line not finished"
        return self._progress + self.idle_timeout(), "idle"

    def _arm_timer(self) -> None:
        loop = asyncio.get_running_loop()
        deadline, _ = self._deadline(loop.time())
        self._schedule(deadline)

    def _schedule(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = asyncio.get_running_loop().call_at(when, self._on_timer)

    def _wake_timer_by(self, now: float) -> None:
        """Make the timer fire no later than the shortest timeout from now, so that a
        line or literal starting now is judged by its own, shorter, timeout."""
        soonest = now + min(self._line_timeout, self._data_timeout)
        if self._timer is not None and soonest < self._timer_at:
            self._schedule(soonest)

    def rearm_timer(self) -> None:
        """Re-evaluate the timeout now (e.g. after login changed :meth:`idle_timeout`)."""
        if self._timer is not None:
            self._timer.cancel()
            self._arm_timer()

    def _on_timer(self) -> None:
        self._timer = None
        if self._closing:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline, what = self._deadline(now)
        if now < deadline:
            self._schedule(deadline)
            return
        self.log.info("closing the connection: %s", what)
        self.timed_out(what)
        if not self._closing:
            self.close()
