"""RFC 5321 §4.1.2 path and mailbox grammar, with the RFC 6531 UTF-8 extensions.

The scanner accepts exactly the RFC grammar and *reports* the legal-but-odd
forms instead of deciding about them, so that policy lives in one place above:

- quoted-string local parts (`"john doe"@example.com`) set `Path.quoted`;
- source routes (`<@a,@b:user@c>`) are parsed and ignored as RFC 5321 §4.1.2
  asks, and reported in `Path.source_route`;
- a trailing dot on the domain (`user@example.com.`) is stripped and reported in
  `Path.trailing_dot`;
- address literals (`[192.0.2.1]`, `[IPv6:2001:db8::1]`, general literals) are
  validated and kept with their brackets in `Path.domain`.

UTF-8 in local parts and U-label domains is recognised only when the caller says
the transaction uses SMTPUTF8 (RFC 6531 §3.3); otherwise it is an `AddressError`
of kind "utf8". Lengths are counted in octets of the UTF-8 encoding.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

MAX_LOCAL_PART = 64  # RFC 5321 §4.5.3.1.1
MAX_DOMAIN = 255  # RFC 5321 §4.5.3.1.2
MAX_PATH = 256  # RFC 5321 §4.5.3.1.3, including "<", ">" and any source route
MAX_LABEL = 63  # RFC 1035 §2.3.4

# RFC 5322 §3.2.3 atext, as used by RFC 5321 Atom.
_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")
_LDH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")

ErrorKind = Literal["syntax", "path_too_long", "too_long", "utf8"]


class AddressError(ValueError):
    """A path or mailbox that does not parse; `kind` lets the caller pick the reply."""

    def __init__(self, kind: ErrorKind, text: str) -> None:
        super().__init__(text)
        self.kind: ErrorKind = kind
        self.text = text


@dataclass(frozen=True, slots=True)
class Path:
    """A parsed forward- or reverse-path (never the null path, which parsers return as None)."""

    local: str  # unquoted: quoted-pairs resolved, surrounding quotes removed
    domain: str  # as sent, trailing dot stripped; "" only for <Postmaster>
    quoted: bool = False  # the local part was sent as a quoted-string
    source_route: tuple[str, ...] = ()  # domains of an RFC 5321 §4.1.2 A-d-l, ignored
    raw: str = ""  # the path exactly as sent, including angle brackets
    trailing_dot: bool = False  # the domain ended in "." (not RFC 5321 syntax)

    @property
    def address(self) -> str:
        """`local@domain`, the local part quoted only when it is not a dot-string."""
        local = self.local if _is_dot_string(self.local) else _quote(self.local)
        return f"{local}@{self.domain}" if self.domain else local

    @property
    def is_postmaster(self) -> bool:
        """The domain-less `<Postmaster>` recipient of RFC 5321 §4.5.1."""
        return not self.domain and self.local.lower() == "postmaster"

    @property
    def is_address_literal(self) -> bool:
        return self.domain.startswith("[")

    @property
    def is_utf8(self) -> bool:
        return not (self.local.isascii() and self.domain.isascii())


def parse_path(
    text: str, *, utf8: bool = False, allow_null: bool = False, allow_postmaster: bool = False
) -> Path | None:
    """Parse a whole `<...>` path; returns None for the null path `<>` when allowed."""
    path, end = scan_path(text, 0, utf8=utf8, allow_null=allow_null, allow_postmaster=allow_postmaster)
    if end != len(text):
        raise AddressError("syntax", "Unexpected characters after the address")
    return path


def parse_mailbox(text: str, *, utf8: bool = False) -> Path:
    """Parse a bare RFC 5321 Mailbox (`local@domain`, no angle brackets)."""
    path, end = _scan_mailbox(text, 0)
    if end != len(text):
        raise AddressError("syntax", "Unexpected characters after the address")
    _check(path, utf8)
    return path


def scan_path(
    text: str, start: int, *, utf8: bool = False, allow_null: bool = False,
    allow_postmaster: bool = False,
) -> tuple[Path | None, int]:
    """Parse the path beginning at `text[start]`; return it and the index after its ">"."""
    if not text.startswith("<", start):
        raise AddressError("syntax", "Address must be enclosed in <>")
    i = start + 1
    if text.startswith(">", i):
        if not allow_null:
            raise AddressError("syntax", "Null address not allowed here")
        return None, i + 1
    # RFC 5321 §4.1.1.3: "<Postmaster>" without a domain, case-insensitive.
    if allow_postmaster and text[i : i + 11].lower() == "postmaster>":
        return Path(local=text[i : i + 10], domain="", raw=text[start : i + 11]), i + 11
    route: list[str] = []
    if text.startswith("@", i):  # RFC 5321 §4.1.2 A-d-l, "SHOULD accept and ignore"
        while True:
            domain, i, _ = _scan_domain(text, i + 1)
            route.append(domain)
            if text.startswith(",@", i):
                i += 1
                continue
            if not text.startswith(":", i):
                raise AddressError("syntax", "Bad source route")
            i += 1
            break
    mailbox, i = _scan_mailbox(text, i)
    if not text.startswith(">", i):
        raise AddressError("syntax", "Address must be enclosed in <>")
    i += 1
    raw = text[start:i]
    path = Path(
        local=mailbox.local, domain=mailbox.domain, quoted=mailbox.quoted,
        source_route=tuple(route), raw=raw, trailing_dot=mailbox.trailing_dot,
    )
    if len(raw.encode()) > MAX_PATH:
        raise AddressError("path_too_long", "Path too long")
    _check(path, utf8)
    return path, i


def _check(path: Path, utf8: bool) -> None:
    if not utf8 and (path.is_utf8 or not all(d.isascii() for d in path.source_route)):
        # RFC 6531 §3.3: UTF-8 addresses only in SMTPUTF8 transactions (reply code X.6.7)
        raise AddressError("utf8", "Non-ASCII address requires SMTPUTF8")
    if len(path.local.encode()) > MAX_LOCAL_PART:
        raise AddressError("too_long", "Local part too long")
    if len(path.domain.encode()) > MAX_DOMAIN:
        raise AddressError("too_long", "Domain too long")


def _scan_mailbox(text: str, i: int) -> tuple[Path, int]:
    # RFC 5321 §4.1.2: Mailbox = Local-part "@" ( Domain / address-literal )
    start = i
    if text.startswith('"', i):
        local, i = _scan_quoted(text, i)
        quoted = True
    else:
        j = i
        while j < len(text) and (text[j] in _ATEXT or text[j] == "." or not text[j].isascii()):
            j += 1
        local = text[i:j]
        if not _is_dot_string(local):
            raise AddressError("syntax", "Bad local part syntax")
        i, quoted = j, False
    if not text.startswith("@", i):
        raise AddressError("syntax", "Address must contain @domain")
    if text.startswith("[", i + 1):
        domain, i = _scan_address_literal(text, i + 1)
        trailing_dot = False
    else:
        domain, i, trailing_dot = _scan_domain(text, i + 1)
    return Path(local=local, domain=domain, quoted=quoted, raw=text[start:i],
                trailing_dot=trailing_dot), i


def _scan_quoted(text: str, i: int) -> tuple[str, int]:
    # RFC 5321 §4.1.2 Quoted-string; RFC 6531 §3.3 adds UTF8-non-ascii to qtextSMTP.
    out: list[str] = []
    i += 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= len(text) or not " " <= text[i + 1] <= "~":
                raise AddressError("syntax", "Bad quoted local part")
            out.append(text[i + 1])
            i += 2
            continue
        if not (" " <= c <= "~" or not c.isascii()):
            raise AddressError("syntax", "Bad quoted local part")
        out.append(c)
        i += 1
    raise AddressError("syntax", "Unterminated quoted local part")


def _scan_domain(text: str, i: int) -> tuple[str, int, bool]:
    # RFC 5321 §4.1.2: Domain = sub-domain *("." sub-domain); RFC 6531 §3.3 adds U-labels.
    j = i
    while j < len(text) and (text[j] in _LDH or text[j] == "." or not text[j].isascii()):
        j += 1
    domain = text[i:j]
    trailing_dot = domain.endswith(".") and len(domain) > 1
    if trailing_dot:
        domain = domain[:-1]
    for label in domain.split("."):
        if (not label or label[0] == "-" or label[-1] == "-"
                or len(label.encode()) > MAX_LABEL):
            raise AddressError("syntax", "Bad domain syntax")
    return domain, j, trailing_dot


def _scan_address_literal(text: str, i: int) -> tuple[str, int]:
    # RFC 5321 §4.1.3 address literals
    end = text.find("]", i)
    if end < 0:
        raise AddressError("syntax", "Unterminated address literal")
    inner = text[i + 1 : end]
    if not _valid_literal(inner):
        raise AddressError("syntax", "Bad address literal")
    return text[i : end + 1], end + 1


def _valid_literal(inner: str) -> bool:
    if inner[:5].lower() == "ipv6:":
        addr = inner[5:]
        if not addr or "%" in addr or not addr.isascii():
            return False
        try:
            ipaddress.IPv6Address(addr)
        except ValueError:
            return False
        return True
    parts = inner.split(".")
    if len(parts) == 4 and all(p.isascii() and p.isdigit() for p in parts):
        return all(len(p) <= 3 and int(p) <= 255 for p in parts)
    # General-address-literal = Standardized-tag ":" 1*dcontent
    tag, colon, content = inner.partition(":")
    return bool(
        colon and tag and all(c in _LDH for c in tag) and tag[-1] != "-" and content
        and all("!" <= c <= "Z" or "^" <= c <= "~" for c in content)
    )


def _is_dot_string(local: str) -> bool:
    # RFC 5321 §4.1.2: Dot-string = Atom *("." Atom); RFC 6531 §3.3 adds UTF8-non-ascii
    if not local:
        return False
    for atom in local.split("."):
        if not atom or not all(c in _ATEXT or not c.isascii() for c in atom):
            return False
    return True


def _quote(local: str) -> str:
    return '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'


def valid_domain(text: str, *, utf8: bool = False) -> bool:
    """True when `text` is an RFC 5321 Domain (U-labels allowed only with `utf8`)."""
    if not utf8 and not text.isascii():
        return False
    try:
        domain, end, trailing_dot = _scan_domain(text, 0)
    except AddressError:
        return False
    return end == len(text) and not trailing_dot and len(domain.encode()) <= MAX_DOMAIN


def valid_address_literal(text: str) -> bool:
    """True when `text` is an RFC 5321 §4.1.3 address literal, brackets included."""
    return (len(text) > 2 and text[0] == "[" and text[-1] == "]"
            and "]" not in text[1:-1] and _valid_literal(text[1:-1]))
