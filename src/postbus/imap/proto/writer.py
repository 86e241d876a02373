"""Response writer: the one place that turns values into IMAP wire syntax.

Handlers never hand-quote (STYLE "Also"): they pass ``str``/``bytes`` here and
the writer chooses the form.  Rules (RFC 9051 §4.3, §9; RFC 6855 §3):

* A string is sent quoted only when it is at most ``MAX_QUOTED`` octets and
  contains no CR, LF or NUL; 8-bit octets are quoted only when the session
  enabled UTF8=ACCEPT (``utf8=True``) and they are valid UTF-8.  Anything else
  becomes a literal ``{n}``.  ``\\`` and ``"`` are escaped inside quotes.
* Response text (after the status word) never contains CR or LF: they are
  replaced by spaces so that no client-supplied text can forge a line.
* Mailbox names are modified UTF-7 unless ``utf8``.

All functions return ``bytes`` and build them with joins and %-formatting, not
per-character loops, because a FETCH of 50,000 messages goes through here.
"""

import re
from collections.abc import Iterable

from . import mutf7
from .lexer import ASTRING
from .limits import MAX_QUOTED

CRLF = b"\r\n"
NIL = b"NIL"

# 7-bit text needing neither a literal nor an escape
_QUOTABLE_PLAIN = re.compile(rb"[\x01-\x09\x0b\x0c\x0e-\x21\x23-\x5b\x5d-\x7f]*")
# Short plain strings repeat across messages (media types, parameters, addresses):
# their quoted form is memoised; the result never depends on ``utf8``.
_QUOTED_CACHE: dict[str, bytes] = {}
_CACHE_SIZE = 4096
_CACHED_LENGTH = 64
_QUOTABLE_ASCII = re.compile(rb"[\x01-\x09\x0b\x0c\x0e-\x7f]*")
_QUOTABLE_8BIT = re.compile(rb"[\x01-\x09\x0b\x0c\x0e-\xff]*")
_NEEDS_ESCAPE = re.compile(rb'["\\]')
_LINE_BREAKS = re.compile(rb"[\r\n\x00]")
_CODE = re.compile(r"[^\r\n\]\x00]+")


def _to_bytes(value: str | bytes | bytearray | memoryview) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return bytes(value)


def response_text(text: str | bytes) -> bytes:
    """``text`` made safe for a response line (no CR, LF or NUL)."""
    raw = _to_bytes(text)
    return _LINE_BREAKS.sub(b" ", raw) if _LINE_BREAKS.search(raw) else raw


def _with_code(status: str, text: str | bytes, code: str | None) -> bytes:
    if code is None:
        return b"%s %s" % (status.encode("ascii"), response_text(text) or b" ")
    if not _CODE.fullmatch(code):
        raise ValueError(f"invalid response code {code!r}")
    return b"%s [%s] %s" % (
        status.encode("ascii"), code.encode("utf-8"), response_text(text) or b" "
    )


def tagged(tag: str, status: str, text: str | bytes, code: str | None = None) -> bytes:
    """``tag OK|NO|BAD [code] text``."""
    return b"%s %s\r\n" % (tag.encode("ascii"), _with_code(status, text, code))


def untagged_status(status: str, text: str | bytes, code: str | None = None) -> bytes:
    """``* OK|NO|BAD|BYE|PREAUTH [code] text``."""
    return b"* %s\r\n" % _with_code(status, text, code)


def untagged(data: str | bytes) -> bytes:
    """``* data`` for data already in wire form (see ``responses.py``)."""
    return b"* %s\r\n" % _to_bytes(data)


def continuation(text: str | bytes = "Ready for literal data") -> bytes:
    """``+ text`` (RFC 9051 §7.5); for AUTHENTICATE pass the base64 challenge."""
    return b"+ %s\r\n" % response_text(text)


# -- values ---------------------------------------------------------------------------
def number(value: int) -> bytes:
    return b"%d" % value


def quoted(raw: bytes) -> bytes:
    """Quote octets known to be quotable (see :func:`string`)."""
    if _NEEDS_ESCAPE.search(raw):
        raw = raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return b'"%s"' % raw


def literal(data: bytes | bytearray | memoryview) -> bytes:
    """``{n}CRLF`` and the octets.  For large bodies send :func:`literal_prefix` and the data."""
    return b"{%d}\r\n%s" % (len(data), data)


def literal8(data: bytes | bytearray | memoryview) -> bytes:
    """``~{n}CRLF`` and the octets (RFC 3516), for BINARY[...] results."""
    return b"~{%d}\r\n%s" % (len(data), data)


def literal_prefix(size: int, binary: bool = False) -> bytes:
    """Just the ``{n}CRLF`` (or ``~{n}CRLF``) header, to write a large literal without a copy."""
    return b"~{%d}\r\n" % size if binary else b"{%d}\r\n" % size


def _quotable(raw: bytes, utf8: bool) -> bool:
    if len(raw) > MAX_QUOTED:
        return False
    if _QUOTABLE_ASCII.fullmatch(raw):
        return True
    if not utf8 or not _QUOTABLE_8BIT.fullmatch(raw):
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def string(value: str | bytes | bytearray | memoryview, *, utf8: bool = False) -> bytes:
    """``string``: quoted when safe, else a literal."""
    if isinstance(value, str):
        cached = _QUOTED_CACHE.get(value)
        if cached is not None:
            return cached
        raw = value.encode("utf-8", "surrogateescape")
    else:
        raw = bytes(value)
    if len(raw) <= MAX_QUOTED and _QUOTABLE_PLAIN.fullmatch(raw):  # the common case, fast
        out = b'"' + raw + b'"'
        if isinstance(value, str) and len(raw) <= _CACHED_LENGTH:
            if len(_QUOTED_CACHE) >= _CACHE_SIZE:
                _QUOTED_CACHE.clear()
            _QUOTED_CACHE[value] = out
        return out
    return quoted(raw) if _quotable(raw, utf8) else literal(raw)


def nstring(value: str | bytes | None, *, utf8: bool = False) -> bytes:
    """``nstring``: NIL for None, else :func:`string`."""
    if value is None:
        return NIL
    return string(value, utf8=utf8)


def astring(value: str | bytes, *, utf8: bool = False) -> bytes:
    """``astring``: a bare atom when possible (never ``NIL``), else :func:`string`."""
    raw = _to_bytes(value)
    if ASTRING.fullmatch(raw) and raw.upper() != NIL:
        return raw
    return string(raw, utf8=utf8)


def paren_list(items: Iterable[bytes]) -> bytes:
    """``(a b c)``."""
    return b"(%s)" % b" ".join(items)


def flag_list(flags: Iterable[str]) -> bytes:
    """``(\\Seen $Label1)``; flags are atoms by construction."""
    return b"(%s)" % " ".join(flags).encode("ascii", "replace")


def mailbox(name: str, *, utf8: bool = False) -> bytes:
    """A mailbox name: modified UTF-7 unless UTF8=ACCEPT, then astring rules."""
    return astring(name if utf8 else mutf7.encode(name), utf8=utf8)
