"""POP3 status lines (RFC 1939 §3) with RFC 2449 §8 response codes.

    +OK text CRLF
    -ERR [CODE] text CRLF

Texts are server text: a CR, LF or other control character in them is a
programming error (ValueError), so client bytes can never split a response.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

MAX_RESPONSE_LINE = 512  # RFC 2449 §4: status lines up to 512 octets including CRLF
_BAD_TEXT = re.compile(r"[\x00-\x1f\x7f]")


class ResponseCode(StrEnum):
    AUTH = "AUTH"  # RFC 3206 §4: credentials rejected
    IN_USE = "IN-USE"  # RFC 2449 §8.1.1: maildrop locked by another session
    LOGIN_DELAY = "LOGIN-DELAY"  # RFC 2449 §8.1.2
    SYS_TEMP = "SYS/TEMP"  # RFC 3206 §3: temporary system problem
    SYS_PERM = "SYS/PERM"  # RFC 3206 §3: permanent system problem
    UTF8 = "UTF8"  # RFC 6856: the mailbox needs UTF-8 mode


def ok(text: str = "") -> bytes:
    return _status("+OK", text)


def err(text: str, code: ResponseCode | str | None = None) -> bytes:
    return _status("-ERR", f"[{code}] {text}" if code else text)


def continuation(challenge: str) -> bytes:
    """RFC 5034 §4: "+" SP base64 CRLF, the server's SASL challenge."""
    return _status("+", challenge) if challenge else b"+ \r\n"


def multiline(text: str, lines: Iterable[str]) -> bytes:
    """A short multi-line response (CAPA, LIST, UIDL): +OK, stuffed lines, ".".

    For message content use `dotstuff.DotStuffer`, which streams.
    """
    out = [ok(text)]
    for line in lines:
        _check(line)
        out.append(("." + line if line.startswith(".") else line).encode() + b"\r\n")
    out.append(b".\r\n")
    return b"".join(out)


def _status(indicator: str, text: str) -> bytes:
    _check(text)
    line = f"{indicator} {text}\r\n" if text else f"{indicator}\r\n"
    data = line.encode()
    if len(data) > MAX_RESPONSE_LINE:
        raise ValueError("response line too long")
    return data


def _check(text: str) -> None:
    if _BAD_TEXT.search(text):
        raise ValueError("control character in response text")
