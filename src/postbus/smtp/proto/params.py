"""ESMTP parameters of MAIL FROM and RCPT TO (RFC 5321 §4.1.2 esmtp-param).

    esmtp-param   = esmtp-keyword ["=" esmtp-value]
    esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    esmtp-value   = 1*(%d33-60 / %d62-126)          ; RFC 6531 §3.3 adds UTF8-non-ascii

Known keywords are checked and decoded; anything else, or a known keyword on the
wrong command, is answered 555 5.5.4 (RFC 5321 §4.1.1.11). A bad value or a
repeated keyword is 501 5.5.4. Whether the server *advertised* an extension is
the session's business: it looks at the decoded fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from .errors import SmtpSyntaxError
from .xtext import XtextError, decode_xtext

MAX_SIZE_DIGITS = 20  # RFC 1870 §3: size-value = 1*20DIGIT
MAX_ENVID = 100  # RFC 3461 §4.4, in xtext characters
MAX_ORCPT = 500  # RFC 3461 §4.2, in xtext characters
BODY_TYPES = frozenset({"7BIT", "8BITMIME", "BINARYMIME"})  # RFC 6152, RFC 3030 §3
RET_TYPES = frozenset({"FULL", "HDRS"})  # RFC 3461 §4.3
NOTIFY_TYPES = frozenset({"SUCCESS", "FAILURE", "DELAY"})  # RFC 3461 §4.1

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEYWORD_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_KEYWORD_REST = _KEYWORD_FIRST | {"-"}
_ATOM = frozenset(chr(c) for c in range(33, 127)) - set('()<>@,;:\\".[]')  # RFC 5322 atom


@dataclass(frozen=True, slots=True)
class MailParams:
    size: int | None = None  # RFC 1870 SIZE=
    body: str | None = None  # "7BIT" | "8BITMIME" | "BINARYMIME"
    smtputf8: bool = False  # RFC 6531 §3.4
    ret: str | None = None  # RFC 3461 RET=: "FULL" | "HDRS"
    envid: str | None = None  # RFC 3461 ENVID=, xtext-decoded
    auth: str | None = None  # RFC 4954 §5 AUTH=, xtext-decoded mailbox or "<>"


@dataclass(frozen=True, slots=True)
class Orcpt:
    """RFC 3461 §4.2 ORCPT=addr-type;xtext. RFC 6533 "utf-8" values are left as sent."""

    addr_type: str  # as sent, e.g. "rfc822"
    address: str  # xtext-decoded


@dataclass(frozen=True, slots=True)
class RcptParams:
    notify: frozenset[str] | None = None  # {"NEVER"} or a subset of NOTIFY_TYPES
    orcpt: Orcpt | None = None


def split_params(text: str) -> list[tuple[str, str | None]]:
    """Split `KEY[=value] ...` into (upper-case keyword, value or None) pairs."""
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for token in text.split(" "):
        if not token:
            continue  # tolerate runs of spaces between parameters
        keyword, eq, value = token.partition("=")
        if (not keyword or keyword[0] not in _KEYWORD_FIRST
                or not all(c in _KEYWORD_REST for c in keyword)):
            raise _bad("Bad parameter syntax")
        if eq and (not value or not all(("!" <= c <= "~" and c != "=") or not c.isascii()
                                        for c in value)):
            raise _bad("Bad parameter value")
        keyword = keyword.upper()
        if keyword in seen:
            raise _bad("Duplicate parameter")
        seen.add(keyword)
        out.append((keyword, value if eq else None))
    return out


def parse_mail_params(text: str) -> MailParams:
    params = MailParams()
    for keyword, value in split_params(text):
        handler = _MAIL.get(keyword)
        if handler is None:
            raise _unknown()
        params = handler(params, value)
    return params


def parse_rcpt_params(text: str) -> RcptParams:
    params = RcptParams()
    for keyword, value in split_params(text):
        if keyword == "NOTIFY":
            params = replace(params, notify=_notify(_need(value)))
        elif keyword == "ORCPT":
            params = replace(params, orcpt=_orcpt(_need(value)))
        else:
            raise _unknown()
    return params


def _size(params: MailParams, value: str | None) -> MailParams:
    v = _need(value)
    if not (v.isascii() and v.isdigit()) or len(v) > MAX_SIZE_DIGITS:
        raise _bad("Bad SIZE value")
    return replace(params, size=int(v))


def _body(params: MailParams, value: str | None) -> MailParams:
    v = _need(value).upper()
    if v not in BODY_TYPES:
        raise _bad("Bad BODY value")
    return replace(params, body=v)


def _smtputf8(params: MailParams, value: str | None) -> MailParams:
    if value is not None:
        raise _bad("SMTPUTF8 takes no value")
    return replace(params, smtputf8=True)


def _ret(params: MailParams, value: str | None) -> MailParams:
    v = _need(value).upper()
    if v not in RET_TYPES:
        raise _bad("Bad RET value")
    return replace(params, ret=v)


def _envid(params: MailParams, value: str | None) -> MailParams:
    v = _need(value)
    if len(v) > MAX_ENVID:
        raise _bad("ENVID too long")
    return replace(params, envid=_xtext(v))


def _auth(params: MailParams, value: str | None) -> MailParams:
    return replace(params, auth=_xtext(_need(value)))


_MAIL: dict[str, Callable[[MailParams, str | None], MailParams]] = {
    "SIZE": _size, "BODY": _body, "SMTPUTF8": _smtputf8,
    "RET": _ret, "ENVID": _envid, "AUTH": _auth,
}


def _notify(value: str) -> frozenset[str]:
    items = value.upper().split(",")
    kinds = frozenset(items)
    if len(kinds) != len(items):
        raise _bad("Bad NOTIFY value")
    if kinds == {"NEVER"} or (kinds and kinds <= NOTIFY_TYPES):
        return kinds
    raise _bad("Bad NOTIFY value")


def _orcpt(value: str) -> Orcpt:
    if len(value) > MAX_ORCPT:
        raise _bad("ORCPT too long")
    addr_type, semi, encoded = value.partition(";")
    if not semi or not addr_type or not encoded or not all(c in _ATOM for c in addr_type):
        raise _bad("Bad ORCPT value")
    return Orcpt(addr_type=addr_type, address=_xtext(encoded))


def _xtext(value: str) -> str:
    try:
        decoded = decode_xtext(value)
    except XtextError as exc:
        raise _bad("Bad xtext value") from exc
    # RFC 3461 §4.2/§4.4: printable text only; a decoded CR LF must never reach a DSN
    if _CONTROL.search(decoded):
        raise _bad("Control character in parameter value")
    return decoded


def _need(value: str | None) -> str:
    if value is None:
        raise _bad("Parameter needs a value")
    return value


def _bad(text: str) -> SmtpSyntaxError:
    return SmtpSyntaxError(501, "5.5.4", text)


def _unknown() -> SmtpSyntaxError:
    return SmtpSyntaxError(555, "5.5.4", "Unsupported parameter")
