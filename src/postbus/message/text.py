"""Decoded text of a message: the RFC 8970 preview and the full-text index input.

Text parts are decoded from their transfer encoding and charset with
errors replaced; HTML is reduced to text crudely (script, style and head
blocks and comments removed, tags dropped, entities unescaped) in time
linear in its length. Attachments contribute their file names, never
their content, except text attachments, which are text. In a
multipart/alternative only one alternative is read: text/plain if there is
one, else the last (RFC 2046 §5.1.4: the richest).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from postbus.message.addresses import Address
from postbus.message.charsets import decode_text
from postbus.message.headers import parse_fields
from postbus.message.limits import (
    MAX_BODY_TEXT,
    MAX_DECODE_BYTES,
    MAX_HEADER_TEXT,
    PREVIEW_LENGTH,
    PREVIEW_SCAN_BYTES,
)
from postbus.message.model import MessageMeta, Part
from postbus.message.transfer import decode_body
from postbus.message.words import decode_header_value

_HIDDEN_OPEN = re.compile(r"<(script|style|head|title)\b|<!--", re.I)
_HIDDEN_CLOSE = {
    name: re.compile(rf"</{name}\s*>", re.I) for name in ("script", "style", "head", "title")
}
_COMMENT_CLOSE = re.compile(r"-->")
_BLOCK_TAG = re.compile(
    r"</?(?:p|br|div|tr|td|th|li|ul|ol|h[1-6]|table|blockquote|pre|hr)\b[^<>]*>", re.I)
_ANY_TAG = re.compile(r"</?[a-zA-Z!?][^<>]*>")
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$", re.M)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document, crudely; linear in len(markup)."""
    pieces: list[str] = []
    pos = 0
    unclosed: set[str] = set()  # closers known to be absent after some point
    while True:
        opening = _HIDDEN_OPEN.search(markup, pos)
        if opening is None:
            break
        name = (opening.group(1) or "!--").lower()
        closer = _HIDDEN_CLOSE.get(name, _COMMENT_CLOSE)
        closing = None if name in unclosed else closer.search(markup, opening.end())
        pieces.append(markup[pos:opening.start()])
        if closing is None:
            unclosed.add(name)
            pieces.append(markup[opening.start():opening.end()] if name != "!--" else "")
            pos = opening.end()
        else:
            pieces.append(" ")
            pos = closing.end()
    pieces.append(markup[pos:])
    text = _BLOCK_TAG.sub("\n", "".join(pieces))
    return html.unescape(_ANY_TAG.sub("", text))


def part_text(raw: bytes, part: Part, limit: int = MAX_DECODE_BYTES) -> str:
    """Decoded text of a text/* leaf (HTML reduced to text), from its first `limit` octets."""
    text = decode_text(decode_body(raw, part, limit), part.charset)
    if part.subtype.lower() in ("html", "xhtml+xml"):
        text = html_to_text(text)
    return text


def _shown(part: Part) -> bool:
    disposition = part.disposition_type
    return disposition != "attachment" and not (part.filename and disposition != "inline")


def first_text_part(part: Part) -> Part | None:
    """The part a reader sees first: text/plain preferred inside an alternative."""
    if part.children:
        if part.mime_type == "multipart/alternative":
            for child in part.children:
                if child.mime_type == "text/plain" and _shown(child):
                    return child
        for child in part.children:
            found = first_text_part(child)
            if found is not None:
                return found
        return None
    if part.body is not None:
        return first_text_part(part.body) if part.disposition_type != "attachment" else None
    if part.mime_type in ("text/plain", "text/html") and _shown(part):
        return part
    return None


def make_preview(raw: bytes, root: Part) -> str:
    """RFC 8970 PREVIEW: the first PREVIEW_LENGTH characters of the body text,
    white space collapsed, quoted lines ("> ...") skipped when anything else is left."""
    part = first_text_part(root)
    if part is None:
        return ""
    text = part_text(raw, part, PREVIEW_SCAN_BYTES)
    if ">" in text and part.subtype.lower() == "plain":
        unquoted = _QUOTED_LINE.sub("", text)
        if unquoted.strip():
            text = unquoted
    return " ".join(text.split())[:PREVIEW_LENGTH].rstrip()


def header_text(raw: bytes, start: int, end: int) -> str:
    """"Name: decoded value" lines of the header block raw[start:end]."""
    lines: list[str] = []
    length = 0
    for name, value in parse_fields(raw, start, end):
        lines.append(f"{name}: {decode_header_value(value[:MAX_HEADER_TEXT])}")
        length += len(lines[-1]) + 1
        if length >= MAX_HEADER_TEXT:
            break
    return "\n".join(lines)[:MAX_HEADER_TEXT]


class _Collector:
    __slots__ = ("pieces", "raw", "remaining")

    def __init__(self, raw: bytes, limit: int) -> None:
        self.raw = raw
        self.remaining = limit
        self.pieces: list[str] = []

    def add(self, text: str) -> None:
        text = " ".join(text.split())
        if text and self.remaining > 0:
            text = text[:self.remaining]
            self.pieces.append(text)
            self.remaining -= len(text) + 1

    def walk(self, part: Part) -> None:
        if self.remaining <= 0:
            return
        if part.children:
            children = part.children
            if part.mime_type == "multipart/alternative":
                plain = [c for c in children if c.mime_type == "text/plain"]
                children = plain[:1] or children[-1:]
            for child in children:
                self.walk(child)
            return
        if part.filename:
            self.add(part.filename)
        if part.body is not None:
            self.add(header_text(self.raw, part.body.header_start, part.body.body_start))
            self.walk(part.body)
        elif part.type.lower() == "text":
            self.add(part_text(self.raw, part))


def address_text(addresses: Sequence[Address]) -> str:
    """``Name <mailbox@host>, ...`` of an ENVELOPE address list, display names
    decoded, group starts as ``name:`` (RFC 9051 §7.5.2): what SEARCH FROM, TO,
    CC and BCC match (RFC 3501 §6.4.4 "the envelope structure's ... field")."""
    out: list[str] = []
    for name, _, mailbox, host in addresses:
        if host is None:
            if mailbox is not None:
                out.append(f"{mailbox}:")
            continue
        spec = f"{mailbox}@{host}"
        out.append(f"{decode_header_value(name)} <{spec}>" if name else spec)
    return ", ".join(out)


def envelope_text(meta: MessageMeta) -> str:
    """Lines "From: ...", "To: ...", "Cc: ...", "Bcc: ..." of the ENVELOPE's addresses
    (`address_text`), indexed beside the header text: the raw header may spell an
    address otherwise ("<a (comment)@ b.org>"), and the index must hold what the
    address criteria match, so that it never drops a true match."""
    env = meta.envelope
    fields = (("From", env.from_), ("To", env.to), ("Cc", env.cc), ("Bcc", env.bcc))
    return "\n".join(f"{name}: {address_text(value)}" for name, value in fields if value)


def search_text(raw: bytes, meta: MessageMeta) -> tuple[str, str]:
    """(decoded header text, decoded body text) for the full-text index.

    The header text is one "Name: value" line per field, capped at
    MAX_HEADER_TEXT characters; the body text has its white space collapsed
    and is capped at MAX_BODY_TEXT characters.
    """
    collector = _Collector(raw, MAX_BODY_TEXT)
    collector.walk(meta.body)
    return header_text(raw, 0, meta.header_end), " ".join(collector.pieces)
