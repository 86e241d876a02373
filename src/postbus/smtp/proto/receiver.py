"""Sans-IO SMTP receiver: bytes from the client in, events out.

Theory of operation (after h11): the session calls `feed(data)` with whatever
the socket produced, then calls `next_event()` until it returns `NEED_DATA`.
The receiver is in one of three modes:

command  `CommandLine(line)` for each line (CRLF or bare LF stripped, the latter
         reported in `bare_lf`). A line longer than the line limit is discarded up
         to the next LF and reported as one `LineTooLong`; the session answers
         500 and the connection stays usable.
data     entered by `start_data(max_size)` after the session sent 354.
         `DataChunk(data)` pieces of unstuffed content as they arrive, then
         `DataEnd(size, too_big, bare_lf_or_cr, nul)`; back to command mode.
bdat     entered by `start_bdat(size, ...)` after a BDAT command: exactly `size`
         octets as `DataChunk`s, then `BdatEnd`; back to command mode. BDAT
         content is passed on verbatim ("normalize" does not apply: BINARYMIME
         may legitimately carry bare CR/LF), bare CR/LF and NUL are only reported.

Bytes that follow a command line stay buffered until the session asks for the
next event, so a session that refuses DATA (no 354) sees pipelined lines as
commands, and one that accepts it calls `start_data` first. The receiver buffers
only what it is fed; a session applies back-pressure by pausing reads while it
has events to process. See `datascan` for the DATA invariants (smuggling defence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .datascan import BdatReader, DataScanner

COMMAND_LINE_LIMIT = 2048  # RFC 5321 §4.5.3.1.4 says 512 with CRLF; extensions and
#                            long AUTH initial responses need more, so we are lenient
AUTH_LINE_LIMIT = 12288  # RFC 4954 §4: SASL response lines of up to 12288 octets

BareNewline = Literal["reject", "normalize"]


@dataclass(frozen=True, slots=True)
class CommandLine:
    line: bytes  # without the line ending
    bare_lf: bool = False  # ended in LF without CR


@dataclass(frozen=True, slots=True)
class LineTooLong:
    pass


@dataclass(frozen=True, slots=True)
class DataChunk:
    data: bytes


@dataclass(frozen=True, slots=True)
class DataEnd:
    size: int  # octets of content (after unstuffing and any normalisation)
    too_big: bool  # size passed max_size; no content was returned past that point
    bare_lf_or_cr: bool  # content had a bare CR or LF (rewritten if "normalize")
    nul: bool = False  # content had a NUL octet (never rewritten)


@dataclass(frozen=True, slots=True)
class BdatEnd:
    size: int
    bare_lf_or_cr: bool
    nul: bool = False


@dataclass(frozen=True, slots=True)
class NeedData:
    pass


NEED_DATA = NeedData()

Event = CommandLine | LineTooLong | DataChunk | DataEnd | BdatEnd | NeedData


class Receiver:
    def __init__(
        self, *, bare_newline: BareNewline = "reject", line_limit: int = COMMAND_LINE_LIMIT
    ) -> None:
        if bare_newline not in ("reject", "normalize"):
            raise ValueError("bare_newline must be 'reject' or 'normalize'")
        self.bare_newline: BareNewline = bare_newline
        self.line_limit = line_limit
        self._next_line_limit: int | None = None
        self._buf = b""
        self._pos = 0  # start of the unconsumed part of _buf
        self._discarding = False  # skipping the rest of an over-long line
        self._data: DataScanner | None = None
        self._bdat: BdatReader | None = None
        self._bdat_carry_cr = False
        self._bdat_discard = False

    @property
    def mode(self) -> Literal["command", "data", "bdat"]:
        if self._data is not None:
            return "data"
        return "bdat" if self._bdat is not None else "command"

    @property
    def buffered(self) -> int:
        """Octets fed but not yet turned into events."""
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

    def start_data(self, max_size: int) -> None:
        self._require_command_mode()
        self._data = DataScanner(max_size, normalize=self.bare_newline == "normalize")

    def start_bdat(self, size: int, *, first: bool = True, last: bool = True,
                   discard: bool = False) -> None:
        """Read one BDAT chunk. `first`/`last` say where the chunk sits in its message,
        so that a CR LF split between two chunks is not taken for bare CR/LF."""
        self._require_command_mode()
        self._bdat = BdatReader(size, carry_cr=self._bdat_carry_cr and not first, last=last)
        self._bdat_discard = discard

    def next_event(self) -> Event:
        if self._data is not None:
            return self._next_data_event(self._data)
        if self._bdat is not None:
            return self._next_bdat_event(self._bdat)
        return self._next_line_event()

    def _next_line_event(self) -> Event:
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
            return self._next_line_event()
        self._pos = i + 1
        self._next_line_limit = None
        if i > pos and buf[i - 1] == 0x0D:
            return CommandLine(buf[pos : i - 1])
        return CommandLine(buf[pos:i], bare_lf=True)

    def _next_data_event(self, scanner: DataScanner) -> Event:
        if scanner.finished:
            self._data = None
            return DataEnd(scanner.size, scanner.too_big, scanner.bare_lf_or_cr, scanner.nul)
        chunk, self._pos, scanner.finished = scanner.scan(self._buf, self._pos)
        if chunk:
            return DataChunk(chunk)
        return self._next_data_event(scanner) if scanner.finished else NEED_DATA

    def _next_bdat_event(self, reader: BdatReader) -> Event:
        if reader.remaining == 0:
            self._bdat = None
            self._bdat_carry_cr = reader.carry_cr and not reader.last
            return BdatEnd(reader.size, reader.bare_lf_or_cr, reader.nul)
        piece, self._pos = reader.take(self._buf, self._pos)
        if piece and not self._bdat_discard:
            return DataChunk(piece)
        return self._next_bdat_event(reader) if reader.remaining == 0 else NEED_DATA

    def _require_command_mode(self) -> None:
        if self._data is not None or self._bdat is not None:
            raise RuntimeError("the receiver is already reading message data")
