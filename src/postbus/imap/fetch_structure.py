"""ENVELOPE, BODYSTRUCTURE and BODY of a stored message, memoised per blob.

The parse-once record (`postbus.message.MessageMeta`) keeps ENVELOPE and the
part tree in its own shape (addresses are tuples, a part's children are
`children`, its disposition a `(type, params)` pair); the protocol core's
encoders (`imap.proto.structure`) read duck-typed attributes. The views below
adapt the one to the other without copying strings.

Encoding ENVELOPE and BODYSTRUCTURE costs 15-30 µs per message, the largest
part of a `FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)`. Blobs are
content-addressed, so a blob id names the encoded bytes forever: they are kept
in a bounded LRU keyed by (blob id, item, utf8). Invariant: the cache holds
only bytes computed from the record of that blob, never anything per folder
or per session (flags, UIDs).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from postbus.imap.proto.structure import body_structure, envelope
from postbus.message.model import Envelope, MessageMeta, Part

#: Encoded structures kept (about 0.3-2 KB each; 8192 entries ≈ 8 MB at most).
STRUCTURE_CACHE_ENTRIES = 8192


class AddressView(NamedTuple):
    """An ENVELOPE address (RFC 9051 §7.5.2) in the encoder's attribute names."""

    name: str | None
    adl: str | None
    mailbox: str | None
    host: str | None


def _addresses(addresses: list[tuple[str | None, str | None, str | None, str | None]],
               ) -> list[AddressView]:
    return [AddressView._make(a) for a in addresses]


class EnvelopeView:
    """`postbus.message.Envelope` as `imap.proto.structure.EnvelopeLike`."""

    __slots__ = ("bcc", "cc", "date", "from_", "in_reply_to", "message_id", "reply_to",
                 "sender", "subject", "to")

    def __init__(self, env: Envelope) -> None:
        self.date = env.date
        self.subject = env.subject
        self.from_ = _addresses(env.from_)
        self.sender = _addresses(env.sender)
        self.reply_to = _addresses(env.reply_to)
        self.to = _addresses(env.to)
        self.cc = _addresses(env.cc)
        self.bcc = _addresses(env.bcc)
        self.in_reply_to = env.in_reply_to
        self.message_id = env.message_id


class PartView:
    """`postbus.message.Part` as `imap.proto.structure.BodyPartLike`."""

    __slots__ = ("body", "description", "disposition", "disposition_params", "encoding",
                 "envelope", "id", "language", "lines", "location", "md5", "params", "parts",
                 "size", "subtype", "type")

    def __init__(self, part: Part) -> None:
        self.type = part.type
        self.subtype = part.subtype
        self.params = part.params
        self.id = part.id
        self.description = part.description
        self.encoding = part.encoding
        self.size = part.size
        self.lines = part.lines
        self.md5 = part.md5
        if part.disposition is None:
            self.disposition: str | None = None
            self.disposition_params: list[tuple[str, str]] = []
        else:
            self.disposition, self.disposition_params = part.disposition
        self.language = part.language
        self.location = part.location
        self.parts = [PartView(child) for child in part.children]
        self.envelope = EnvelopeView(part.envelope) if part.envelope is not None else None
        self.body = PartView(part.body) if part.body is not None else None


class _Lru:
    """A small least-recently-used map; `capacity` 0 disables it (benchmarks)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[tuple[str, str, bool], bytes] = OrderedDict()

    def get(self, key: tuple[str, str, bool]) -> bytes | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: tuple[str, str, bool], value: bytes) -> None:
        if self.capacity <= 0:
            return
        self._data[key] = value
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()


CACHE = _Lru(STRUCTURE_CACHE_ENTRIES)

#: The FETCH items this module answers.
STRUCTURE_ITEMS = frozenset(("ENVELOPE", "BODYSTRUCTURE", "BODY"))


def cached(blob_id: str, item: str, utf8: bool) -> bytes | None:
    """The memoised value of `item` for the message in `blob_id`, if any."""
    return CACHE.get((blob_id, item, utf8))


def encode(blob_id: str, meta: MessageMeta, item: str, utf8: bool) -> bytes:
    """ENVELOPE, BODYSTRUCTURE or BODY (the non-extensible form) of `meta`, memoised."""
    key = (blob_id, item, utf8)
    value = CACHE.get(key)
    if value is None:
        if item == "ENVELOPE":
            value = envelope(EnvelopeView(meta.envelope), utf8=utf8)
        else:
            value = body_structure(PartView(meta.body), extended=item == "BODYSTRUCTURE",
                                   utf8=utf8)
        CACHE.put(key, value)
    return value
