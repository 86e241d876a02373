"""Read messages for a fetch (`query.FetchItems`) from the store and the parse-once record.

:func:`fetch` yields one :class:`Fetched` per UID asked for, in the order
given, reading only what the items need:

* nothing for UIDs, flags and mod-sequences (the view holds them);
* `MessageInfo` (size, arrival date, the record) in batches of `BATCH` UIDs;
* the parse-once record when it is asked for (`Fetched.record`, decoded once);
* for sections, only their byte range of the stored message: octets
  [0, `SMALL_MESSAGE`] are read at once (only the header when every section
  lies in it), the blob reads of `READ_AHEAD` messages overlapping; larger
  ranges are read when asked for, and a front end streams them in pieces
  (`MessageReader.read`).

Sections are resolved on the record (`postbus.message.sections`), never by
re-parsing, following RFC 9051 §6.4.5 and Dovecot where the RFCs are silent:
a section that names nothing (a missing part number, HEADER of a part that is
not message/rfc822) is empty, and so is a partial whose origin lies past the
end (RFC 3501 §6.4.5). A decoded section of the whole message is the message
as stored: decoding is defined for a part's body, not for a message's header.

Invariants: a UID whose message is gone (expunged since the view was taken)
yields a `Fetched` with `gone` set and nothing else; \\Seen is set by
:meth:`Mailboxes.mark_seen` in one store call, before anything is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from postbus import executor
from postbus.mailbox import record
from postbus.mailbox.query import FetchItems, Section
from postbus.message import MessageMeta, header_fields, resolve_section, section_ranges
from postbus.message.transfer import decode_transfer
from postbus.store.contract import Store
from postbus.store.model import MessageInfo

#: UIDs per `store.fetch_info` call.
BATCH = 500

#: Messages whose blob reads (for sections) are started together.
READ_AHEAD = 16

#: A message at most this large is read whole once when any section is wanted.
SMALL_MESSAGE = 128 * 1024

#: Encoded parts larger than this are decoded in the executor (STYLE habit 7).
INLINE_DECODE_LIMIT = 256 * 1024

#: Content-Transfer-Encodings a decoded section can undo (RFC 2045 §6.1).
KNOWN_ENCODINGS = frozenset(("", "7bit", "8bit", "binary", "base64", "quoted-printable"))
_IDENTITY_ENCODINGS = frozenset(("", "7bit", "8bit", "binary"))



class UnknownEncoding(Exception):
    """A decoded section's part has a Content-Transfer-Encoding that cannot be undone
    (IMAP answers NO [UNKNOWN-CTE], RFC 3516 §4.2)."""


@dataclass(frozen=True, slots=True)
class Span:
    """Octets [start, end) of the stored message, to be sent as they are."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


#: A section's octets: in memory, or a range of the stored message to stream.
Content = bytes | Span


class MessageReader:
    """Reads of one stored message.

    `prepare(limit)` reads octets [0, limit) at once when that is at most
    `SMALL_MESSAGE`; other ranges are read when asked for.
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


class Fetched:
    """One message as read for a fetch; see the module docstring."""

    __slots__ = ("_record", "_store", "gone", "info", "reader", "uid")

    def __init__(
        self, store: Store, uid: int, info: MessageInfo | None, *, gone: bool = False,
    ) -> None:
        self._store = store
        self.uid = uid
        self.info = info
        self.gone = gone
        #: Reads of the stored octets; set when the fetch asked for sections.
        self.reader: MessageReader | None = None
        self._record: MessageMeta | None = None

    async def record(self) -> MessageMeta:
        """The parse-once record (ENVELOPE, body structure, preview, sort keys)."""
        if self._record is None:
            assert self.info is not None, "the fetch did not read the message"
            self._record = await record.load(self._store, self.info)
        return self._record

    async def section(self, section: Section) -> tuple[Content, bool]:
        """The octets of `section`, and whether they may be binary (decoded, or a part
        declared ``binary``), which IMAP sends as a literal8 (RFC 3516 §4.2)."""
        meta, reader = await self.record(), self._reader()
        if section.decode:
            content, binary = await _decoded(reader, meta, section.part)
            if isinstance(content, Span):
                start, end = _partial(len(content), section.partial)
                return Span(content.start + start, content.start + end), binary
            return _cut(content, section.partial), binary
        return await _section_content(reader, meta, section), False

    async def decoded_size(self, section: Section) -> int:
        """The size of the part at `section.part` once decoded (IMAP BINARY.SIZE)."""
        content, _ = await _decoded(self._reader(), await self.record(), section.part)
        return len(content)

    def _reader(self) -> MessageReader:
        assert self.reader is not None, "the fetch asked for no sections"
        return self.reader


async def fetch(
    store: Store, mailbox_id: int, uids: Sequence[int], items: FetchItems,
) -> AsyncIterator[Fetched]:
    """One `Fetched` per UID of `uids`, in that order; see the module docstring."""
    needs_info = items.info or items.record or bool(items.sections)
    if not needs_info:
        for uid in uids:
            yield Fetched(store, uid, None)
        return
    header_only = all(s.header_only for s in items.sections)
    for start in range(0, len(uids), BATCH):
        batch = uids[start:start + BATCH]
        infos = {i.uid: i for i in await store.fetch_info(mailbox_id, batch)}
        for group_start in range(0, len(batch), READ_AHEAD):
            group = [_fetched(store, uid, infos.get(uid), bool(items.sections))
                     for uid in batch[group_start:group_start + READ_AHEAD]]
            if items.sections:  # overlap the blob reads of the next few messages
                await asyncio.gather(*(_prepare(m, header_only) for m in group if not m.gone))
            for m in group:
                yield m


def _fetched(store: Store, uid: int, info: MessageInfo | None, sections: bool) -> Fetched:
    if info is None:
        return Fetched(store, uid, None, gone=True)
    m = Fetched(store, uid, info)
    if sections:
        m.reader = MessageReader(store, info.blob_id, info.size)
    return m


async def _prepare(m: Fetched, header_only: bool) -> None:
    assert m.info is not None and m.reader is not None
    meta = await m.record()
    await m.reader.prepare(meta.header_end if header_only else m.info.size)


async def check_decodable(
    store: Store, mailbox_id: int, uids: Sequence[int], sections: Sequence[Section],
) -> None:
    """Raise UnknownEncoding if a decoded section of one of the messages cannot be
    decoded, before anything is read or sent (RFC 3516 §4.2)."""
    paths = [s.part for s in sections if s.decode and s.part]
    if not paths:
        return
    for start in range(0, len(uids), BATCH):
        for info in await store.fetch_info(mailbox_id, uids[start:start + BATCH]):
            meta = await record.load(store, info)
            for path in paths:
                part = resolve_section(meta, path)
                if part is not None and _encoding(part.encoding) not in KNOWN_ENCODINGS:
                    raise UnknownEncoding(part.encoding)


def _encoding(value: str | None) -> str:
    return (value or "").strip().lower()


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


async def _section_content(reader: MessageReader, meta: MessageMeta, section: Section) -> Content:
    """The octets of a section as stored, as bytes or a Span."""
    if section.text.startswith("HEADER.FIELDS"):
        span = section_ranges(meta, section.part, "HEADER")
        if span is None:
            return b""
        block = await reader.read(*span)
        filtered = header_fields(block, section.fields, not_=section.text.endswith(".NOT"))
        return _cut(filtered, section.partial)
    span = section_ranges(meta, section.part, section.text)
    if span is None:
        return b""
    start, end = _partial(span[1] - span[0], section.partial)
    return Span(span[0] + start, span[0] + end)


async def _decoded(
    reader: MessageReader, meta: MessageMeta, path: tuple[int, ...],
) -> tuple[Content, bool]:
    """The part at `path` with its Content-Transfer-Encoding removed (RFC 3516 §4.2),
    and whether the octets may be binary (decoded, or declared ``binary``)."""
    if not path:
        return Span(0, meta.size), False
    part = resolve_section(meta, path)
    if part is None:
        return b"", False
    encoding = _encoding(part.encoding)
    if encoding not in KNOWN_ENCODINGS:
        raise UnknownEncoding(part.encoding)
    if encoding in _IDENTITY_ENCODINGS:
        return Span(part.body_start, part.end), encoding == "binary"
    data = await reader.read(part.body_start, part.end)
    if len(data) <= INLINE_DECODE_LIMIT:
        return decode_transfer(data, encoding), True
    return await executor.run(executor.CPU, decode_transfer, data, encoding), True


__all__ = [
    "BATCH", "READ_AHEAD", "Content", "Fetched", "MessageReader", "Span", "UnknownEncoding",
    "check_decodable", "fetch",
]
