"""vCard 3.0 (RFC 2426) and 4.0 (RFC 6350) in and out: the name (FN, else N),
every EMAIL, and NOTE. Other properties are ignored on import.

Reading is bounded (`limits`): the file's size is checked before it is read,
lines are unfolded (RFC 6350 §3.2) up to MAX_IMPORT_LINE_CHARS, and at most
MAX_IMPORT_CONTACTS cards are taken. A card with several addresses becomes one
contact per address. Values are unescaped per RFC 6350 §3.4 (\\n, \\, \\; \\\\).
QUOTED-PRINTABLE values of vCard 2.1 exports are decoded too, since phones
still write them.
"""

from __future__ import annotations

import quopri
from collections.abc import Iterable, Iterator

from postbus.addressbook.errors import ContactRefused
from postbus.addressbook.limits import MAX_IMPORT_CONTACTS, MAX_IMPORT_LINE_CHARS
from postbus.store.userdata import NewContact


def _unfold(text: str) -> Iterator[str]:
    current: list[str] = []
    size = 0
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line[:1] in (" ", "\t") and current:
            size += len(line) - 1
            if size > MAX_IMPORT_LINE_CHARS:
                raise ContactRefused("line_too_long", str(MAX_IMPORT_LINE_CHARS))
            current.append(line[1:])
            continue
        if current:
            yield "".join(current)
        current, size = [line], len(line)
        if size > MAX_IMPORT_LINE_CHARS:
            raise ContactRefused("line_too_long", str(MAX_IMPORT_LINE_CHARS))
    if current:
        yield "".join(current)


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _split_property(line: str) -> tuple[str, dict[str, str], str] | None:
    colon = line.find(":")
    if colon < 0:
        return None
    head, value = line[:colon], line[colon + 1:]
    parts = head.split(";")
    name = parts[0].rsplit(".", 1)[-1].upper()  # "item1.EMAIL" -> EMAIL
    params: dict[str, str] = {}
    for p in parts[1:]:
        key, _, val = p.partition("=")
        params[key.upper()] = val.upper()
    if params.get("ENCODING") == "QUOTED-PRINTABLE":
        charset = params.get("CHARSET", "UTF-8")
        try:
            value = quopri.decodestring(value.encode("latin-1", "replace")).decode(charset, "replace")
        except LookupError:
            value = quopri.decodestring(value.encode("latin-1", "replace")).decode("utf-8", "replace")
    return name, params, value


def parse(text: str) -> list[NewContact]:
    """The contacts of a vCard file (one or many cards)."""
    found: list[NewContact] = []
    card: dict[str, list[str]] | None = None
    for line in _unfold(text):
        prop = _split_property(line.strip()) if line.strip() else None
        if prop is None:
            continue
        name, _params, value = prop
        if name == "BEGIN" and value.strip().upper() == "VCARD":
            card = {}
        elif name == "END" and value.strip().upper() == "VCARD" and card is not None:
            found.extend(_contacts(card))
            card = None
            if len(found) > MAX_IMPORT_CONTACTS:
                raise ContactRefused("too_many", str(MAX_IMPORT_CONTACTS))
        elif card is not None and name in ("FN", "N", "EMAIL", "NOTE"):
            card.setdefault(name, []).append(value)
    return found


def _contacts(card: dict[str, list[str]]) -> Iterator[NewContact]:
    name = _unescape(card["FN"][0]).strip() if card.get("FN") else ""
    if not name and card.get("N"):
        # N: family;given;additional;prefixes;suffixes (RFC 6350 §6.2.2)
        parts = [_unescape(p).strip() for p in _split_components(card["N"][0])]
        name = " ".join(p for p in (parts[1:2] + parts[0:1]) if p)
    notes = "\n".join(_unescape(n) for n in card.get("NOTE", []))
    for email in card.get("EMAIL", []):
        address = _unescape(email).strip()
        if address.lower().startswith("mailto:"):
            address = address[7:]
        if address:
            yield NewContact(name, address, notes)


def _split_components(value: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            current.append(value[i:i + 2])
            i += 2
            continue
        if value[i] == ";":
            out.append("".join(current))
            current = []
        else:
            current.append(value[i])
        i += 1
    out.append("".join(current))
    return out


def _escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,")
            .replace(";", "\\;"))


def _fold(line: str) -> str:
    """RFC 6350 §3.2: lines of at most 75 octets, continued with a space."""
    data = line.encode()
    if len(data) <= 75:
        return line + "\r\n"
    out: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + (75 if not out else 74), len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1  # never split a UTF-8 sequence
        out.append(data[start:end].decode())
        start = end
    return "\r\n ".join(out) + "\r\n"


def export(contacts: Iterable[NewContact], *, version: str = "4.0") -> str:
    """One card per contact, vCard 4.0 (or 3.0)."""
    out: list[str] = []
    for c in contacts:
        out.append("BEGIN:VCARD\r\n")
        out.append(f"VERSION:{version}\r\n")
        out.append(_fold(f"FN:{_escape(c.name or c.email)}"))
        if version == "3.0":
            out.append(_fold(f"N:{_escape(c.name)};;;;"))  # RFC 2426 §3.1.2: N is required
        out.append(_fold(f"EMAIL:{_escape(c.email)}"))
        if c.notes:
            out.append(_fold(f"NOTE:{_escape(c.notes)}"))
        out.append("END:VCARD\r\n")
    return "".join(out)
