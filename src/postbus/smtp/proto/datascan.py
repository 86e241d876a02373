"""Streaming DATA and BDAT body readers (RFC 5321 §4.1.1.4, §4.5.2; RFC 3030).

`DataScanner` turns the dot-stuffed DATA stream into message bytes, chunk by
chunk, without ever holding the whole message. Invariants:

- Only CR LF "." CR LF ends the data, or "." CR LF as the very first line
  (an empty message). `\\n.\\n`, `\\r.\\r`, `\\n.\\r\\n`, `\\r\\n.\\r`, `\\r.\\r\\n`
  are ordinary content: this is the defence against SMTP smuggling
  (CVE-2023-51764/51765/51766), where two servers disagree on where a message ends.
- A line starts only after CR LF. A "." at a line start that is not the
  terminator is removed (dot-unstuffing, RFC 5321 §4.5.2); nothing else changes.
- At most two bytes are held back between calls: a trailing CR (which may begin
  CR LF), or "." / ".\\r" at a line start (which may begin the terminator). Every
  other byte is returned at once.
- Bare CR or LF (not part of CR LF) is detected in the returned content, and
  either reported (`bare_newline="reject"`) or rewritten to CR LF ("normalize");
  the flag is set in both cases. Output chunks never end in a lone CR, so the
  check holds across chunk boundaries.
- A NUL octet anywhere in the content sets `nul` (never rewritten: the session
  refuses the message). RFC 5322 §2.1 and RFC 2045 §2.7/§2.8 allow NUL in no
  7bit or 8bit message, and we offer no BINARYMIME; a NUL we passed on could be
  stripped by a server downstream and so reshape what it sees (smuggling).
- Past `max_size` octets the scanner keeps finding the terminator but returns no
  more data, so the session can answer 552 and stay in step with the client.

`BdatReader` counts exactly n octets of a BDAT chunk, with no dot processing,
and reports bare CR/LF and NUL the same way (a CR ending one chunk pairs with an
LF starting the next chunk of the same message).
"""

from __future__ import annotations

_TERMINATOR = b".\r\n"


class DataScanner:
    def __init__(self, max_size: int, *, normalize: bool) -> None:
        self.max_size = max_size
        self.normalize = normalize
        self.size = 0  # octets of message content seen (counted past max_size too)
        self.too_big = False
        self.bare_lf_or_cr = False
        self.nul = False  # the content holds a NUL octet
        self._at_line_start = True  # the data begins at a line start
        self.finished = False  # the terminator has been consumed

    def scan(self, buf: bytes, start: int) -> tuple[bytes, int, bool]:
        """Consume from `buf[start:]`; return (content, new start, terminator seen)."""
        pieces: list[bytes] = []
        end = len(buf)
        seg = start  # start of the content not yet copied to `pieces`
        if self._at_line_start and start == end:
            return b"", start, False
        dot = start if self._at_line_start and buf.startswith(b".", start) else -1
        while True:
            if dot < 0:
                # memchr for any "." first: base64 bodies have none, and skip fast
                first = buf.find(b".", seg)
                i = buf.find(b"\r\n.", max(seg, first - 2)) if first >= 0 else -1
                if i < 0:
                    break
                dot = i + 2
            head = buf[dot : dot + 3]
            if head == _TERMINATOR:
                pieces.append(buf[seg:dot])
                return self._emit(pieces), dot + 3, True
            if len(head) < 3 and _TERMINATOR.startswith(head):
                pieces.append(buf[seg:dot])  # "." or ".\r" at the end: wait for more
                self._at_line_start = True
                return self._emit(pieces), dot, False
            pieces.append(buf[seg:dot])  # RFC 5321 §4.5.2: drop the stuffed dot
            seg = dot + 1
            dot = -1
        stop = end - 1 if buf.endswith(b"\r", seg) else end  # a CR may begin CR LF
        pieces.append(buf[seg:stop])
        # a CR LF that ends the content puts the next octet at a line start; it
        # lies inside the segment, since a CR before `seg` would have been held back
        self._at_line_start = end - seg >= 2 and buf.endswith(b"\r\n")
        return self._emit(pieces), stop, False

    def _emit(self, pieces: list[bytes]) -> bytes:
        chunk = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        if not chunk:
            return b""
        if b"\0" in chunk:
            self.nul = True
        crlf = chunk.count(b"\r\n")
        if chunk.count(b"\r") != crlf or chunk.count(b"\n") != crlf:
            self.bare_lf_or_cr = True
            if self.normalize:
                chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
        self.size += len(chunk)
        if self.size > self.max_size:
            self.too_big = True
        return b"" if self.too_big else chunk


class BdatReader:
    """Reads one BDAT chunk of `size` octets (RFC 3030 §2), verbatim."""

    def __init__(self, size: int, *, carry_cr: bool, last: bool) -> None:
        self.remaining = size
        self.size = size
        self.last = last
        self.bare_lf_or_cr = False
        self.nul = False
        self.carry_cr = carry_cr  # the previous chunk of this message ended in CR
        if size == 0:
            self._finish()

    def take(self, buf: bytes, start: int) -> tuple[bytes, int]:
        n = min(self.remaining, len(buf) - start)
        piece = buf[start : start + n]
        self.remaining -= n
        if piece:
            self._check(piece)
        if self.remaining == 0:
            self._finish()
        return piece, start + n

    def _finish(self) -> None:
        if self.last and self.carry_cr:
            self.bare_lf_or_cr = True  # the message ends in a lone CR

    def _check(self, piece: bytes) -> None:
        if b"\0" in piece:
            self.nul = True
        crlf = piece.count(b"\r\n")
        joined = self.carry_cr and piece.startswith(b"\n")
        trailing_cr = piece.endswith(b"\r")
        if self.carry_cr and not joined:
            self.bare_lf_or_cr = True
        if piece.count(b"\r") - crlf - trailing_cr > 0:
            self.bare_lf_or_cr = True
        if piece.count(b"\n") - crlf - joined > 0:
            self.bare_lf_or_cr = True
        self.carry_cr = trailing_cr
