"""Body sections of FETCH: BODY[...], RFC822.*, BINARY[...] and BINARY.SIZE[...].

Sections are resolved on the parse-once record (`postbus.message.sections`),
never by re-parsing: a section is a byte range of the stored raw message, and
only that range is read. HEADER.FIELDS[.NOT] read just the header block they
filter; BINARY reads the part's encoded range and decodes it.

Answers follow RFC 9051 §6.4.5 and §7.5.2, and Dovecot where the RFCs are
silent: a section that names nothing (a missing part number, HEADER of a part
that is not message/rfc822) is an empty string, and so is a partial whose
origin lies past the end (RFC 3501 §6.4.5). `BINARY[]` is the whole message
as stored: decoding is defined for a part's body, not for a message's header.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from postbus.imap.proto.errors import ImapNo
from postbus.imap.proto.fetch import FetchAtt
from postbus.message import MessageMeta, header_fields, resolve_section, section_ranges
from postbus.message.transfer import decode_transfer
from postbus.store.contract import Store

#: A message at most this large is read whole once when any section is wanted.
SMALL_MESSAGE = 128 * 1024

#: Encoded parts larger than this are decoded in the executor (STYLE habit 7).
INLINE_DECODE_LIMIT = 256 * 1024

#: Content-Transfer-Encodings BINARY can undo (RFC 2045 §6.1); others give UNKNOWN-CTE.
KNOWN_ENCODINGS = frozenset(("", "7bit", "8bit", "binary", "base64", "quoted-printable"))
_IDENTITY_ENCODINGS = frozenset(("", "7bit", "8bit", "binary"))

# The RFC822 items are BODY[] forms (RFC 9051 §6.4.5): name -> section text
_RFC822 = {"RFC822": "", "RFC822.HEADER": "HEADER", "RFC822.TEXT": "TEXT"}


@dataclass(frozen=True, slots=True)
class Span:
    """Octets [start, end) of the stored message, sent as they are."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


Content = bytes | Span


class RawMessage:
    """Reads of one stored message.

    `prepare(limit)` reads octets [0, limit) at once when that is at most
    `SMALL_MESSAGE` (the whole message, or only its header when every item asked
    for lies in it); other ranges are read when asked, and big ones streamed.
    """

    __slots__ = ("blob_id", "head", "size", "store")

    def __init__(self, store: Store, blob_id: str, size: int) -> None:
        self.store = store
        self.blob_id = blob_id
        self.size = size
        self.head = b""

    async def prepare(self, limit: int) -> None:
        if 0 < limit <= SMALL_MESSAGE and len(self.head) < limit:
            self.head = await self.store.read_blob(self.blob_id, 0, limit)

    def cached(self, start: int, end: int) -> bytes | None:
        """Octets [start, end) if they were read by `prepare`."""
        return self.head[start:end] if end <= len(self.head) else None

    async def read(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        data = self.cached(start, end)
        if data is None:
            data = await self.store.read_blob(self.blob_id, start, end - start)
        return data


def _partial(length: int, partial: tuple[int, int] | None) -> tuple[int, int]:
    """(start, end) within content of `length` octets (RFC 9051 §6.4.5 <origin.octets>)."""
    if partial is None:
        return 0, length
    origin, count = partial
    start = min(origin, length)
    return start, min(start + count, length)


def _cut(data: bytes, partial: tuple[int, int] | None) -> bytes:
    start, end = _partial(len(data), partial)
    return data if (start, end) == (0, len(data)) else data[start:end]


def is_body_item(att: FetchAtt) -> bool:
    """Whether `att` is answered with message octets (a literal)."""
    return att.name in _RFC822 or att.section is not None


def in_header(att: FetchAtt) -> bool:
    """Whether `att` reads nothing but the top-level header (RFC822.HEADER, BODY[HEADER...])."""
    if att.name == "RFC822.HEADER":
        return True
    section = att.section
    return (att.name == "BODY" and section is not None and not section.part
            and (section.text or "").startswith("HEADER"))


async def body_content(raw: RawMessage, meta: MessageMeta, att: FetchAtt) -> Content:
    """The octets of BODY[section]<partial> or an RFC822 item, as bytes or a Span."""
    if att.name in _RFC822:
        path: tuple[int, ...] = ()
        text = _RFC822[att.name]
        names: tuple[str, ...] = ()
    else:
        assert att.section is not None
        path, text, names = att.section.part, att.section.text or "", att.section.headers
    if text.startswith("HEADER.FIELDS"):
        span = section_ranges(meta, path, "HEADER")
        if span is None:
            return b""
        block = await raw.read(*span)
        return _cut(header_fields(block, names, not_=text.endswith(".NOT")), att.partial)
    span = section_ranges(meta, path, text)
    if span is None:
        return b""
    start, end = _partial(span[1] - span[0], att.partial)
    return Span(span[0] + start, span[0] + end)


async def _decoded(
    raw: RawMessage, meta: MessageMeta, path: tuple[int, ...],
) -> tuple[Content, bool]:
    """The part at `path` with its Content-Transfer-Encoding removed (RFC 3516 §4.2),
    and whether the octets may be binary (decoded, or declared ``binary``)."""
    if not path:
        return Span(0, meta.size), False
    part = resolve_section(meta, path)
    if part is None:
        return b"", False
    encoding = (part.encoding or "").strip().lower()
    if encoding not in KNOWN_ENCODINGS:
        # RFC 3516 §4.2: NO [UNKNOWN-CTE] when the encoding cannot be undone
        raise ImapNo("Unknown Content-Transfer-Encoding", "UNKNOWN-CTE")
    if encoding in _IDENTITY_ENCODINGS:
        return Span(part.body_start, part.end), encoding == "binary"
    data = await raw.read(part.body_start, part.end)
    if len(data) <= INLINE_DECODE_LIMIT:
        return decode_transfer(data, encoding), True
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, decode_transfer, data, encoding), True


async def binary_content(
    raw: RawMessage, meta: MessageMeta, att: FetchAtt,
) -> tuple[Content, bool]:
    """BINARY[part]<partial>: decoded octets (bytes) or an undecoded range (Span), and
    whether to send them as a literal8."""
    assert att.section is not None
    content, binary = await _decoded(raw, meta, att.section.part)
    if isinstance(content, Span):
        start, end = _partial(len(content), att.partial)
        return Span(content.start + start, content.start + end), binary
    return _cut(content, att.partial), binary


async def binary_size(raw: RawMessage, meta: MessageMeta, att: FetchAtt) -> int:
    """BINARY.SIZE[part]: the decoded size in octets (RFC 3516 §4.2)."""
    assert att.section is not None
    content, _ = await _decoded(raw, meta, att.section.part)
    return len(content)


def check_binary(meta: MessageMeta, atts: list[FetchAtt]) -> None:
    """Raise NO [UNKNOWN-CTE] before anything is written for this message."""
    for att in atts:
        if att.name.startswith("BINARY") and att.section is not None and att.section.part:
            part = resolve_section(meta, att.section.part)
            if part is not None and (part.encoding or "").strip().lower() not in KNOWN_ENCODINGS:
                raise ImapNo("Unknown Content-Transfer-Encoding", "UNKNOWN-CTE")
