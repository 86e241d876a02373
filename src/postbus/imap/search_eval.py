"""Three-valued evaluation of a SEARCH key tree, one data level at a time.

A message is judged first from what the session holds (`ENTRY`: flags, UID,
sequence number, mod-sequence) and from the full-text index's candidate sets;
only messages still undecided are read further: their `MessageInfo` and
parse-once record (`INFO`: sizes, dates, ENVELOPE), then their raw octets
(`RAW`: HEADER fields, BODY and TEXT). A key that needs a level not yet
loaded answers None ("unknown"); NOT, OR and AND combine with Kleene logic,
so `UNSEEN OR FLAGGED TEXT x` reads nothing for an unseen message.

Invariant: at `RAW` every key answers True or False. The index sets are
supersets (the store's contract), so "not in the set" is a sure False.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from postbus.imap import search_fields as fields
from postbus.imap.proto.search import (
    SearchAll,
    SearchAnd,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModSeq,
    SearchNot,
    SearchOr,
    SearchSeq,
    SearchSize,
    SearchString,
)
from postbus.message import MessageMeta
from postbus.store.model import MessageEntry, MessageInfo


class Level(IntEnum):
    ENTRY = 0
    INFO = 1
    RAW = 2


TEXT_FIELDS = frozenset(("BODY", "TEXT"))
RECENT = "\\recent"


class Candidate:
    """One message as far as it has been read."""

    __slots__ = ("body_text", "entry", "header", "header_text", "info", "meta", "seq")

    def __init__(self, seq: int, entry: MessageEntry) -> None:
        self.seq = seq
        self.entry = entry
        self.info: MessageInfo | None = None
        self.meta: MessageMeta | None = None
        self.header: bytes | None = None  # the top-level header block (RAW)
        self.header_text = ""  # folded, collapsed header text (RAW, when BODY/TEXT is asked)
        self.body_text = ""


@dataclass(frozen=True, slots=True)
class Needs:
    """What the key tree reads beyond MessageInfo: the parse-once record, the body text."""

    meta: bool = False
    text: bool = False


def needs(key: SearchKey) -> Needs:
    meta = text = False
    stack = [key]
    while stack:
        k = stack.pop()
        if isinstance(k, SearchNot):
            stack.append(k.key)
        elif isinstance(k, SearchOr):
            stack += (k.left, k.right)
        elif isinstance(k, SearchAnd):
            stack += k.keys
        elif isinstance(k, SearchDate):
            meta = meta or k.field == "sent"
        elif isinstance(k, SearchString | SearchHeader):
            meta = True
            text = text or (isinstance(k, SearchString) and k.field in TEXT_FIELDS)
    return Needs(meta, text)


_FOLDED_FLAGS: dict[frozenset[str], frozenset[str]] = {}
_FOLDED_FLAGS_SIZE = 4096


def _folded_flags(flags: frozenset[str]) -> frozenset[str]:
    # RFC 9051 §2.3.2: flag and keyword names are case-insensitive
    folded = _FOLDED_FLAGS.get(flags)
    if folded is None:
        folded = frozenset(f.lower() for f in flags)
        if len(_FOLDED_FLAGS) >= _FOLDED_FLAGS_SIZE:
            _FOLDED_FLAGS.clear()
        _FOLDED_FLAGS[flags] = folded
    return folded


class Evaluator:
    """Evaluates one key tree against candidates; see the module docstring."""

    def __init__(
        self,
        *,
        count: int,
        max_uid: int,
        saved: frozenset[int],
        recent: frozenset[int],
        narrowed: Mapping[SearchKey, frozenset[int]],
    ) -> None:
        self.count = count
        self.max_uid = max_uid
        self.saved = saved
        self.recent = recent
        self.narrowed = narrowed
        self._values: dict[SearchKey, str] = {}

    def _value(self, key: SearchString | SearchHeader) -> str:
        value = self._values.get(key)
        if value is None:
            value = fields.fold(key.value)
            if isinstance(key, SearchString) and key.field in TEXT_FIELDS:
                value = fields.collapse(value)
            self._values[key] = value
        return value

    def eval(self, key: SearchKey, c: Candidate, level: Level) -> bool | None:
        if isinstance(key, SearchFlag):
            if key.flag.lower() == RECENT:
                return (c.entry.uid in self.recent) == key.present
            return (key.flag.lower() in _folded_flags(c.entry.flags)) == key.present
        if isinstance(key, SearchAnd):
            result: bool | None = True
            for sub in key.keys:
                r = self.eval(sub, c, level)
                if r is False:
                    return False
                if r is None:
                    result = None
            return result
        if isinstance(key, SearchOr):
            left = self.eval(key.left, c, level)
            if left is True:
                return True
            right = self.eval(key.right, c, level)
            if right is True:
                return True
            return None if left is None or right is None else False
        if isinstance(key, SearchNot):
            r = self.eval(key.key, c, level)
            return None if r is None else not r
        if isinstance(key, SearchAll):
            return True
        if isinstance(key, SearchSeq):
            return self._in_set(key, c)
        if isinstance(key, SearchModSeq):
            return c.entry.modseq >= key.modseq  # RFC 7162 §3.1.5: "equal to or greater"
        if isinstance(key, SearchString | SearchHeader):
            found = self.narrowed.get(key)
            if found is not None and c.entry.uid not in found:
                return False
        if level == Level.ENTRY or c.info is None:
            return None
        if isinstance(key, SearchSize):
            return c.info.size > key.size if key.op == "larger" else c.info.size < key.size
        if isinstance(key, SearchDate):
            return self._date(key, c)
        if isinstance(key, SearchString) and key.field not in TEXT_FIELDS:
            assert c.meta is not None
            return self._value(key) in fields.envelope_text(c.meta, key.field)
        if level < Level.RAW:
            return None
        if isinstance(key, SearchString):
            value = self._value(key)
            if key.field == "BODY":
                return value in c.body_text
            return value in c.body_text or value in c.header_text
        assert isinstance(key, SearchHeader) and c.header is not None
        values = fields.header_values(c.header, key.name)
        if not key.value:  # RFC 9051 §6.4.4: an empty string matches any message with the field
            return bool(values)
        value = self._value(key)
        return any(value in v for v in values)

    def _in_set(self, key: SearchSeq, c: Candidate) -> bool:
        if key.seqset.saved:  # RFC 5182 §2.1: $ is the saved UIDs, in either form
            return c.entry.uid in self.saved
        if key.uid:
            return key.seqset.contains(c.entry.uid, self.max_uid)
        return key.seqset.contains(c.seq, self.count)

    def _date(self, key: SearchDate, c: Candidate) -> bool:
        assert c.info is not None
        day: dt.date | None
        if key.field == "internal":
            day = fields.internal_date(c.info.internal_date)
        else:
            assert c.meta is not None
            day = fields.sent_date(c.meta)
            if day is None:
                return False
        if key.op == "before":
            return day < key.date
        if key.op == "on":
            return day == key.date
        return day >= key.date
