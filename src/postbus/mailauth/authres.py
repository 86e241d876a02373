"""The Authentication-Results header field (RFC 8601), written, never parsed.

One `ResInfo` per method result; `header` folds one result per line and
quotes each property value only when RFC 8601 §2.2's grammar needs it (a
token, or an address `local-part@domain`, goes bare). Values come from the
outside world (a sender's MAIL FROM, a signature's d=): CR, LF and other
controls are replaced so that nothing can end the field early or add another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

FIELD_NAME = "Authentication-Results"
MAX_VALUE_LENGTH = 256  # property values are cut here: a header field is not a log
MAX_REASON_LENGTH = 128

_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")  # RFC 2045 token
_ADDRESS = re.compile(r"(?:[!#$%&'*+\-/=?^_`{|}~.0-9A-Za-z\x80-\U0010ffff]*@)?"
                      r"[0-9A-Za-z\x80-\U0010ffff](?:[0-9A-Za-z.\-\x80-\U0010ffff]*)")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ResInfo:
    method: str  # spf | dkim | dmarc
    result: str
    properties: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # ("smtp.mailfrom", v)
    reason: str = ""
    comment: str = ""  # e.g. "p=reject", written as an RFC 5322 comment


def _clean(value: str, limit: int) -> str:
    return _CONTROLS.sub(" ", value)[:limit]


def quote_value(value: str) -> str:
    """RFC 8601 §2.2 pvalue: bare when a token or an address, else a quoted-string."""
    value = _clean(value, MAX_VALUE_LENGTH)
    if value and (_TOKEN.fullmatch(value) or _ADDRESS.fullmatch(value)):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _resinfo(info: ResInfo) -> str:
    text = f"{info.method}={info.result}"
    if info.comment:
        text += " (" + re.sub(r"[()\\]", "", _clean(info.comment, MAX_REASON_LENGTH)) + ")"
    if info.reason:
        reason = _clean(info.reason, MAX_REASON_LENGTH)
        text += ' reason="' + reason.replace("\\", "\\\\").replace('"', '\\"') + '"'
    for name, value in info.properties:
        text += f" {name}={quote_value(value)}"
    return text


def header(authserv_id: str, results: Sequence[ResInfo]) -> bytes:
    """The complete field with its CRLF; "none" when no method produced a result."""
    if not results:
        return f"{FIELD_NAME}: {authserv_id}; none\r\n".encode()
    body = ";\r\n\t".join(_resinfo(r) for r in results)
    return f"{FIELD_NAME}: {authserv_id};\r\n\t{body}\r\n".encode()
