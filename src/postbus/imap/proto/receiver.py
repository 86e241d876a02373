"""The sans-IO IMAP command receiver.

Theory of operation (after h11): the session :meth:`Receiver.feed` s whatever
bytes the transport delivered, then calls :meth:`Receiver.next_event` until it
returns :class:`~.events.NeedData`.  The receiver never does I/O; it frames
commands and hands each complete one to the parser:

* A command is CRLF-terminated lines, where a line ending in a literal marker
  ``{n}`` / ``{n+}`` (LITERAL+, RFC 7888) / ``~{n}`` (literal8, RFC 3516) is
  followed by ``n`` octets and the command goes on after them (RFC 9051 §4.3).
  A synchronising ``{n}`` yields :class:`~.events.NeedContinuation`, and the
  session sends ``+`` before the client sends the octets.
* Literal octets go straight into one buffer per literal (never copied twice);
  APPEND data reaches the command as a read-only memoryview of that buffer.
* Limits (``limits.py``) are checked before anything is buffered.  A line over
  ``max_line`` is discarded to its end, then refused.  A literal over its limit
  (``append_limit`` in APPEND, ``max_literal`` elsewhere, and the per-command
  totals) is refused *without* a continuation when synchronising (the client
  then sends nothing more for that command); a non-synchronising one is read
  and discarded, with the rest of its command, before the refusal (as Stalwart
  does), so the byte stream stays in sync.  After every non-fatal
  :class:`~.events.ProtocolError` the receiver is ready for the next command.
* Bare LF is accepted as a line end; empty lines between commands are ignored.
* After IDLE and during AUTHENTICATE the session switches the meaning of the
  next line with :meth:`expect_idle_done` / :meth:`expect_auth_line`.
"""

import re
from enum import Enum

from .commands import Command
from .errors import ImapError, ImapNo
from .events import (
    NEED_DATA,
    AuthLine,
    Event,
    IdleDone,
    NeedContinuation,
    ProtocolError,
)
from .lexer import LiteralPart
from .limits import (
    APPEND_LIMIT,
    DISCARD_TAIL,
    MAX_APPEND_TOTAL,
    MAX_COMMAND_LITERALS,
    MAX_COMMAND_SIZE,
    MAX_LINE,
    MAX_LITERAL,
    MAX_NUMBER64,
)
from .parser import parse_command, read_tag

#: Consumed input is dropped from the front of the buffer once it exceeds this.
_COMPACT_AT = 64 * 1024
#: How much of an over-long first line is examined for its tag.
_TAG_PEEK = 256
_APPEND = re.compile(rb"[^ ]+ APPEND ", re.IGNORECASE)


class _State(Enum):
    LINE = "line"
    LITERAL = "literal"
    DISCARD_LINE = "discard-line"
    DISCARD_LITERAL = "discard-literal"


class _Mode(Enum):
    COMMAND = "command"
    IDLE_DONE = "idle-done"
    AUTH_LINE = "auth-line"


def literal_marker(line: bytes) -> tuple[int, int, bool, bool] | None:
    """``(start, size, non_synchronising, binary)`` if ``line`` ends in a literal marker.

    ``size`` is -1 when the number is not a valid ``number64``.
    """
    if not line.endswith(b"}"):
        return None
    start = line.rfind(b"{")
    if start < 0:
        return None
    digits = line[start + 1 : -1]
    nonsync = digits.endswith(b"+")
    if nonsync:
        digits = digits[:-1]
    if not digits or not digits.isdigit():
        return None
    binary = start > 0 and line[start - 1] == 0x7E  # "~"
    size = int(digits) if len(digits) <= 19 else -1
    if size > MAX_NUMBER64:
        size = -1
    return (start - 1 if binary else start), size, nonsync, binary


class Receiver:
    """Frames and parses IMAP commands from a byte stream (see the module docstring)."""

    def __init__(
        self,
        max_line: int = MAX_LINE,
        max_literal: int = MAX_LITERAL,
        append_limit: int = APPEND_LIMIT,
        max_append_total: int = MAX_APPEND_TOTAL,
        max_command: int = MAX_COMMAND_SIZE,
    ) -> None:
        self.max_line = max_line
        self.max_literal = max_literal
        self.append_limit = append_limit
        self.max_append_total = max(max_append_total, append_limit)
        self.max_command = max_command
        #: Set by the session once UTF8=ACCEPT (RFC 6855) or IMAP4rev2 is enabled.
        self.utf8 = False
        self._buf = bytearray()
        self._pos = 0  # first unconsumed octet
        self._scan = 0  # where the search for the next LF resumes
        self._state = _State.LINE
        self._mode = _Mode.COMMAND
        self._mode_tag: str | None = None
        # the command being framed
        self._segments: list[bytes] = []
        self._literals: list[LiteralPart] = []
        self._tag: str | None = None
        self._is_append = False
        self._size = 0
        # the literal being read or discarded
        self._literal = bytearray()
        self._binary = False
        self._remaining = 0
        # the refusal waiting for the end of a discarded command
        self._error: ProtocolError | None = None
        self._discarding_command = False
        self._tail = b""

    # -- session API -------------------------------------------------------------
    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add received bytes; literal octets go directly into their buffer."""
        if not data:
            return
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = self._scan = 0
            if self._state in (_State.LITERAL, _State.DISCARD_LITERAL):
                take = min(self._remaining, len(data))
                if self._state is _State.LITERAL:
                    with memoryview(data) as view:
                        self._literal += view[:take]
                self._remaining -= take
                data = data[take:]
        elif self._pos >= _COMPACT_AT:
            del self._buf[: self._pos]
            self._scan -= self._pos
            self._pos = 0
        self._buf += data

    def next_event(self) -> Event:
        """The next event; :class:`NeedData` when more bytes are needed."""
        while True:
            state = self._state
            if state is _State.LINE:
                event = self._next_line()
            elif state is _State.DISCARD_LINE:
                event = self._discard_line()
            else:
                event = self._read_literal()
            if event is not None:
                return event

    def expect_idle_done(self, tag: str | None = None) -> None:
        """Make the next line the end of IDLE: :class:`IdleDone` or a ProtocolError.

        ``tag`` (the IDLE command's) is put on the error for anything but ``DONE``.
        """
        self._check_between_commands()
        self._mode = _Mode.IDLE_DONE
        self._mode_tag = tag

    def expect_auth_line(self, tag: str | None = None) -> None:
        """Make the next line an AUTHENTICATE response (:class:`AuthLine`)."""
        self._check_between_commands()
        self._mode = _Mode.AUTH_LINE
        self._mode_tag = tag

    @property
    def in_literal(self) -> bool:
        """Literal octets are being read (or discarded)."""
        return self._state in (_State.LITERAL, _State.DISCARD_LITERAL)

    @property
    def between_commands(self) -> bool:
        """Nothing of a next command (or expected line) has been received."""
        return (self._state is _State.LINE and not self._segments
                and self._pos == len(self._buf))

    @property
    def buffered(self) -> int:
        """Octets received but not yet consumed (e.g. pipelined after STARTTLS)."""
        return len(self._buf) - self._pos

    def take_buffered(self) -> bytes:
        """Remove and return the unconsumed octets (for STARTTLS / COMPRESS switches)."""
        self._check_between_commands()
        data = bytes(self._buf[self._pos :])
        self._buf.clear()
        self._pos = self._scan = 0
        return data

    def _release_consumed(self) -> None:
        """All input is consumed: free the buffer instead of holding a read's worth."""
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = self._scan = 0

    # -- framing -----------------------------------------------------------------
    def _check_between_commands(self) -> None:
        if self._segments or self._state is not _State.LINE:
            raise RuntimeError("the receiver is in the middle of a command")

    def _reset_command(self) -> None:
        self._segments = []
        self._literals = []
        self._tag = None
        self._is_append = False
        self._size = 0
        self._error = None
        self._state = _State.LINE

    def _too_big(self, message: str) -> ProtocolError:
        if self._is_append:  # RFC 7889 §4 / RFC 9051 §7.1: NO [TOOBIG]
            return ProtocolError(self._tag, message, "TOOBIG", status="NO")
        return ProtocolError(self._tag, message, "TOOBIG")

    def _next_line(self) -> Event | None:
        buf = self._buf
        pos = self._pos
        nl = buf.find(b"\n", self._scan)
        if nl < 0:
            if len(buf) - pos > self.max_line + 1:
                self._scan = len(buf)
                self._start_discard_line()
                return None
            if pos:  # keep only the partial line while waiting (a read can be 256 KiB)
                del buf[:pos]
                self._pos = 0
            self._scan = len(buf)
            return NEED_DATA
        end = nl - 1 if nl > pos and buf[nl - 1] == 0x0D else nl
        if end - pos > self.max_line:
            self._start_discard_line()
            return None
        line = bytes(buf[pos:end])
        self._pos = self._scan = nl + 1
        mode = self._mode
        if mode is not _Mode.COMMAND:
            self._mode = _Mode.COMMAND
            if mode is _Mode.AUTH_LINE:
                return AuthLine(line)
            if line.upper() == b"DONE":
                return IdleDone()
            return ProtocolError(self._mode_tag, "Expected DONE to end IDLE")
        if not self._segments:
            if not line:
                return None
            self._tag = read_tag(line)
            self._is_append = _APPEND.match(line) is not None
        self._size += len(line) + 2
        marker = literal_marker(line)
        if marker is None:
            self._segments.append(line)
            if self._size > (self.max_append_total if self._is_append else self.max_command):
                error = self._too_big("Command too long")
                self._reset_command()
                return error
            return self._complete()
        start, size, nonsync, binary = marker
        self._segments.append(line[:start])
        return self._start_literal(size, nonsync, binary)

    def _start_literal(self, size: int, nonsync: bool, binary: bool) -> Event | None:
        if size < 0:
            fatal = ProtocolError(self._tag, "Literal size out of range", fatal=True)
            self._reset_command()
            return fatal
        if self._is_append:
            limit, total, what = self.append_limit, self.max_append_total, "Message"
        else:
            limit, total, what = self.max_literal, self.max_command, "Literal"
        error: ProtocolError | None = None
        if size > limit:
            error = self._too_big(f"{what} too big (limit {limit} octets)")
        elif self._size + size > total or len(self._literals) >= MAX_COMMAND_LITERALS:
            error = self._too_big("Command too big")
        if error is not None:
            if not nonsync:  # the client waits for "+" and will not send the octets
                self._reset_command()
                return error
            self._error = error
            self._discarding_command = True
            self._state = _State.DISCARD_LITERAL
            self._remaining = size
            return None
        self._size += size
        self._state = _State.LITERAL
        self._literal = bytearray()
        self._binary = binary
        self._remaining = size
        return None if nonsync else NeedContinuation(size)

    def _read_literal(self) -> Event | None:
        take = min(self._remaining, len(self._buf) - self._pos)
        if take:
            if self._state is _State.LITERAL:
                with memoryview(self._buf) as view:
                    self._literal += view[self._pos : self._pos + take]
            self._pos += take
            self._scan = self._pos
            self._remaining -= take
        if self._remaining:
            self._release_consumed()
            return NEED_DATA
        if self._state is _State.LITERAL:
            self._literals.append((self._literal, self._binary))
            self._literal = bytearray()
            self._state = _State.LINE
        else:
            self._state = _State.DISCARD_LINE
        return None

    def _complete(self) -> Event:
        segments, literals, tag = self._segments, self._literals, self._tag
        self._reset_command()
        try:
            command: Command = parse_command(segments, literals, self.utf8)
        except ImapError as exc:
            if isinstance(exc, ImapNo):
                return ProtocolError(tag, exc.message, exc.code, status="NO")
            return ProtocolError(tag, exc.message, exc.code)
        return command

    # -- discarding ----------------------------------------------------------------
    def _start_discard_line(self) -> None:
        """The current line is over ``max_line``: drop it to its end, then refuse."""
        if self._mode is not _Mode.COMMAND:
            tag = self._mode_tag
            self._mode = _Mode.COMMAND
            self._discarding_command = False
        else:
            if not self._segments:
                tag = read_tag(bytes(self._buf[self._pos : self._pos + _TAG_PEEK]))
                self._tag = tag if tag is None or len(tag) < _TAG_PEEK else None
            tag = self._tag
            self._discarding_command = True
        self._error = ProtocolError(tag, "Line too long", "TOOBIG")
        self._tail = b""
        self._state = _State.DISCARD_LINE

    def _discard_line(self) -> Event | None:
        buf = self._buf
        nl = buf.find(b"\n", self._pos)
        end = len(buf) if nl < 0 else nl
        self._tail = (self._tail + bytes(buf[max(self._pos, end - DISCARD_TAIL) : end]))[
            -DISCARD_TAIL:
        ]
        if nl < 0:
            self._pos = self._scan = len(buf)
            self._release_consumed()
            return NEED_DATA
        self._pos = self._scan = nl + 1
        tail = self._tail.removesuffix(b"\r")
        self._tail = b""
        marker = literal_marker(tail) if self._discarding_command else None
        if marker is not None and marker[2]:  # a non-synchronising literal follows
            if marker[1] >= 0:
                self._state = _State.DISCARD_LITERAL
                self._remaining = marker[1]
                return None
        error = self._error
        self._reset_command()
        assert error is not None, "discarding always has a pending refusal"
        if marker is not None and marker[1] < 0:
            return ProtocolError(error.tag, "Literal size out of range", fatal=True)
        return error
