"""The I/O half of an IMAP session: transport, flow control, waiting, autologout, TLS.

:class:`ImapConnection` is the ``asyncio.Protocol``; :class:`~.session.ImapSession`
adds the protocol on top.  What this layer guarantees:

* Input goes into the sans-IO receiver; the first bytes of a burst start one
  task (``_process``, the session's command loop) and further bytes only wake
  it.  An idle connection holds no task and no buffer.
* Reading is paused while a command runs (:meth:`_pause_reading`) and resumed
  when the loop needs input, so pipelined input is bounded by one read.
* :meth:`write` waits while the transport is above its high-water mark
  (``pause_writing``); a lost connection makes every write raise
  :class:`~.outcome.SessionClosed`.
* Handlers that need more input (AUTHENTICATE lines, IDLE's DONE) use
  :meth:`poll_event` and :meth:`sleep`; :meth:`wake` ends a sleep early.
* A client silent for longer than :meth:`_timeout` (no input, no progress
  reading our output, no command in progress on our side) gets ``* BYE``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import cast

from postbus.app import App
from postbus.imap.outcome import SessionClosed
from postbus.imap.proto import Event, ImapBye, NeedData, Receiver, writer

log = logging.getLogger("postbus.imap")

TLS_HANDSHAKE_TIMEOUT = 30.0


class ImapConnection(asyncio.Protocol):
    __slots__ = (
        "_closed", "_drain_waiter", "_eof", "_last_activity", "_lost", "_reading_paused",
        "_stopping", "_task", "_timer", "_unregister", "_waiter", "_write_paused", "app",
        "receiver", "tls", "transport",
    )

    def __init__(self, app: App) -> None:
        self.app = app
        self.transport: asyncio.Transport | None = None
        self.tls = False
        self.receiver = Receiver(append_limit=app.settings.max_message_size)
        self._task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._unregister: Callable[[], None] | None = None
        self._last_activity = 0.0
        self._reading_paused = False
        self._write_paused = False
        self._eof = False
        self._lost = False
        self._closed = False
        self._stopping = False

    # -- what the session provides --------------------------------------------------
    def greeting(self) -> bytes:
        raise NotImplementedError

    async def _process(self) -> None:
        raise NotImplementedError

    def _timeout(self) -> float:
        raise NotImplementedError

    def _who(self) -> str:
        raise NotImplementedError

    def _forget(self) -> None:
        """Release what the session holds once the connection is gone."""

    # -- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.tls = transport.get_extra_info("ssl_object") is not None
        self._unregister = self.app.register(self)
        self._last_activity = asyncio.get_running_loop().time()
        self._arm_timer()
        self.transport.write(self.greeting())

    def data_received(self, data: bytes) -> None:
        self.receiver.feed(data)
        self._last_activity = asyncio.get_running_loop().time()
        self._start_or_wake()

    def eof_received(self) -> bool | None:
        self._eof = True
        self._start_or_wake()
        # Keep the write side open for the replies to what was pipelined (not possible in TLS).
        return not self.tls

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._forget()
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        self.wake()
        self._release_drain()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        # A client still reading a long response is not idle.
        self._last_activity = asyncio.get_running_loop().time()
        self._release_drain()

    # -- app.Session ---------------------------------------------------------------------
    def shutdown(self) -> None:
        """Finish the command in hand, then ``* BYE`` and close (IDLE ends at once)."""
        self._stopping = True
        if self._task is None:
            self._bye("Server shutting down")
        else:
            self.wake()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        if self._task is not None:
            self._task.cancel()

    # -- writing ---------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue ``data`` on the transport (then :meth:`drain`, or use :meth:`write`)."""
        transport = self.transport
        if self._lost or transport is None or transport.is_closing():
            raise SessionClosed()
        transport.write(data)

    async def write(self, data: bytes) -> None:
        """Send ``data`` and wait while the transport is above its high-water mark."""
        self.send(data)
        if self._write_paused:
            await self.drain()

    async def drain(self) -> None:
        while self._write_paused:
            if self._lost:
                raise SessionClosed()
            waiter = asyncio.get_running_loop().create_future()
            self._drain_waiter = waiter
            await waiter
        if self._lost:
            raise SessionClosed()

    # -- waiting for input --------------------------------------------------------------------
    async def read_event(self) -> Event:
        """The client's next event while a handler waits for input (AUTHENTICATE lines)."""
        while True:
            event = await self.poll_event()
            if event is not None:
                return event
            await self.sleep(None)

    async def poll_event(self) -> Event | None:
        """The next buffered event, or None after re-enabling reading (then :meth:`sleep`)."""
        event = self.receiver.next_event()
        if not isinstance(event, NeedData):
            return event
        if self._lost or self._eof or self._closed:
            raise SessionClosed()
        if self._stopping:
            raise ImapBye("Server shutting down")
        self._resume_reading()
        return None

    async def sleep(self, timeout: float | None) -> None:
        """Wait for input, a lost connection, shutdown, a :meth:`wake`, or ``timeout``."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            pass
        finally:
            self._waiter = None

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


    # -- TLS ---------------------------------------------------------------------------------------
    async def start_tls(self) -> None:
        """RFC 9051 §6.2.1: TLS now; plaintext the client pipelined is discarded."""
        self.receiver.take_buffered()
        transport = self.transport
        assert transport is not None
        try:
            new = await asyncio.get_running_loop().start_tls(
                transport, self, self.app.tls, server_side=True,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
            )
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
            log.info("STARTTLS handshake failed: %s", exc)
            transport.abort()
            raise SessionClosed() from None
        if new is None:
            raise SessionClosed()
        self.transport = new
        self.tls = True
        self._reading_paused = False

    # -- transport control ---------------------------------------------------------------------
    def _start_or_wake(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._process())
        else:
            self.wake()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and not self._lost:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and not self._lost:
            self._reading_paused = False
            self.transport.resume_reading()

    def _release_drain(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._drain_waiter = None

    def _bye(self, text: str) -> None:
        """``* BYE text`` (RFC 9051 §7.1.5) and close."""
        try:
            self.send(writer.untagged_status("BYE", text))
        except SessionClosed:
            pass
        self._close()

    def _close(self) -> None:
        self._closed = True
        transport = self.transport
        if transport is None or self._lost:
            return
        if self._write_paused:  # the client stopped reading: do not wait for it
            transport.abort()
        else:
            transport.close()

    # -- autologout ------------------------------------------------------------------------------
    def _arm_timer(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(self._last_activity + self._timeout(), self._on_timer)

    def _timeout_changed(self) -> None:
        """Re-arm the autologout timer for a new :meth:`_timeout` (e.g. after login)."""
        if self._timer is not None:
            self._timer.cancel()
            self._arm_timer()

    def _on_timer(self) -> None:
        self._timer = None
        if self._lost:
            return
        now = asyncio.get_running_loop().time()
        working = self._task is not None and self._waiter is None and not self._write_paused
        if working:  # a command in progress on our side is not the client's silence
            self._last_activity = now
        if now < self._last_activity + self._timeout():
            self._arm_timer()
            return
        log.info("IMAP autologout of %s after %.0f s without input", self._who(), self._timeout())
        self._bye("Autologout; idle for too long")
        self.wake()
