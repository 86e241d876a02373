"""POP3 command grammar: RFC 1939 §3-§7, RFC 2449 (CAPA), RFC 2595 (STLS),
RFC 5034 (AUTH), RFC 6856 (UTF8).

`parse_command(line)` takes one line without its line ending and returns a
`Pop3Command` or raises `Pop3Error`. Keywords are case-insensitive; arguments
are separated by spaces (runs of spaces are tolerated). PASS takes the rest of
the line verbatim after one space, since passwords may contain spaces.
Message numbers are positive decimal integers below 2^31, TOP line counts are
non-negative ones. USER, PASS and APOP may carry UTF-8 (RFC 6856 §3); every
other command is ASCII. The repr of a command never shows a password or an
AUTH initial response.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import Pop3Error

MAX_NUMBER = 2**31 - 1  # message numbers and TOP line counts
MAX_NUMBER_DIGITS = 10
_MECHANISM = re.compile(r"[A-Z0-9_-]{1,20}")  # RFC 4422 §3.1 sasl-mech
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_DIGEST = re.compile(r"[0-9a-fA-F]{32}")  # RFC 1939 §7 APOP digest
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Pop3Command:
    keyword: str  # upper-case: "USER", "RETR", ...
    number: int | None = None  # LIST, RETR, DELE, TOP, UIDL
    lines: int | None = None  # TOP
    name: str | None = None  # USER, APOP
    password: str | None = field(default=None, repr=False)  # PASS
    digest: str | None = None  # APOP, lower-cased
    mechanism: str | None = None  # AUTH, upper-cased
    initial_response: str | None = field(default=None, repr=False)  # AUTH, base64 or "="


def parse_command(line: bytes) -> Pop3Command:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise Pop3Error("Invalid UTF-8 in command") from None
    keyword, _, rest = text.partition(" ")
    keyword = keyword.upper() if keyword.isascii() else ""
    handler = _HANDLERS.get(keyword)
    if handler is None:
        raise Pop3Error("Unknown command")
    if keyword == "PASS":  # RFC 1939 §7: the password may contain spaces
        if _CONTROL.search(rest.replace("\t", " ")):
            raise Pop3Error("Control characters not allowed")
        return handler(keyword, [rest])
    if _CONTROL.search(rest):
        raise Pop3Error("Control characters not allowed")
    args = [arg for arg in rest.split(" ") if arg]
    if keyword not in ("USER", "APOP") and not rest.isascii():
        raise Pop3Error("Non-ASCII argument")
    return handler(keyword, args)


def _no_args(keyword: str, args: list[str]) -> Pop3Command:
    if args:
        raise Pop3Error(f"Syntax: {keyword}")
    return Pop3Command(keyword)


def _optional_number(keyword: str, args: list[str]) -> Pop3Command:
    # RFC 1939 §5 LIST [msg], §7 UIDL [msg]
    if len(args) > 1:
        raise Pop3Error(f"Syntax: {keyword} [msg]")
    return Pop3Command(keyword, number=_number(args[0]) if args else None)


def _one_number(keyword: str, args: list[str]) -> Pop3Command:
    # RFC 1939 §5 RETR msg, DELE msg
    if len(args) != 1:
        raise Pop3Error(f"Syntax: {keyword} msg")
    return Pop3Command(keyword, number=_number(args[0]))


def _top(keyword: str, args: list[str]) -> Pop3Command:
    # RFC 1939 §7: TOP msg n
    if len(args) != 2:
        raise Pop3Error("Syntax: TOP msg n")
    return Pop3Command(keyword, number=_number(args[0]), lines=_number(args[1], minimum=0))


def _user(keyword: str, args: list[str]) -> Pop3Command:
    if len(args) != 1:
        raise Pop3Error("Syntax: USER name")
    return Pop3Command(keyword, name=args[0])


def _pass(keyword: str, args: list[str]) -> Pop3Command:
    if not args[0]:
        raise Pop3Error("Syntax: PASS password")
    return Pop3Command(keyword, password=args[0])


def _apop(keyword: str, args: list[str]) -> Pop3Command:
    if len(args) != 2 or not _DIGEST.fullmatch(args[1]):
        raise Pop3Error("Syntax: APOP name digest")
    return Pop3Command(keyword, name=args[0], digest=args[1].lower())


def _auth(keyword: str, args: list[str]) -> Pop3Command:
    # RFC 5034 §4: AUTH mechanism [initial-response]; bare AUTH lists mechanisms
    if len(args) > 2:
        raise Pop3Error("Syntax: AUTH [mechanism [initial-response]]")
    if not args:
        return Pop3Command(keyword)
    mechanism = args[0].upper()
    if not _MECHANISM.fullmatch(mechanism):
        raise Pop3Error("Invalid mechanism name")
    initial = args[1] if len(args) == 2 else None
    if initial is not None and initial != "=" and not _BASE64.fullmatch(initial):
        raise Pop3Error("Invalid base64 in initial response")
    return Pop3Command(keyword, mechanism=mechanism, initial_response=initial)


def _number(text: str, minimum: int = 1) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_NUMBER_DIGITS:
        raise Pop3Error("Invalid number")
    value = int(text)
    if not minimum <= value <= MAX_NUMBER:
        raise Pop3Error("Invalid number")
    return value


_HANDLERS: dict[str, Callable[[str, list[str]], Pop3Command]] = {
    "USER": _user,
    "PASS": _pass,
    "APOP": _apop,
    "STAT": _no_args,
    "LIST": _optional_number,
    "RETR": _one_number,
    "DELE": _one_number,
    "NOOP": _no_args,
    "RSET": _no_args,
    "QUIT": _no_args,
    "TOP": _top,
    "UIDL": _optional_number,
    "CAPA": _no_args,  # RFC 2449 §5
    "STLS": _no_args,  # RFC 2595 §4
    "AUTH": _auth,  # RFC 5034 §4
    "UTF8": _no_args,  # RFC 6856 §2
}
