"""Content-Transfer-Encoding (RFC 2045 §6) decoding that never fails.

Base64 ignores every octet outside its alphabet (RFC 2045 §6.8 says to),
restarts after padding found mid-stream (concatenated encodings), and drops
a dangling last quantum. Quoted-printable is binascii's decoder, which
leaves malformed `=` escapes as they are. Any other encoding (7bit, 8bit,
binary, unknown x-tokens) is returned as is.
"""

from __future__ import annotations

import binascii
import re

from postbus.message.model import Part

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_B64_DELETE = bytes(b for b in range(256) if b not in _B64_ALPHABET)
_PADDING_RUN = re.compile(rb"=+")


def _b64_chunk(chunk: bytes) -> bytes:
    extra = len(chunk) % 4
    if extra == 1:
        chunk = chunk[:-1]
    elif extra:
        chunk += b"=" * (4 - extra)
    try:
        return binascii.a2b_base64(chunk)
    except (binascii.Error, ValueError):  # pragma: no cover - input is clean by now
        return b""


def decode_base64(data: bytes) -> bytes:
    clean = data.translate(None, _B64_DELETE)
    body = clean.rstrip(b"=")
    if b"=" not in body:
        return _b64_chunk(body)
    return b"".join(_b64_chunk(chunk) for chunk in _PADDING_RUN.split(body) if chunk)


def decode_transfer(data: bytes, encoding: str | None) -> bytes:
    """`data` with its Content-Transfer-Encoding removed."""
    name = (encoding or "").strip().lower()
    if name == "base64":
        return decode_base64(data)
    if name == "quoted-printable":
        try:
            return binascii.a2b_qp(data)
        except (binascii.Error, ValueError):  # pragma: no cover - a2b_qp is lenient
            return data
    return data


def decode_body(raw: bytes, part: Part, limit: int | None = None) -> bytes:
    """The decoded content of `part` (its first `limit` encoded octets if given)."""
    end = part.end if limit is None else min(part.end, part.body_start + limit)
    return decode_transfer(raw[part.body_start:end], part.encoding)
