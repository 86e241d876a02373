"""Raw DEFLATE on both directions of a connection (IMAP COMPRESS=DEFLATE, RFC 4978).

RFC 4978 §4: after the command's tagged OK, each direction is one raw DEFLATE
stream (RFC 1951, no zlib or gzip wrapper: ``wbits=-15``), which lies above
TLS when TLS is in use. The sender flushes with Z_SYNC_FLUSH so that the peer
can inflate every complete response without waiting for more.

Invariants (the memory one connection may hold):

* output: zlib's deflate state is fixed in size (window and hash tables, about
  256 KiB at ``wbits=-15``, memory level 8); compressed octets go straight to
  the transport, whose high-water mark the connection already honours;
* input: inflating is bounded by `INFLATE_CHUNK` octets of output per step,
  and the connection stops inflating (and reading) while the session holds
  more than its input bound: a small compressed burst that inflates to
  gigabytes (a "deflate bomb") costs one chunk at a time, at the pace the
  session consumes it. What is not yet inflated stays compressed, at most one
  read of the transport.
"""

from __future__ import annotations

import zlib

#: RFC 4978 §4: raw DEFLATE; the decompressor must accept a 32 KiB window.
WBITS = -15

#: zlib's default compression level: Dovecot's choice too.
LEVEL = 6

#: Most inflated octets handed to the session in one step.
INFLATE_CHUNK = 16 * 1024


class CompressionError(Exception):
    """The peer's stream is not valid DEFLATE (the connection must end)."""


class Deflate:
    """The two DEFLATE streams of one connection."""

    __slots__ = ("_compressor", "_decompressor", "_pending", "_unflushed")

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, WBITS)
        self._decompressor = zlib.decompressobj(WBITS)
        self._pending = b""  # compressed input not inflated yet
        self._unflushed = False

    # -- output ----------------------------------------------------------------------
    def compress(self, data: bytes) -> bytes:
        """Compressed octets for `data` (maybe none yet: see :meth:`flush`)."""
        self._unflushed = True
        return self._compressor.compress(data)

    @property
    def unflushed(self) -> bool:
        return self._unflushed

    def flush(self) -> bytes:
        """Everything compressed so far, ended on a byte boundary (Z_SYNC_FLUSH)."""
        self._unflushed = False
        return self._compressor.flush(zlib.Z_SYNC_FLUSH)

    # -- input -----------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Compressed input from the peer, inflated later by :meth:`inflate`."""
        self._pending = self._pending + data if self._pending else data

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def inflate(self) -> bytes:
        """At most INFLATE_CHUNK octets of inflated input (``b""`` when there is none)."""
        if not self._pending:
            return b""
        try:
            out = self._decompressor.decompress(self._pending, INFLATE_CHUNK)
        except zlib.error as exc:
            self._pending = b""
            raise CompressionError(str(exc)) from None
        self._pending = self._decompressor.unconsumed_tail
        if self._decompressor.eof:  # RFC 4978 has no end of stream: what follows is garbage
            self._pending = b""
            raise CompressionError("the compressed stream ended")
        return out
