"""Three-valued evaluation of a criterion tree (`mailbox.query`), one data level at a time.

A message is judged first from what the view holds (`ENTRY`: flags, UID,
mod-sequence) and from the full-text index's candidate sets; only messages
still undecided are read further: their `MessageInfo` and parse-once record
(`INFO`: sizes, dates, ENVELOPE), then their raw octets (`RAW`: header
fields, body and text). A criterion that needs a level not yet loaded answers
None ("unknown"); Not, Or and And combine with Kleene logic, so
``Or((Unseen, Text("x")))`` reads nothing for an unseen message.

Invariant: at `RAW` every criterion answers True or False. The index sets are
supersets (the store's contract), so "not in the set" is a sure False.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import IntEnum

from postbus.mailbox import search_fields as fields
from postbus.mailbox.query import (
    Address,
    All,
    And,
    Body,
    BodyId,
    Criterion,
    Date,
    Flag,
    Header,
    Larger,
    ModSeq,
    Not,
    Older,
    Or,
    Recent,
    Smaller,
    StringCriterion,
    Subject,
    Text,
    Uids,
    Younger,
)
from postbus.message import MessageMeta
from postbus.store.model import MessageEntry, MessageInfo


class Level(IntEnum):
    ENTRY = 0
    INFO = 1
    RAW = 2


class Candidate:
    """One message as far as it has been read."""

    __slots__ = ("body_text", "entry", "header", "header_text", "info", "meta")

    def __init__(self, entry: MessageEntry) -> None:
        self.entry = entry
        self.info: MessageInfo | None = None
        self.meta: MessageMeta | None = None
        self.header: bytes | None = None  # the top-level header block (RAW)
        self.header_text = ""  # folded, collapsed header text (RAW, when Body/Text is asked)
        self.body_text = ""


@dataclass(frozen=True, slots=True)
class Needs:
    """What the tree reads beyond MessageInfo: the parse-once record, the body text."""

    meta: bool = False
    text: bool = False


def children(criterion: Criterion) -> tuple[Criterion, ...]:
    if isinstance(criterion, And | Or):
        return criterion.criteria
    if isinstance(criterion, Not):
        return (criterion.criterion,)
    return ()


def needs(criterion: Criterion) -> Needs:
    meta = text = False
    stack = [criterion]
    while stack:
        c = stack.pop()
        stack += children(c)
        if isinstance(c, Date):
            meta = meta or c.sent
        elif isinstance(c, StringCriterion):
            meta = True
            text = text or isinstance(c, Body | Text)
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


class UidRanges:
    """A `Uids` set as merged ranges, for a membership test in O(log ranges)."""

    __slots__ = ("highs", "lows")

    def __init__(self, uids: Uids) -> None:
        merged: list[list[int]] = []
        for lo, hi in sorted((min(a, b), max(a, b)) for a, b in uids.ranges):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self.lows = [lo for lo, _ in merged]
        self.highs = [hi for _, hi in merged]

    def __contains__(self, uid: int) -> bool:
        i = bisect_right(self.lows, uid) - 1
        return i >= 0 and uid <= self.highs[i]


class Evaluator:
    """Evaluates one criterion tree against candidates; see the module docstring."""

    def __init__(
        self, *, recent: Collection[int], narrowed: Mapping[StringCriterion, frozenset[int]],
        now: float = 0.0,
    ) -> None:
        self.recent = recent
        self.now = now  # the clock reading Older and Younger count back from
        self.narrowed = narrowed
        # criterion -> (UIDs that match, UIDs the store could not judge): answers the
        # store gave from stored keys (`search._exact`); others are judged here
        self.exact: Mapping[Criterion, tuple[Collection[int], Collection[int]]] = {}
        self._values: dict[StringCriterion, str] = {}
        # keyed by identity: hashing a Uids of many ranges per message would cost more
        # than the test itself
        self._uid_sets: dict[int, UidRanges] = {}

    def _value(self, c: StringCriterion) -> str:
        value = self._values.get(c)
        if value is None:
            value = fields.fold(c.value)
            if isinstance(c, Body | Text):
                value = fields.collapse(value)
            self._values[c] = value
        return value

    def eval(self, c: Criterion, m: Candidate, level: Level) -> bool | None:
        if isinstance(c, Flag):
            return (c.name.lower() in _folded_flags(m.entry.flags)) == c.present
        if isinstance(c, And):
            result: bool | None = True
            for sub in c.criteria:
                r = self.eval(sub, m, level)
                if r is False:
                    return False
                if r is None:
                    result = None
            return result
        if isinstance(c, Or):
            any_unknown = False
            for sub in c.criteria:
                r = self.eval(sub, m, level)
                if r is True:
                    return True
                any_unknown = any_unknown or r is None
            return None if any_unknown else False
        if isinstance(c, Not):
            r = self.eval(c.criterion, m, level)
            return None if r is None else not r
        if isinstance(c, All):
            return True
        if isinstance(c, Uids):
            ranges = self._uid_sets.get(id(c))
            if ranges is None:
                ranges = self._uid_sets[id(c)] = UidRanges(c)
            return m.entry.uid in ranges
        if isinstance(c, Recent):
            return (m.entry.uid in self.recent) == c.present
        if isinstance(c, ModSeq):
            return m.entry.modseq >= c.modseq  # RFC 7162 §3.1.5: "equal to or greater"
        if isinstance(c, StringCriterion):
            found = self.narrowed.get(c)
            if found is not None and m.entry.uid not in found:
                return False
        if self.exact:
            known = self.exact.get(c)
            if known is not None:
                if m.entry.uid in known[0]:
                    return True
                if m.entry.uid not in known[1]:
                    return False
        if level == Level.ENTRY or m.info is None:
            return None
        if isinstance(c, BodyId):
            return m.info.blob_id.startswith(c.prefix)
        if isinstance(c, Larger):
            return m.info.size > c.size
        if isinstance(c, Smaller):
            return m.info.size < c.size
        if isinstance(c, Date):
            return self._date(c, m)
        if isinstance(c, Older):  # RFC 5032 §3; Dovecot counts the same way
            return m.info.internal_date <= self.now - c.seconds
        if isinstance(c, Younger):
            return m.info.internal_date > self.now - c.seconds
        if isinstance(c, Subject):
            assert m.meta is not None
            return self._value(c) in fields.subject_text(m.meta)
        if isinstance(c, Address):
            assert m.meta is not None
            return self._value(c) in fields.envelope_text(m.meta, c.field)
        if level < Level.RAW:
            return None
        if isinstance(c, Body):
            return self._value(c) in m.body_text
        if isinstance(c, Text):
            value = self._value(c)
            return value in m.body_text or value in m.header_text
        assert isinstance(c, Header) and m.header is not None
        values = fields.header_values(m.header, c.name)
        if not c.value:  # RFC 9051 §6.4.4: an empty string matches any message with the field
            return bool(values)
        value = self._value(c)
        return any(value in v for v in values)

    def _date(self, c: Date, m: Candidate) -> bool:
        assert m.info is not None
        day: dt.date | None
        if c.saved:
            saved = m.info.saved
            return fields.day_matches(c.op, m.info.internal_date if saved is None else saved,
                                      c.day)
        if not c.sent:
            return fields.day_matches(c.op, m.info.internal_date, c.day)
        assert m.meta is not None
        day = fields.sent_date(m.meta)
        if day is None:
            return False
        if c.op == "before":
            return day < c.day
        if c.op == "on":
            return day == c.day
        return day >= c.day
