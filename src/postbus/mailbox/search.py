"""Search a folder with a criterion tree (`mailbox.query`): RFC 9051 §6.4.4 matching.

:func:`search` evaluates the tree over the entries of a view and returns the
matching UIDs. Work grows with what the criteria need, not with the folder
(see `search_eval`):

1. Flags, UIDs, mod-sequences, \\Recent: from the entries, no store call.
2. String criteria first ask the full-text index (`store.search_text`) for a
   superset of candidates, once per criterion, when the probe has at least 3
   characters: Body and Text probe the body/all text; Subject and Header the
   header text (Header with an empty value probes ``name:``); addresses their
   longest run of word characters (`search_fields.word_probe`; the index holds
   the envelope's addresses too).
3. Messages still undecided are read in batches of `BATCH`: MessageInfo and the
   parse-once record (sizes, dates, Subject and addresses from the ENVELOPE),
   then, only if still undecided, the header block (Header) or the whole raw
   message (Body/Text), `RAW_CONCURRENCY` reads at a time.

Body/Text candidates are always checked exactly on the decoded text, even when
the index answered: the contract only promises a superset, and PostgreSQL's
and SQLite's indexes fold case differently (SQLite's trigram folds simple
Unicode case, so "ÉTÉ" finds "été", but not "ß" to "ss"). The answer is the
index's candidates that pass the exact check; for a probe under 3 characters
every undecided message is read. Matching rules are in `search_fields`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Mapping, Sequence

from postbus import executor
from postbus.mailbox import keys, record
from postbus.mailbox import search_fields as fields
from postbus.mailbox.entrylist import EntryList
from postbus.mailbox.query import (
    Address,
    All,
    And,
    Body,
    Criterion,
    Date,
    Flag,
    Header,
    Not,
    Or,
    Recent,
    StringCriterion,
    Subject,
    Text,
    Uids,
)
from postbus.mailbox.search_eval import (
    Candidate,
    Evaluator,
    Level,
    Needs,
    UidRanges,
    children,
    needs,
)
from postbus.store.contract import Store
from postbus.store.model import MessageEntry

#: UIDs per `store.fetch_info` call.
BATCH = 500

#: Raw messages read at once for Header/Body/Text checks.
RAW_CONCURRENCY = 16

#: Raw messages above this size have their text extracted in the executor.
INLINE_TEXT_LIMIT = 256 * 1024

#: Entries judged between two yields to the event loop (about 5 ms of work).
ENTRY_SLICE = 5000

#: Undecided messages from which Subject, From/To/Cc/Bcc and date criteria are
#: asked of the store's keys (one query over the folder) rather than judged one
#: message at a time.
STORED_KEYS_MIN = 1000


async def search(
    store: Store,
    mailbox_id: int,
    entries: Sequence[MessageEntry],
    criterion: Criterion,
    *,
    recent: Collection[int] = frozenset(),
    now: float | None = None,
) -> list[int]:
    """UIDs (ascending) of the messages among `entries` (ascending UID) that match.

    `recent` holds the UIDs that count as \\Recent for `query.Recent`; `now` is
    the time `query.Older` and `query.Younger` count back from (the wall clock
    when None).
    """
    if not entries:
        return []
    if isinstance(criterion, All):  # SORT ... ALL, SEARCH ALL: nothing to judge
        return list(entries.uids) if isinstance(entries, EntryList) else [e.uid for e in entries]
    if len(entries) >= STORED_KEYS_MIN and _by_sets_possible(criterion):
        found = await _by_sets(store, mailbox_id, entries, criterion, recent)
        if found is not None:
            return found
    evaluator = Evaluator(recent=recent, narrowed={}, now=time.time() if now is None else now)
    stored = _has_stored_leaves(criterion)
    if not stored:
        # Nothing the stored keys answer: the index narrows before the one pass.
        evaluator.narrowed = await _narrow(store, mailbox_id, criterion)
        within = _bound(criterion, evaluator.narrowed)
        if within is not None:  # e.g. TEXT word: only the index's candidates can match
            entries = [e for e in entries if e.uid in within]
    matched, undecided = await _judge(evaluator, criterion, [Candidate(e) for e in entries])
    if stored and undecided:
        # What the entries left open: from the store's keys when that is most of a
        # large folder, from the full-text index otherwise (the same answers, see
        # `mailbox.keys`); then again from the entries, so that Kleene logic decides.
        if len(undecided) >= STORED_KEYS_MIN:
            evaluator.exact = await _exact(store, mailbox_id, criterion,
                                           [c.entry.uid for c in undecided])
        evaluator.narrowed = await _narrow(store, mailbox_id, criterion, skip=evaluator.exact)
        if evaluator.exact or evaluator.narrowed:
            more, undecided = await _judge(evaluator, criterion, undecided)
            matched += more
    need = needs(criterion)
    for start in range(0, len(undecided), BATCH):
        batch = undecided[start:start + BATCH]
        matched += await _read_and_match(store, mailbox_id, batch, criterion, evaluator, need)
    matched.sort()
    return matched


_SET_LEAVES = (All, Flag, Uids, Recent, Subject, Address, Date)
_STORED_LEAVES = (Subject, Address, Date)


def _by_sets_possible(criterion: Criterion) -> bool:
    """Whether `_by_sets` can answer the tree: only criteria the entries or the
    stored keys decide (SORT's ALL, UNSEEN SINCE d, ...)."""
    stack = [criterion]
    while stack:
        c = stack.pop()
        if isinstance(c, And | Or | Not):
            stack += children(c)
        elif not isinstance(c, _SET_LEAVES):
            return False
    return True


def _has_stored_leaves(criterion: Criterion) -> bool:
    stack = [criterion]
    while stack:
        c = stack.pop()
        if isinstance(c, _STORED_LEAVES):
            return True
        stack += children(c)
    return False


async def _by_sets(
    store: Store, mailbox_id: int, entries: Sequence[MessageEntry], criterion: Criterion,
    recent: Collection[int],
) -> list[int] | None:
    """The answer as set algebra over UID sets: each stored-key criterion is one
    store query over the folder (`_exact`), flags and UIDs come from the entries,
    And/Or/Not are intersection, union and complement within the entries (two-valued:
    every leaf is decided). None when some message has no stored keys the store
    can hold: the caller then judges message by message."""
    listed = entries.uids if isinstance(entries, EntryList) else [e.uid for e in entries]
    universe = set(listed)
    exact = await _exact(store, mailbox_id, criterion, listed)
    if any(not universe.isdisjoint(unknown) for _, unknown in exact.values()):
        return None
    stack = [criterion]
    while stack:
        c = stack.pop()
        stack += children(c)
        if isinstance(c, _STORED_LEAVES) and c not in exact:
            return None

    def flagged(name: str, present: bool) -> set[int]:
        folded = name.lower()
        test = (lambda flags: (folded in {f.lower() for f in flags}) == present)  # noqa: E731
        if isinstance(entries, EntryList):
            return set(entries.uids_where(test))
        return {e.uid for e in entries if test(e.flags)}

    def value(c: Criterion) -> set[int]:
        if isinstance(c, And):
            result = universe
            for sub in c.criteria:
                result = result & value(sub)
            return result
        if isinstance(c, Or):
            result = set()
            for sub in c.criteria:
                result |= value(sub)
            return result
        if isinstance(c, Not):
            return universe - value(c.criterion)
        if isinstance(c, All):
            return universe
        if isinstance(c, Flag):
            return flagged(c.name, c.present)
        if isinstance(c, Uids):
            ranges = UidRanges(c)
            return {u for u in listed if u in ranges}
        if isinstance(c, Recent):
            return {u for u in listed if (u in recent) == c.present}
        return universe.intersection(exact[c][0])

    return sorted(value(criterion))


async def _judge(evaluator: Evaluator, criterion: Criterion, candidates: list[Candidate],
                 ) -> tuple[list[int], list[Candidate]]:
    """(UIDs that match, candidates still undecided) from what the entries hold."""
    matched: list[int] = []
    undecided: list[Candidate] = []
    for n, candidate in enumerate(candidates, 1):
        if n % ENTRY_SLICE == 0:
            await asyncio.sleep(0)  # a 50,000-message view must not hold the loop
        result = evaluator.eval(criterion, candidate, Level.ENTRY)
        if result:
            matched.append(candidate.entry.uid)
        elif result is None:
            undecided.append(candidate)
    return matched, undecided


async def _exact(
    store: Store, mailbox_id: int, criterion: Criterion, undecided: Sequence[int],
) -> dict[Criterion, tuple[Collection[int], Collection[int]]]:
    """The store's answers from stored keys (`mailbox.keys`) for the criteria it
    can judge: Subject, From/To/Cc/Bcc and the dates. Messages whose keys are
    missing get them stored now (`keys.backfill`), so they are asked about once."""
    exact: dict[Criterion, tuple[Collection[int], Collection[int]]] = {}
    stack = [criterion]
    backfilled = False
    while stack:
        c = stack.pop()
        stack += children(c)
        if c in exact or not isinstance(c, Subject | Address | Date):
            continue
        if isinstance(c, Subject | Address) and not keys.storable(fields.fold(c.value)):
            continue  # no stored key holds it (NUL, lone surrogate): judged the exact way
        for _ in range(2):
            if isinstance(c, Subject):
                answer = await store.match_keys(mailbox_id, "subject", fields.fold(c.value),
                                                keys.KEYS_VERSION)
            elif isinstance(c, Address):
                answer = await store.match_keys(mailbox_id, c.field, fields.fold(c.value),
                                                keys.KEYS_VERSION)
            else:
                field = "saved" if c.saved else "sent" if c.sent else "arrival"
                answer = await store.match_days(mailbox_id, field, c.op, c.day.toordinal(),
                                                keys.KEYS_VERSION)
            if not answer[1] or backfilled:
                break
            await keys.backfill(store, mailbox_id, sorted(answer[1].intersection(undecided)))
            backfilled = True
        exact[c] = answer
    return exact


async def _narrow(
    store: Store, mailbox_id: int, criterion: Criterion,
    skip: Collection[Criterion] = frozenset(),
) -> dict[StringCriterion, frozenset[int]]:
    """The index's candidate UIDs for each string criterion it can narrow."""
    narrowed: dict[StringCriterion, frozenset[int]] = {}
    stack = [criterion]
    while stack:
        c = stack.pop()
        stack += children(c)
        if isinstance(c, StringCriterion) and c not in narrowed and c not in skip:
            probe = _probe(c)
            if probe is not None:
                found = await store.search_text(mailbox_id, probe[0], probe[1])
                if found is not None:
                    narrowed[c] = frozenset(found)
    return narrowed


def _bound(criterion: Criterion, narrowed: Mapping[StringCriterion, frozenset[int]]
           ) -> frozenset[int] | None:
    """UIDs outside which `criterion` is false for certain, from the index's
    candidates (a narrowed criterion, an AND with one, an OR of such), or None."""
    if isinstance(criterion, StringCriterion):
        return narrowed.get(criterion)
    if isinstance(criterion, And):
        found = [b for b in (_bound(c, narrowed) for c in criterion.criteria) if b is not None]
        return frozenset.intersection(*found) if found else None
    if isinstance(criterion, Or):
        union: frozenset[int] = frozenset()
        for c in criterion.criteria:
            bound = _bound(c, narrowed)
            if bound is None:
                return None
            union |= bound
        return union
    return None


def _probe(c: StringCriterion) -> tuple[str, str] | None:
    """(index field, text) to ask the index for, or None when it cannot narrow."""
    if isinstance(c, Body | Text):
        text = fields.collapse(c.value)
        field = "body" if isinstance(c, Body) else "text"
    elif isinstance(c, Header):
        # The index holds each field as "Name: decoded value", as the exact check reads it.
        text = c.value if c.value else f"{c.name}:"
        field = "header"
    elif isinstance(c, Subject):
        text, field = c.value, "header"
    else:
        # Addresses match the ENVELOPE, which the raw header may spell otherwise: a
        # run of word characters lies inside one token whatever the spelling.
        assert isinstance(c, Address)
        probe = fields.word_probe(c.value)
        if probe is None:
            return None
        text, field = probe, "header"
    return (field, text) if len(text) >= fields.MIN_INDEX_PROBE else None


async def _read_and_match(
    store: Store, mailbox_id: int, batch: list[Candidate], criterion: Criterion,
    evaluator: Evaluator, need: Needs,
) -> list[int]:
    infos = {i.uid: i for i in await store.fetch_info(mailbox_id, [c.entry.uid for c in batch])}
    matched: list[int] = []
    deeper: list[Candidate] = []
    for c in batch:
        c.info = infos.get(c.entry.uid)
        if c.info is None:
            continue  # expunged meanwhile: it matches nothing
        if need.meta:
            c.meta = await record.load(store, c.info)
        result = evaluator.eval(criterion, c, Level.INFO)
        if result:
            matched.append(c.entry.uid)
        elif result is None:
            deeper.append(c)
    for start in range(0, len(deeper), RAW_CONCURRENCY):
        group = deeper[start:start + RAW_CONCURRENCY]
        await asyncio.gather(*(_load_raw(store, c, need) for c in group))
        matched += [c.entry.uid for c in group if evaluator.eval(criterion, c, Level.RAW)]
        for c in group:  # keep memory to one group of raw texts
            c.header, c.header_text, c.body_text = None, "", ""
    return matched


async def _load_raw(store: Store, c: Candidate, need: Needs) -> None:
    assert c.info is not None and c.meta is not None
    meta = c.meta
    if not need.text:
        c.header = await store.read_blob(c.info.blob_id, 0, meta.header_end)
        return
    raw = await store.read_blob(c.info.blob_id)
    c.header = raw[:meta.header_end]
    if len(raw) <= INLINE_TEXT_LIMIT:
        c.header_text, c.body_text = fields.message_text(raw, meta)
    else:
        c.header_text, c.body_text = await executor.run(
            executor.CPU, fields.message_text, raw, meta)
