"""RFC 2047 encoded words, decoded tolerantly.

`decode_header_value` never raises. It decodes `=?charset?B|Q?text?=` words
wherever they appear (also inside quoted strings and glued to other text,
as broken mailers write them), drops the white space between two adjacent
encoded words (RFC 2047 §6.2), and joins the octets of adjacent words in the
same charset before decoding, so that a UTF-8 character split across two
words comes out whole. A word that does not decode is left as written.
"""

from __future__ import annotations

import binascii
import re

from postbus.message.charsets import decode_text

_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_GAP = re.compile(r"[ \t\r\n]*")
_QP_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")


def _q_decode(text: str) -> bytes:
    data = text.replace("_", " ").encode("latin-1", "replace")
    return _QP_HEX.sub(lambda m: bytes((int(m.group(1), 16),)), data)


def _b_decode(text: str) -> bytes:
    data = text.encode("ascii", "ignore").rstrip(b"=")
    extra = len(data) % 4
    if extra == 1:
        data = data[:-1]
    elif extra:
        data += b"=" * (4 - extra)
    return binascii.a2b_base64(data)


def decode_header_value(value: str) -> str:
    """`value` with its encoded words decoded (RFC 2047 §6), tolerant of misuse."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    pending: list[bytes] = []
    pending_charset: str | None = None
    for match in _WORD.finditer(value):
        start = match.start()
        gap = value[pos:start]
        if pending_charset is not None and _GAP.fullmatch(gap) is None:
            out.append(decode_text(b"".join(pending), pending_charset))
            pending, pending_charset = [], None
        if pending_charset is None:
            out.append(gap)
        charset, kind, text = match.group(1), match.group(2), match.group(3)
        try:
            data = _b_decode(text) if kind in "bB" else _q_decode(text)
        except (binascii.Error, ValueError):
            if pending_charset is not None:
                out.append(decode_text(b"".join(pending), pending_charset))
                pending, pending_charset = [], None
            out.append(match.group(0))
            pos = match.end()
            continue
        if pending_charset is not None and charset.lower() != pending_charset.lower():
            out.append(decode_text(b"".join(pending), pending_charset))
            pending = []
        pending_charset = charset
        pending.append(data)
        pos = match.end()
    if pending_charset is not None:
        out.append(decode_text(b"".join(pending), pending_charset))
    out.append(value[pos:])
    return "".join(out)
