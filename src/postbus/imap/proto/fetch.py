"""FETCH attributes, body sections and partials (RFC 9051 §6.4.5, RFC 3516).

Each requested item becomes a :class:`FetchAtt` whose ``key`` is the item name
the response must carry (``BODY.PEEK[HEADER]<0.100>`` is answered as
``BODY[HEADER]<0>``), computed once at parse time so that a FETCH over 50,000
messages does not rebuild it per message.  Macros ALL, FAST and FULL are
expanded here (RFC 9051 §6.4.5).
"""

import re
from dataclasses import dataclass

from .errors import ImapBad
from .lexer import ASTRING, Cursor


@dataclass(frozen=True, slots=True)
class Section:
    """``section-spec``: ``part`` numbers, then an optional ``text`` specifier.

    ``text`` is one of ``HEADER``, ``HEADER.FIELDS``, ``HEADER.FIELDS.NOT``,
    ``TEXT``, ``MIME`` or None (the whole part); ``headers`` lists the field
    names of ``HEADER.FIELDS[.NOT]`` as the client spelled them.
    """

    part: tuple[int, ...] = ()
    text: str | None = None
    headers: tuple[str, ...] = ()

    def __str__(self) -> str:
        out = ".".join(map(str, self.part))
        if self.text:
            out = f"{out}.{self.text}" if out else self.text
            if self.headers:
                out += " (" + " ".join(map(_header_name, self.headers)) + ")"
        return out


def _header_name(name: str) -> str:
    raw = name.encode()
    if ASTRING.fullmatch(raw):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class FetchAtt:
    """One FETCH item.

    ``name`` is ENVELOPE, FLAGS, INTERNALDATE, RFC822, RFC822.HEADER,
    RFC822.SIZE, RFC822.TEXT, BODY, BODYSTRUCTURE, UID, MODSEQ, PREVIEW
    (RFC 8970), PREVIEW.FUZZY and SNIPPET (the drafts' forms, answered as
    ``PREVIEW (FUZZY "...")`` and ``SNIPPET (FUZZY "...")``), EMAILID, THREADID,
    SAVEDATE, BINARY or BINARY.SIZE.  ``section`` is set for ``BODY[...]``, ``BINARY[...]`` and
    ``BINARY.SIZE[...]`` (``BODY`` without it is the non-extensible structure);
    ``partial`` is ``(origin, length)``; ``peek`` means \\Seen is not set.
    """

    name: str
    section: Section | None = None
    partial: tuple[int, int] | None = None
    peek: bool = False
    key: bytes = b""

    @property
    def sets_seen(self) -> bool:
        """RFC 9051 §6.4.5: BODY[...] / BINARY[...] / RFC822 / RFC822.TEXT set \\Seen."""
        if self.name in ("RFC822", "RFC822.TEXT"):
            return True
        return self.section is not None and not self.peek and self.name != "BINARY.SIZE"


def _simple(name: str) -> FetchAtt:
    return FetchAtt(name, key=name.encode())


SIMPLE_ATTS = {
    name.encode(): _simple(name)
    for name in (
        "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE",
        "RFC822.TEXT", "BODY", "BODYSTRUCTURE", "UID", "MODSEQ", "PREVIEW",
        "EMAILID", "THREADID",  # RFC 8474 §5
        "SAVEDATE",  # RFC 8514 §4.3
    )
}

#: RFC 8970 §3 preview modifiers: LAZY, and FUZZY and LAZY=FUZZY of the drafts
#: before it (draft-ietf-extra-imap-fetch-preview; SNIPPET=FUZZY and PREVIEW=FUZZY
#: are their capabilities), which Dovecot 2.3 still takes. LAZY lets a server
#: answer NIL when the preview is not at hand; ours always is (the parse-once
#: record holds it), so LAZY changes nothing. FUZZY (or LAZY=FUZZY) asks for the
#: drafts' response form ``PREVIEW (FUZZY "text")``; SNIPPET, with any of these
#: modifiers or none, is always answered ``SNIPPET (FUZZY "text")``, as Dovecot does.
_PREVIEW_MOD = rb"(?:LAZY=FUZZY|LAZY|FUZZY)"
_PREVIEW_MODIFIERS = re.compile(rb" \(%s(?: %s)*\)" % (_PREVIEW_MOD, _PREVIEW_MOD), re.I)
PREVIEW_FUZZY = FetchAtt("PREVIEW.FUZZY", key=b"PREVIEW")
SNIPPET = FetchAtt("SNIPPET", key=b"SNIPPET")

MACROS = {
    b"ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    b"FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    b"FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}

# item name -> (name, peek, binary section syntax)
_SECTIONED = {
    b"BODY": ("BODY", False, False),
    b"BODY.PEEK": ("BODY", True, False),
    b"BINARY": ("BINARY", False, True),
    b"BINARY.PEEK": ("BINARY", True, True),
    b"BINARY.SIZE": ("BINARY.SIZE", False, True),
}

_ATT_NAME = re.compile(rb"[A-Za-z0-9.]+")
_PART = re.compile(rb"[0-9]{1,9}(?:\.[0-9]{1,9})*")
_SECTION_TEXT = re.compile(rb"HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME", re.I)
_PARTIAL = re.compile(rb"<([0-9]{1,10})\.([0-9]{1,10})>")


def _read_section(cur: Cursor, binary: bool) -> Section:
    cur.expect(b"[")
    if cur.skip(b"]"):
        return Section()
    part: tuple[int, ...] = ()
    raw_part = cur.match(_PART)
    if raw_part is not None:
        part = tuple(int(p) for p in raw_part.split(b"."))
        if 0 in part:
            raise ImapBad("Invalid section part number")
        if binary:
            cur.expect(b"]", "']' after the section part")
            return Section(part)
        if cur.skip(b"]"):
            return Section(part)
        cur.expect(b".", "'.' or ']' in the section")
    elif binary:
        raise ImapBad("A BINARY section takes only part numbers")
    raw_text = cur.match(_SECTION_TEXT)
    if raw_text is None:
        raise ImapBad("Invalid section specifier")
    text = raw_text.decode("ascii").upper()
    if text == "MIME" and not part:
        raise ImapBad("MIME needs a part number")
    headers: tuple[str, ...] = ()
    if text.startswith("HEADER.FIELDS"):
        cur.sp()
        headers = tuple(cur.paren_list(cur.astring_text, allow_empty=False))
    cur.expect(b"]", "']' to close the section")
    return Section(part, text, headers)


def parse_section_spec(text: bytes) -> Section:
    """A ``section-spec`` without its brackets, as an IMAP URL's ``;SECTION=`` holds it
    once %-decoded (RFC 5092 §11 ``enc-section``); ImapBad when it is malformed."""
    cur = Cursor([b"[" + text + b"]"], ())
    section = _read_section(cur, False)
    cur.end()
    return section


def read_fetch_att(cur: Cursor) -> FetchAtt:
    """Consume one ``fetch-att``."""
    raw = cur.match(_ATT_NAME)
    if raw is None:
        raise ImapBad("Expected a FETCH item")
    upper = raw.upper()
    if cur.peek() != 0x5B:  # "["
        if upper in (b"PREVIEW", b"SNIPPET"):
            # RFC 8970 §7: "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]. A
            # lone PREVIEW may also be followed by FETCH modifiers (CHANGEDSINCE):
            # only a list of preview modifiers belongs to the item.
            modifiers = cur.match(_PREVIEW_MODIFIERS)
            if upper == b"SNIPPET":
                return SNIPPET
            if modifiers is not None and b"FUZZY" in modifiers.upper():
                return PREVIEW_FUZZY
        att = SIMPLE_ATTS.get(upper)
        if att is None:
            raise ImapBad(f"Unknown FETCH item {raw.decode('ascii')}")
        return att
    spec = _SECTIONED.get(upper)
    if spec is None:
        raise ImapBad(f"FETCH item {raw.decode('ascii')} takes no section")
    name, peek, binary = spec
    section = _read_section(cur, binary)
    partial = None
    key = f"{name}[{section}]"
    if name != "BINARY.SIZE" and cur.peek() == 0x3C:  # "<"
        m = cur.match(_PARTIAL)
        if m is None:
            raise ImapBad("Invalid partial <origin.length>")
        origin, _, length = m[1:-1].partition(b".")
        partial = (int(origin), int(length))
        if partial[1] == 0:
            raise ImapBad("Partial length must not be zero")
        key += f"<{partial[0]}>"
    return FetchAtt(name, section, partial, peek, key.encode())


def read_fetch_atts(cur: Cursor) -> tuple[tuple[FetchAtt, ...], str | None]:
    """Consume a macro, one item or a parenthesised list; returns (items, macro)."""
    if cur.peek() == 0x28:  # "("
        return tuple(cur.paren_list(lambda: read_fetch_att(cur), allow_empty=False)), None
    for macro, names in MACROS.items():
        if cur.skip_word(macro):
            return tuple(SIMPLE_ATTS[n.encode()] for n in names), macro.decode()
    return (read_fetch_att(cur),), None
