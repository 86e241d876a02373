"""SEARCH (RFC 3501 §6.4.4, RFC 9051 §6.4.4, RFC 7162 MODSEQ, RFC 5182 ``$``).

:func:`search` evaluates a parsed key tree (`imap.proto.search`) over the
session's view and returns the matching sequence numbers. Work grows with
what the keys need, not with the folder (see `search_eval`):

1. Flags, UIDs, sequence sets, MODSEQ, RECENT: from the entries, no store call.
2. String keys first ask the full-text index (`store.search_text`) for a
   superset of candidates, once per key, when the probe has at least 3
   characters: BODY and TEXT probe the body/all text; SUBJECT and HEADER the
   header text (HEADER name "" probes ``name:``); FROM/TO/CC/BCC their longest
   run free of address punctuation.
3. Messages still undecided are read in batches of `BATCH`: MessageInfo and the
   parse-once record (sizes, dates, SUBJECT/FROM/TO/CC/BCC from the ENVELOPE),
   then, only if still undecided, the header block (HEADER) or the whole raw
   message (BODY/TEXT), `RAW_CONCURRENCY` reads at a time.

BODY/TEXT candidates are always checked exactly on the decoded text, even when
the index answered: the contract only promises a superset, and PostgreSQL's
and SQLite's indexes fold case differently (SQLite's trigram folds simple
Unicode case, so "ÉTÉ" finds "été", but not "ß" to "ss"). The answer is the
index's candidates that pass the exact check; for a probe under 3 characters
every undecided message is read. Matching rules are in `search_fields`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from postbus.imap import fetch_meta
from postbus.imap import search_fields as fields
from postbus.imap.proto.search import (
    SearchAnd,
    SearchHeader,
    SearchKey,
    SearchNot,
    SearchOr,
    SearchString,
)
from postbus.imap.search_eval import TEXT_FIELDS, Candidate, Evaluator, Level, Needs, needs
from postbus.store.contract import Store
from postbus.store.model import MessageEntry

#: UIDs per `store.fetch_info` call.
BATCH = 500

#: Raw messages read at once for HEADER/BODY/TEXT checks.
RAW_CONCURRENCY = 16

#: Raw messages above this size have their text extracted in the executor.
INLINE_TEXT_LIMIT = 256 * 1024

#: Entries judged between two yields to the event loop (about 5 ms of work).
ENTRY_SLICE = 5000


async def search(
    store: Store,
    mailbox_id: int,
    entries: Sequence[MessageEntry],
    key: SearchKey,
    *,
    saved: Sequence[int] | None = None,
    recent_uids: frozenset[int] = frozenset(),
) -> list[int]:
    """Sequence numbers (ascending) of the messages in `entries` that match `key`."""
    if not entries:
        return []
    evaluator = Evaluator(
        count=len(entries), max_uid=entries[-1].uid, saved=frozenset(saved or ()),
        recent=recent_uids, narrowed=await _narrow(store, mailbox_id, key),
    )
    matched: list[int] = []
    undecided: list[Candidate] = []
    for seq, entry in enumerate(entries, 1):
        if seq % ENTRY_SLICE == 0:
            await asyncio.sleep(0)  # a 50,000-message view must not hold the loop
        candidate = Candidate(seq, entry)
        result = evaluator.eval(key, candidate, Level.ENTRY)
        if result:
            matched.append(seq)
        elif result is None:
            undecided.append(candidate)
    need = needs(key)
    for start in range(0, len(undecided), BATCH):
        batch = undecided[start:start + BATCH]
        matched += await _read_and_match(store, mailbox_id, batch, key, evaluator, need)
    matched.sort()
    return matched


async def _narrow(store: Store, mailbox_id: int, key: SearchKey) -> dict[SearchKey, frozenset[int]]:
    """The index's candidate UIDs for each string key it can narrow."""
    narrowed: dict[SearchKey, frozenset[int]] = {}
    stack = [key]
    while stack:
        k = stack.pop()
        if isinstance(k, SearchNot):
            stack.append(k.key)
        elif isinstance(k, SearchOr):
            stack += (k.left, k.right)
        elif isinstance(k, SearchAnd):
            stack += k.keys
        elif isinstance(k, SearchString | SearchHeader) and k not in narrowed:
            probe = _probe(k)
            if probe is not None:
                found = await store.search_text(mailbox_id, probe[0], probe[1])
                if found is not None:
                    narrowed[k] = frozenset(found)
    return narrowed


def _probe(key: SearchString | SearchHeader) -> tuple[str, str] | None:
    """(index field, text) to ask the index for, or None when it cannot narrow."""
    if isinstance(key, SearchHeader):
        text = key.value if key.value else f"{key.name}:"
        return ("header", text) if len(text) >= fields.MIN_INDEX_PROBE else None
    if key.field in TEXT_FIELDS:
        text = fields.collapse(key.value)
        field = "body" if key.field == "BODY" else "text"
    elif key.field == "SUBJECT":
        text, field = key.value, "header"
    else:
        probe = fields.address_probe(key.value)
        if probe is None:
            return None
        text, field = probe, "header"
    return (field, text) if len(text) >= fields.MIN_INDEX_PROBE else None


async def _read_and_match(
    store: Store, mailbox_id: int, batch: list[Candidate], key: SearchKey,
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
            c.meta = await fetch_meta.load(store, c.info)
        result = evaluator.eval(key, c, Level.INFO)
        if result:
            matched.append(c.seq)
        elif result is None:
            deeper.append(c)
    for start in range(0, len(deeper), RAW_CONCURRENCY):
        group = deeper[start:start + RAW_CONCURRENCY]
        await asyncio.gather(*(_load_raw(store, c, need) for c in group))
        matched += [c.seq for c in group if evaluator.eval(key, c, Level.RAW)]
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
        loop = asyncio.get_running_loop()
        c.header_text, c.body_text = await loop.run_in_executor(
            None, fields.message_text, raw, meta)
