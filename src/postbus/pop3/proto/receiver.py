"""Sans-IO POP3 line receiver: bytes in, command lines out.

The session calls `feed(data)` and then `next_event()` until `NEED_DATA`. Lines
end with CR LF; a bare LF is accepted too (RFC 1939 §3 says CRLF, but a client
that ends lines with LF alone can do no harm here: POP3 clients send only
commands, never message data). A line longer than the limit is discarded up to
the next LF and reported once as `LineTooLong`, which the session answers with
-ERR; the connection stays usable.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMAND_LINE_LIMIT = 255  # RFC 2449 §4: commands up to 255 octets including CRLF
AUTH_LINE_LIMIT = 8192  # SASL continuation lines (RFC 5034 §4) carry longer base64


@dataclass(frozen=True, slots=True)
class Line:
    line: bytes  # without CR LF / LF


@dataclass(frozen=True, slots=True)
class LineTooLong:
    pass


@dataclass(frozen=True, slots=True)
class NeedData:
    pass


NEED_DATA = NeedData()

Event = Line | LineTooLong | NeedData


class LineReceiver:
    def __init__(self, *, line_limit: int = COMMAND_LINE_LIMIT) -> None:
        self.line_limit = line_limit
        self._next_line_limit: int | None = None
        self._buf = b""
        self._pos = 0
        self._discarding = False

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if self._pos >= len(self._buf):
            self._buf = bytes(data)
        else:
            self._buf = self._buf[self._pos :] + data
        self._pos = 0

    def expect_auth_response(self) -> None:
        """Allow the next line to be an AUTH_LINE_LIMIT-long SASL response."""
        self._next_line_limit = AUTH_LINE_LIMIT

    def next_event(self) -> Event:
        buf, pos = self._buf, self._pos
        if self._discarding:
            i = buf.find(b"\n", pos)
            if i < 0:
                self._buf, self._pos = b"", 0
                return NEED_DATA
            self._pos = i + 1
            self._discarding = False
            return LineTooLong()
        limit = self._next_line_limit or self.line_limit
        i = buf.find(b"\n", pos, pos + limit)
        if i < 0:
            if len(buf) - pos < limit:
                return NEED_DATA
            self._next_line_limit = None
            self._discarding = True
            self._pos = pos + limit
            return self.next_event()
        self._pos = i + 1
        self._next_line_limit = None
        end = i - 1 if i > pos and buf[i - 1] == 0x0D else i
        return Line(buf[pos:end])
