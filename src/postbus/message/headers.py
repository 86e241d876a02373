"""Header blocks over raw bytes: where they end, their fields, and IMAP's views of them.

A header block is read straight from the stored message; nothing here copies
more than the header itself. Line endings may be CRLF or bare LF. Values are
unfolded (RFC 5322 §2.2.3: the line break before a continuation's leading
white space is removed) and decoded as UTF-8, falling back to latin-1 per
line, so that every octet survives and the result is always a valid `str`.
Encoded words (RFC 2047) are left alone: IMAP ENVELOPE returns them raw.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from postbus.message.limits import MAX_HEADER_FIELDS

Field = tuple[str, str]
"""(name as written, unfolded value with surrounding blanks stripped)"""

_STRIP = " \t\r"


def find_header_end(buf: bytes, start: int, end: int) -> int:
    """Offset just after the blank line ending the header that starts at `start`.

    The header ends at the first empty line (CRLF or bare LF). With no empty
    line before `end`, the whole range is header and `end` is returned.
    """
    if start >= end:
        return end
    first = buf[start]
    if first == 0x0A:  # empty header: the entity opens with the blank line
        return start + 1
    if first == 0x0D and buf.startswith(b"\r\n", start, end):
        return start + 2
    crlf = buf.find(b"\n\r\n", start, end)
    lf = buf.find(b"\n\n", start, end if crlf < 0 else crlf + 2)
    if lf >= 0:
        return lf + 2
    if crlf >= 0:
        return crlf + 3
    return end


def decode_raw(data: bytes) -> str:
    """Raw header octets as text: UTF-8 when valid, else latin-1 (lossless)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# A field: a name (RFC 5322 §3.6.8 ftext, loosely: no blank, no colon), blanks
# (RFC 5322 §4.5.2 obs-optional), a colon, then its value and its continuation
# lines (§2.2.3). A line that is not a field ends the field before it.
_FIELD = re.compile(r"^([^:\s]++)[ \t]*+:(.*+(?:\n[ \t].*+)*+)", re.M)


def parse_fields(buf: bytes, start: int, end: int) -> list[Field]:
    """The fields of the header block buf[start:end], in order, unfolded.

    Lines that are not fields (no colon, or blanks inside the name, like an
    mbox "From " line) are skipped, and so are continuations that follow
    them. Parsing stops at the first empty line, so `end` may lie in the body,
    and after MAX_HEADER_FIELDS fields.
    """
    return fields_of_block(buf[start:find_header_end(buf, start, end)])


def fields_of_block(block: bytes) -> list[Field]:
    """`parse_fields` of a block already cut at its blank line (the walker's case)."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = "\n".join(decode_raw(line) for line in block.split(b"\n"))
    fields = []
    for match in _FIELD.finditer(text):
        name, value = match.groups()
        if "\n" in value:
            value = value.replace("\r\n", "").replace("\n", "")
        fields.append((name, value.strip(_STRIP)))
        if len(fields) >= MAX_HEADER_FIELDS:
            break
    return fields


def get_header(raw_header: bytes, name: str) -> list[str]:
    """Every value of the field `name` (case-insensitive), unfolded and raw.

    For IMAP SEARCH HEADER (RFC 9051 §6.4.4), which matches on the field's
    content; the caller decodes encoded words if it wants to.
    """
    wanted = name.lower()
    return [value for fname, value in parse_fields(raw_header, 0, len(raw_header))
            if fname.lower() == wanted]


def header_fields(raw_header: bytes, names: Iterable[str], *, not_: bool) -> bytes:
    """BODY[HEADER.FIELDS (names)] or, with `not_`, BODY[HEADER.FIELDS.NOT (names)].

    RFC 3501 §6.4.5 / RFC 9051 §6.4.5: the subset of the header whose field
    names match (case-insensitively) or, for .NOT, do not match, each field
    byte-exact with its continuation lines, followed by the blank line. Lines
    that are not fields are left out either way.
    """
    wanted = {n.lower() for n in names}
    out: list[bytes] = []
    keep = False
    pieces = raw_header.split(b"\n")
    last = len(pieces) - 1
    for index, piece in enumerate(pieces):
        line = piece if index == last else piece + b"\n"
        content = piece[:-1] if piece.endswith(b"\r") else piece
        if not content:
            break
        if content[0] in b" \t":
            if keep:
                out.append(line)
            continue
        colon = content.find(b":")
        if colon < 0:
            keep = False
            continue
        raw_name = content[:colon].rstrip(b" \t")
        if not raw_name or b" " in raw_name or b"\t" in raw_name:
            keep = False
            continue
        keep = (raw_name.decode("latin-1").lower() in wanted) != not_
        if keep:
            out.append(line)
    if out and not out[-1].endswith(b"\n"):
        out.append(b"\r\n")
    out.append(b"\r\n")
    return b"".join(out)
