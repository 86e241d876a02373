"""Address fields as a user types them, parsed into mailboxes we can send to.

The parser is the one the message record uses (`message.addresses`, RFC 5322
§3.4 address-list, groups flattened); a newline separates addresses like a
comma. Each address must have a local part of printable ASCII without spaces
(we do not offer SMTPUTF8 addresses from the webmail) and a domain that is a
valid host name (IDN domains are sent in A-label form, RFC 5890); address
literals are refused, as on SMTP submission for hosted domains.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from postbus.accounts.address import AddressError, normalize_domain
from postbus.compose.errors import ComposeRefused
from postbus.compose.limits import MAX_ADDRESS_FIELD_CHARS, MAX_NAME_CHARS, MAX_RECIPIENTS
from postbus.message.addresses import parse_address_list
from postbus.message.words import decode_header_value

_LOCAL = re.compile(r"[!-~]+")  # printable ASCII, no space
_UNSAFE_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # controls, line separators


@dataclass(frozen=True, slots=True)
class Addressee:
    """One mailbox: a display name ("" when none) and local@domain (A-label domain)."""

    name: str
    address: str

    def display(self) -> str:
        """As a person reads it (and types it back): `Name <local@domain>`."""
        if not self.name:
            return self.address
        name = self.name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{name}" <{self.address}>' if re.search(r'[,;:<>@()\[\]"\\.]', self.name) \
            else f"{self.name} <{self.address}>"


def clean_name(name: str) -> str:
    """A display name without control characters, bounded."""
    return _UNSAFE_NAME.sub(" ", name).strip()[:MAX_NAME_CHARS]


def addressee(local: str, domain: str, name: str = "") -> Addressee:
    if "\\" in local or '"' in local or not _LOCAL.fullmatch(local) or len(local) > 64:
        raise ComposeRefused("recipient", f"{local}@{domain}")  # RFC 5321 §4.5.3.1.1
    if domain.startswith("["):
        raise ComposeRefused("recipient", f"{local}@{domain}")
    try:
        ascii_domain = normalize_domain(domain)
    except AddressError:
        raise ComposeRefused("recipient", f"{local}@{domain}") from None
    return Addressee(clean_name(name), f"{local}@{ascii_domain}")


def parse_field(text: str) -> list[Addressee]:
    """The mailboxes of one To/Cc/Bcc field; ComposeRefused naming the first bad one."""
    if len(text) > MAX_ADDRESS_FIELD_CHARS:
        raise ComposeRefused("limit", f"{MAX_ADDRESS_FIELD_CHARS} characters in an address field")
    value = text.replace("\r", ",").replace("\n", ",")
    found: list[Addressee] = []
    for name, _adl, local, host in parse_address_list(value, limit=MAX_RECIPIENTS + 1):
        if local is None:
            continue  # a group's end
        if host is None:
            if name is None and local and value.find(local + ":") >= 0:
                continue  # a group's name
            raise ComposeRefused("recipient", local)
        if host == "MISSING_DOMAIN":
            raise ComposeRefused("recipient", local)
        display = decode_header_value(name) if name else ""
        found.append(addressee(local, host, display))
    return found


def all_recipients(fields: Iterable[list[Addressee]]) -> list[Addressee]:
    """Every mailbox once (first spelling wins), at most MAX_RECIPIENTS."""
    seen: set[str] = set()
    out: list[Addressee] = []
    for field in fields:
        for a in field:
            key = a.address.lower()
            if key not in seen:
                seen.add(key)
                out.append(a)
    if len(out) > MAX_RECIPIENTS:
        raise ComposeRefused("too_many_recipients", str(MAX_RECIPIENTS))
    return out
