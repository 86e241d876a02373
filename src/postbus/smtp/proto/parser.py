"""Strict parser for one SMTP command line (RFC 5321 §4.1, RFC 3030, RFC 3207, RFC 4954).

`parse_command(line)` takes the line without its CRLF and returns a `Command` or
raises `SmtpSyntaxError`. Deliberate tolerances, each the common behaviour of
deployed clients and each harmless:

- trailing spaces and tabs are ignored (RFC 5321 §4.1.1 "SHOULD tolerate");
- one space after `FROM:` / `TO:` (`MAIL FROM: <a@b>`), as sent by many clients;
- runs of spaces between the verb, arguments and parameters.

Everything else follows the grammar: angle brackets are required around paths,
control characters are refused, and non-ASCII text is only accepted inside
MAIL/RCPT addresses and parameter values of an SMTPUTF8 transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .address import AddressError, Path, scan_path, valid_address_literal, valid_domain
from .commands import (
    Auth,
    Bdat,
    Command,
    Data,
    Ehlo,
    Expn,
    Helo,
    Help,
    Mail,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
)
from .errors import SmtpSyntaxError
from .params import MAX_SIZE_DIGITS, parse_mail_params, parse_rcpt_params

MAX_SASL_MECHANISM = 20  # RFC 4422 §3.1: sasl-mech = 1*20mech-char
_MECHANISM = re.compile(rf"[A-Z0-9_-]{{1,{MAX_SASL_MECHANISM}}}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_Handler = Callable[[str, bool], Command]


def parse_command(line: bytes, *, smtputf8: bool = False) -> Command:
    """Parse one command line (without CRLF).

    `smtputf8` says the current transaction's MAIL FROM carried SMTPUTF8, which
    allows UTF-8 addresses in RCPT TO (RFC 6531 §3.4).
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise SmtpSyntaxError(500, "5.5.2", "Invalid UTF-8 in command") from None
    text = text.rstrip(" \t")  # RFC 5321 §4.1.1: tolerate trailing white space
    if _CONTROL.search(text):
        raise SmtpSyntaxError(500, "5.5.2", "Control characters not allowed")
    verb, _, rest = text.partition(" ")
    handler = _HANDLERS.get(verb.upper()) if verb.isascii() else None
    if handler is None:
        raise SmtpSyntaxError(500, "5.5.2", "Command unrecognized")
    return handler(rest.lstrip(" "), smtputf8)


def _helo(rest: str, _utf8: bool) -> Command:
    return Helo(*_hello_argument("HELO", rest))


def _ehlo(rest: str, _utf8: bool) -> Command:
    return Ehlo(*_hello_argument("EHLO", rest))


def _hello_argument(verb: str, rest: str) -> tuple[str, bool]:
    # RFC 5321 §4.1.1.1: ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
    if not rest or " " in rest:
        raise _usage(f"{verb} hostname")
    return rest, valid_domain(rest) or valid_address_literal(rest)


def _mail(rest: str, _utf8: bool) -> Command:
    # RFC 5321 §4.1.1.2: "MAIL FROM:" Reverse-path [SP Mail-parameters]
    start = _after_prefix(rest, "FROM:", "MAIL FROM:<address>")
    try:
        path, end = scan_path(rest, start, utf8=True, allow_null=True)
    except AddressError as exc:
        raise _address_error(exc, "5.1.7") from None
    params = parse_mail_params(_params_text(rest, end, "MAIL FROM:<address>"))
    if path is not None and not params.smtputf8:
        _check_ascii(path)
    return Mail(path, params)


def _rcpt(rest: str, utf8: bool) -> Command:
    # RFC 5321 §4.1.1.3: "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
    #                    Forward-path ) [SP Rcpt-parameters]
    start = _after_prefix(rest, "TO:", "RCPT TO:<address>")
    try:
        path, end = scan_path(rest, start, utf8=True, allow_postmaster=True)
    except AddressError as exc:
        raise _address_error(exc, "5.1.3") from None
    assert path is not None  # allow_null is False
    params = parse_rcpt_params(_params_text(rest, end, "RCPT TO:<address>"))
    if not utf8:
        _check_ascii(path)
    return Rcpt(path, params)


def _after_prefix(rest: str, prefix: str, usage: str) -> int:
    head = rest[: len(prefix)]
    if not head.isascii() or head.upper() != prefix:
        raise _usage(usage)
    start = len(prefix)
    if rest.startswith(" ", start):  # tolerated: `MAIL FROM: <a@b>`
        start += 1
    if not rest.startswith("<", start):
        raise _usage(usage)
    return start


def _params_text(rest: str, end: int, usage: str) -> str:
    if end == len(rest):
        return ""
    if rest[end] != " ":
        raise _usage(usage)
    return rest[end + 1 :]


def _check_ascii(path: Path) -> None:
    if path.is_utf8 or not all(d.isascii() for d in path.source_route):
        raise SmtpSyntaxError(553, "5.6.7", "Non-ASCII address requires SMTPUTF8")


def _address_error(exc: AddressError, enhanced: str) -> SmtpSyntaxError:
    # RFC 5321 §4.5.3.1: "501 Path too long"; 553 "mailbox name not allowed"
    if exc.kind == "too_long":
        return SmtpSyntaxError(553, enhanced, exc.text)
    return SmtpSyntaxError(501, enhanced, exc.text)


def _no_argument(command: Command, usage: str) -> _Handler:
    def handler(rest: str, _utf8: bool) -> Command:
        if rest:
            raise _usage(usage)
        return command

    return handler


def _noop(rest: str, _utf8: bool) -> Command:
    return Noop()  # RFC 5321 §4.1.1.9: the String argument is ignored


def _help(rest: str, _utf8: bool) -> Command:
    return Help(rest or None)


def _vrfy(rest: str, _utf8: bool) -> Command:
    if not rest:
        raise _usage("VRFY address")
    return Vrfy(rest)


def _expn(rest: str, _utf8: bool) -> Command:
    if not rest:
        raise _usage("EXPN list")
    return Expn(rest)


def _bdat(rest: str, _utf8: bool) -> Command:
    # RFC 3030 §2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF
    args = _words(rest)
    if not 1 <= len(args) <= 2:
        raise _usage("BDAT size [LAST]")
    size = args[0]
    if not (size.isascii() and size.isdigit()) or len(size) > MAX_SIZE_DIGITS:
        raise _usage("BDAT size [LAST]")
    if len(args) == 2 and not (args[1].isascii() and args[1].upper() == "LAST"):
        raise _usage("BDAT size [LAST]")
    return Bdat(int(size), len(args) == 2)


def _auth(rest: str, _utf8: bool) -> Command:
    # RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]
    args = _words(rest)
    if not 1 <= len(args) <= 2 or not args[0].isascii():
        raise _usage("AUTH mechanism [initial-response]")
    mechanism = args[0].upper()
    if not _MECHANISM.fullmatch(mechanism):
        raise _usage("AUTH mechanism [initial-response]")
    initial = args[1] if len(args) == 2 else None
    if initial is not None and initial != "=" and not (
        initial.isascii() and _BASE64.fullmatch(initial)
    ):
        raise SmtpSyntaxError(501, "5.5.2", "Invalid base64 in initial response")
    return Auth(mechanism, initial)


def _words(rest: str) -> list[str]:
    return [word for word in rest.split(" ") if word]


def _usage(usage: str) -> SmtpSyntaxError:
    return SmtpSyntaxError(501, "5.5.4", f"Syntax: {usage}")


_HANDLERS: dict[str, _Handler] = {
    "HELO": _helo,
    "EHLO": _ehlo,
    "MAIL": _mail,
    "RCPT": _rcpt,
    "DATA": _no_argument(Data(), "DATA"),  # RFC 5321 §4.1.1.4: no arguments
    "BDAT": _bdat,
    "RSET": _no_argument(Rset(), "RSET"),
    "NOOP": _noop,
    "QUIT": _no_argument(Quit(), "QUIT"),
    "VRFY": _vrfy,
    "EXPN": _expn,
    "HELP": _help,
    "STARTTLS": _no_argument(StartTls(), "STARTTLS"),  # RFC 3207 §4
    "AUTH": _auth,
}
