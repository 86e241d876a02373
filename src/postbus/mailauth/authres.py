"""The Authentication-Results header field (RFC 8601): written, and removed when forged.

One `ResInfo` per method result; `header` folds one result per line and
quotes each property value only when RFC 8601 §2.2's grammar needs it (a
token, or an address `local-part@domain`, goes bare). Values come from the
outside world (a sender's MAIL FROM, a signature's d=): CR, LF and other
controls are replaced so that nothing can end the field early or add another.

`remove_ours` is the only reading: of an incoming field it parses just the
authserv-id, to drop the fields that claim to be ours (RFC 8601 §5) before the
MX adds its own; fields of other authserv-ids are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from postbus.message import find_header_end

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


# -- removing forged fields (RFC 8601 §5) --------------------------------------------
_FIELD_NAME_LOWER = FIELD_NAME.lower().encode()
# RFC 2045 token (RFC 8601 §2.2: authserv-id = value = token / quoted-string)
_VALUE_TOKEN = re.compile(r'[^\x00-\x20\x7f()<>@,;:\\"/\[\]?=]+')
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def remove_ours(message: bytes, authserv_id: str) -> bytes:
    """`message` without the header fields Authentication-Results whose authserv-id
    is `authserv_id` (case-insensitive, as a domain name). RFC 8601 §5: an MTA
    MUST delete the fields that claim to come from within its ADMD and did not;
    on the MX none did, since ours is added after this. Returns `message` itself
    when there is nothing to remove."""
    end = find_header_end(message, 0, len(message))
    if _FIELD_NAME_LOWER not in message[:end].lower():
        return message
    ours = _domain_key(authserv_id)
    fields = _fields(message[:end])
    kept = [f for f in fields if not _claims(f, ours)]
    if len(kept) == len(fields):
        return message
    return b"".join(kept) + message[end:]


def _fields(head: bytes) -> list[bytes]:
    """The header section cut into fields, each with its continuation lines
    (RFC 5322 §2.2.3); the blank line ending the section is one more item."""
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t") and fields[-1].strip():
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def _claims(raw: bytes, ours: str) -> bool:
    name, colon, value = raw.partition(b":")
    if not colon or name.rstrip(b" \t").lower() != _FIELD_NAME_LOWER:
        return False
    found = authserv_id_of(value.decode("latin-1"))
    return found is not None and _domain_key(found) == ours


def authserv_id_of(value: str) -> str | None:
    """The authserv-id at the start of a field body (after any CFWS), or None."""
    text = _skip_cfws(_FOLD.sub("", value))
    quoted = _QUOTED.match(text)
    if quoted:
        return re.sub(r"\\(.)", r"\1", quoted.group(1))
    token = _VALUE_TOKEN.match(text)
    return token.group(0) if token else None


def _skip_cfws(text: str) -> str:
    """`text` after leading white space and comments (nested, with quoted-pairs)."""
    i = 0
    while i < len(text):
        if text[i] in " \t\r\n":
            i += 1
        elif text[i] == "(":
            depth = 0
            while i < len(text):
                c = text[i]
                if c == "\\":
                    i += 1
                elif c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            i += 1
        else:
            break
    return text[i:]


def _domain_key(name: str) -> str:
    return name.strip().rstrip(".").lower()
