"""Normalisation of mail addresses and domain names.

Every address or domain that Postbus stores or compares passes through this
module first, so that one spelling is kept per mailbox: domains become their
lowercase IDNA 2008 A-label form (UTS #46 mapping, via the `idna` package) and
local parts are lowercased, because Postbus compares local parts
case-insensitively (RFC 5321 §2.4 allows a host to do so, and users expect it).
Only the plain dot-atom form of a local part is accepted: quoted strings,
source routes and the old `%`/`!` relay syntax are refused, UTF-8 local parts
are accepted (SMTPUTF8, RFC 6531 §3.3) after NFC normalisation (RFC 6532 §3.1).
Invariants: every function either returns a normalised value or raises
`AddressError`, except the `display_*` helpers and `base_address`, which never
raise; a value
returned by a `normalize_*` function is a fixed point of that function.
"""

from __future__ import annotations

import unicodedata

import idna

# RFC 5321 §4.5.3.1.1: local part at most 64 octets.
MAX_LOCAL_PART_OCTETS = 64
# RFC 5321 §4.5.3.1.3: a path is at most 256 octets including "<" and ">".
MAX_ADDRESS_OCTETS = 254
# RFC 1035 §2.3.4: labels at most 63 octets, names at most 255 octets on the
# wire, i.e. 253 characters in dotted text without the trailing dot.
MAX_LABEL_OCTETS = 63
MAX_DOMAIN_OCTETS = 253

# RFC 3490 §3.1: these four characters all separate labels.
_LABEL_DOTS = (".", "\u3002", "\uff0e", "\uff61")

#: Plus-addressing: `user+tag@domain` reaches `user@domain` (the delimiter is the
#: [delivery] recipient_delimiter setting; "" disables it).
DEFAULT_RECIPIENT_DELIMITER = "+"
#: The characters a recipient delimiter may be: atext symbols (RFC 5322 §3.2.3),
#: not "." (it separates atoms) nor "%" and "!" (refused in local parts).
RECIPIENT_DELIMITER_CHARS = frozenset("#$&'*+-/=?^_`{|}~")

# RFC 5322 §3.2.3 atext, less "%" and "!" (source-routing relics we refuse).
_ATEXT_ASCII = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789#$&'*+-/=?^_`{|}~"
)


class AddressError(ValueError):
    """A mail address or domain name that Postbus refuses to store or route."""


def normalize_domain(s: str) -> str:
    """Return the lowercase A-label (ASCII) form of domain `s`, or raise AddressError."""
    if not s:
        raise AddressError("empty domain")
    name = s[:-1] if s.endswith(_LABEL_DOTS) else s  # one trailing (root) dot is allowed
    if not name:
        raise AddressError(f"invalid domain {s!r}: empty label")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise AddressError(f"invalid domain {s!r}: {exc}") from None
    if len(ascii_name) > MAX_DOMAIN_OCTETS:
        raise AddressError(f"invalid domain {s!r}: longer than {MAX_DOMAIN_OCTETS} octets")
    labels = ascii_name.split(".")
    for label in labels:
        if not label:
            raise AddressError(f"invalid domain {s!r}: empty label")
        if len(label) > MAX_LABEL_OCTETS:
            raise AddressError(f"invalid domain {s!r}: label longer than {MAX_LABEL_OCTETS}")
    # RFC 3696 §2: a top-level domain is never all-numeric; this also keeps
    # dotted IPv4 addresses out of domain fields.
    if labels[-1].isdigit():
        raise AddressError(f"invalid domain {s!r}: numeric top-level label")
    return ascii_name


def display_domain(ascii: str) -> str:
    """Return the Unicode (U-label) form of a normalised domain, for people to read.

    Never raises: a name that cannot be decoded is returned unchanged.
    """
    try:
        return idna.decode(ascii)
    except (idna.IDNAError, UnicodeError):
        return ascii


def _normalize_local_part(local: str, original: str) -> str:
    if not local:
        raise AddressError(f"invalid address {original!r}: empty local part")
    if local.startswith('"'):
        raise AddressError(f"invalid address {original!r}: quoted local parts are not accepted")
    # Lowercase between two NFC passes so the result is a fixed point.
    local = unicodedata.normalize("NFC", unicodedata.normalize("NFC", local).lower())
    if len(local.encode("utf-8")) > MAX_LOCAL_PART_OCTETS:
        raise AddressError(
            f"invalid address {original!r}: local part longer than {MAX_LOCAL_PART_OCTETS} octets"
        )
    # RFC 5321 §4.1.2 Dot-string: atoms separated by single dots.
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise AddressError(f"invalid address {original!r}: misplaced dot in local part")
    for ch in local:
        if ch == "." or ch in _ATEXT_ASCII:
            continue
        # RFC 6531 §3.3: UTF8-non-ascii is allowed in atext; controls,
        # separators and unassigned code points are not.
        if ord(ch) >= 0x80 and unicodedata.category(ch)[0] not in "CZ":
            continue
        raise AddressError(f"invalid address {original!r}: character {ch!r} not allowed")
    return local


def normalize_address(s: str) -> str:
    """Return `local@domain` with the local part lowercased and the domain normalised.

    Raises AddressError for anything that is not a plain dot-atom address.
    """
    # RFC 5321 §4.1.2: "@a,@b:user@c" is a source route; we never honour one.
    if s.startswith("@") and ":" in s:
        raise AddressError(f"invalid address {s!r}: source routes are not accepted")
    local, at, domain = s.rpartition("@")
    if not at:
        raise AddressError(f"invalid address {s!r}: no @")
    if "@" in local:
        raise AddressError(f"invalid address {s!r}: more than one @")
    if not domain:
        raise AddressError(f"invalid address {s!r}: empty domain")
    if domain.startswith("["):
        raise AddressError(f"invalid address {s!r}: address literals are not accepted")
    address = f"{_normalize_local_part(local, s)}@{normalize_domain(domain)}"
    if len(address.encode("utf-8")) > MAX_ADDRESS_OCTETS:
        raise AddressError(f"invalid address {s!r}: longer than {MAX_ADDRESS_OCTETS} octets")
    return address


def split_address(addr: str) -> tuple[str, str]:
    """Normalise `addr` and return its (local part, A-label domain)."""
    local, _, domain = normalize_address(addr).rpartition("@")
    return local, domain


def display_address(addr: str) -> str:
    """Return a normalised address with its domain in Unicode. Never raises."""
    local, at, domain = addr.rpartition("@")
    if not at:
        return addr
    return f"{local}@{display_domain(domain)}"


def normalize_alias_source(s: str) -> str:
    """Normalise an alias source: a full address, or `@domain` for a catch-all."""
    if s.startswith("@"):
        return "@" + normalize_domain(s[1:])
    return normalize_address(s)


def base_address(address: str, delimiters: str) -> str | None:
    """The address without its plus-address tag: `user+tag@domain` → `user@domain`.

    `address` is normalised; the local part is cut at the first of the
    `delimiters` characters (each one separates, as Postfix's recipient_delimiter
    does). None when there is nothing to cut: no delimiter, no delimiter in the
    local part, or nothing before it (`+tag@domain` names no user).
    """
    if not delimiters:
        return None
    local, _, domain = address.rpartition("@")
    cut = min((i for i in (local.find(d) for d in delimiters) if i >= 0), default=-1)
    if cut <= 0:
        return None
    return f"{local[:cut]}@{domain}"
