"""The header block of a submitted message, kept while its data streams past.

Submission checks the originator fields (From, Sender, Date, Resent-*) of the
header the client wrote (RFC 6409 §8: a submission server may refuse what it
will not sign and send). The `MessageSink` streams the body to a blob and the
parsed record keeps only the first From, so the session keeps the raw header
block itself: the octets before the first empty line, at most
`SUBMISSION_HEADER_LIMIT` of them. Past that limit the header is reported as
too large rather than checked in part, so no field can hide behind the limit.
Invariant: memory per message is bounded by the limit, and nothing past the
header's end is copied.
"""

from __future__ import annotations

#: Octets of a submitted message's header block kept for the originator checks
#: (Postfix's header_size_limit is 100 KiB; 256 KiB leaves room for long DKIM and
#: ARC chains of a forwarded message). A larger header is refused (552 5.3.4).
SUBMISSION_HEADER_LIMIT = 256 << 10

_END = b"\r\n\r\n"  # DATA and BDAT content has CR LF line ends only (bare CR/LF are refused)


class HeaderCollector:
    """Collects the header block from the message's content chunks, in order."""

    def __init__(self, limit: int = SUBMISSION_HEADER_LIMIT) -> None:
        self.limit = limit
        self._buf = bytearray()
        self.complete = False  # the empty line that ends the header was seen
        self.too_large = False

    def write(self, chunk: bytes) -> None:
        if self.complete or self.too_large:
            return
        searched = max(0, len(self._buf) - 3)
        self._buf += chunk[: self.limit + 4 - len(self._buf)]
        if self._buf.startswith(b"\r\n"):
            self._buf.clear()  # RFC 5322 §2.1: an empty header, the body follows
            self.complete = True
            return
        end = self._buf.find(_END, searched)
        if end >= 0:
            del self._buf[end + 2 :]
            self.complete = True
        elif len(self._buf) > self.limit:
            self.too_large = True
            self._buf.clear()

    def header(self) -> bytes:
        """The header block (each field with its CR LF), once the data has ended."""
        return bytes(self._buf)
