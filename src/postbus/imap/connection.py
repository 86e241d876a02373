"""The IMAP command task on top of the shared connection (``postbus.net.connection``).

The transport, TLS, timeouts, flow control and limits are the net layer's;
this module adds what is IMAP's own way of reading:

* Input goes into the sans-IO receiver; the first bytes of a burst start one
  task (``_process``, the session's command loop) and further bytes only wake
  it.  An idle connection holds no task and no buffer.
* The connection is *busy* (reading paused, no client timeout) while a command
  runs, and not while the loop or a handler waits for input, so pipelined
  input is bounded by one read.
* Handlers that need more input (AUTHENTICATE lines, IDLE's DONE) use
  :meth:`poll_event` and :meth:`sleep`; :meth:`wake` ends a sleep early.
* Before authentication the receiver runs on the small pre-authentication
  budget of ``imap/proto/limits.py`` (a few KiB of command and literals);
  :meth:`authenticated` lifts it to the normal limits.
"""

from __future__ import annotations

import asyncio
import logging

from postbus.app import App
from postbus.imap.outcome import SessionClosed
from postbus.imap.proto import Event, ImapBye, NeedData, Receiver, writer
from postbus.imap.proto.limits import (
    MAX_APPEND_TOTAL,
    MAX_COMMAND_SIZE,
    MAX_LINE,
    MAX_LITERAL,
    PREAUTH_MAX_COMMAND,
)
from postbus.net.connection import Connection, InputState, Listener

log = logging.getLogger("postbus.imap")


class ImapConnection(Connection):
    closed_error = SessionClosed
    logger = log

    def __init__(self, app: App, listener: Listener) -> None:
        super().__init__(app, listener)
        self.receiver = Receiver(
            max_line=PREAUTH_MAX_COMMAND, max_literal=PREAUTH_MAX_COMMAND,
            append_limit=PREAUTH_MAX_COMMAND, max_append_total=PREAUTH_MAX_COMMAND,
            max_command=PREAUTH_MAX_COMMAND,
        )
        self._task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._stopping = False
        self._budget_lifted = False

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

    # -- the net layer's hooks ------------------------------------------------------------
    def connected(self) -> None:
        self.send(self.greeting())

    def received(self, data: bytes) -> None:
        self.receiver.feed(data)
        self._start_or_wake()

    def input_state(self) -> InputState:
        receiver = self.receiver
        if receiver.in_literal and self._budget_lifted:
            return InputState.BULK
        # Before login a command and its literals (at most the budget) are one line
        # for the timeouts: all of it must arrive within the line timeout.
        return InputState.IDLE if receiver.between_commands else InputState.LINE

    def input_buffered(self) -> int:
        return self.receiver.buffered

    def idle_timeout(self) -> float:
        return self._timeout()

    def timed_out(self, what: str) -> None:
        self.log.info("autologout of %s: %s", self._who(), what)
        self._bye("Autologout; idle for too long")
        self.wake()

    def refusal(self, text: str) -> bytes:
        return writer.untagged_status("BYE", text, "UNAVAILABLE")  # RFC 5530 §3

    def stop(self) -> None:
        """Finish the command in hand, then ``* BYE`` and close (IDLE ends at once)."""
        self._stopping = True
        if self._task is None:
            self._bye("Server shutting down")
        else:
            self.wake()

    def disconnected(self) -> None:
        self._forget()
        self.wake()

    def eof(self) -> bool | None:
        self._start_or_wake()
        return True  # keep our side open for the replies to what was pipelined

    def abort(self) -> None:
        super().abort()
        if self._task is not None:
            self._task.cancel()

    def authenticated(self) -> None:
        """Login done: the normal receiver limits and the logged-in timeout apply."""
        receiver = self.receiver
        receiver.max_line = MAX_LINE
        receiver.max_literal = MAX_LITERAL
        receiver.append_limit = self.app.settings.max_message_size
        receiver.max_append_total = max(MAX_APPEND_TOTAL, receiver.append_limit)
        receiver.max_command = MAX_COMMAND_SIZE
        self._budget_lifted = True
        self.rearm_timer()

    async def write(self, data: bytes) -> None:
        """Send ``data`` and wait while the transport is above its high-water mark."""
        self.send(data)
        if self.write_paused:
            await self.drain()

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
            self.line_done()
            self.set_busy(True)
            return event
        if self.lost or self._eof or self.closing:
            raise SessionClosed()
        if self._stopping:
            raise ImapBye("Server shutting down")
        self.set_busy(False)
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
        await super().start_tls()

    # -- transport control ---------------------------------------------------------------------
    def _start_or_wake(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._process())
        else:
            self.wake()

    def _pause_reading(self) -> None:
        """A command is complete and about to run."""
        self.line_done()
        self.set_busy(True)

    def _resume_reading(self) -> None:
        self.set_busy(False)

    def _bye(self, text: str, code: str | None = None) -> None:
        """``* BYE [code] text`` (RFC 9051 §7.1.5) and close."""
        try:
            self.send(writer.untagged_status("BYE", text, code))
        except SessionClosed:
            pass
        self._close()

    def _close(self) -> None:
        self.close()
