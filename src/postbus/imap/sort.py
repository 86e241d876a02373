"""SORT (RFC 5256 §3) with DISPLAYFROM and DISPLAYTO (RFC 5957 §3).

The keys come from the parse-once record's `sort_*` fields, computed at
delivery (`postbus.message.sortkeys`): base subject (RFC 5256 §2.1), first
mailbox of From/To/Cc, display names, the Date header as UTC seconds. Only the
matched messages are read, in batches of `BATCH`; bodies never.

* ARRIVAL: INTERNALDATE. DATE: the Date header, or INTERNALDATE when it has
  none or it cannot be parsed (RFC 5256 §3, "sent date").
* SIZE: RFC822.SIZE. CC, FROM, TO, SUBJECT, DISPLAYFROM, DISPLAYTO: the
  folded strings; a message without the field sorts as the empty string, first.
* REVERSE reverses the criterion it precedes; every tie, whatever the
  criteria, is broken by ascending sequence number (RFC 5256 §3).
"""

from __future__ import annotations

from collections.abc import Sequence

from postbus.imap import fetch_meta
from postbus.imap.proto.commands import SortCriterion
from postbus.message import MessageMeta
from postbus.store.contract import Store
from postbus.store.model import MessageEntry, MessageInfo

#: UIDs per `store.fetch_info` call.
BATCH = 500

SortValue = str | float | int

# criterion -> the MessageMeta field holding its key
_META_FIELDS = {
    "CC": "sort_cc",
    "FROM": "sort_from",
    "TO": "sort_to",
    "SUBJECT": "sort_subject",
    "DISPLAYFROM": "sort_display_from",
    "DISPLAYTO": "sort_display_to",
}
_NEEDS_META = frozenset(_META_FIELDS) | {"DATE"}


def _key(name: str, info: MessageInfo, meta: MessageMeta | None) -> SortValue:
    if name == "ARRIVAL":
        return info.internal_date
    if name == "SIZE":
        return info.size
    assert meta is not None
    if name == "DATE":
        return meta.sort_date if meta.sort_date is not None else info.internal_date
    value: str = getattr(meta, _META_FIELDS[name])
    return value


async def sort(
    store: Store,
    mailbox_id: int,
    entries: Sequence[MessageEntry],
    criteria: Sequence[SortCriterion],
    matches: Sequence[int],
) -> list[int]:
    """The sequence numbers `matches` (of `entries`) in the order `criteria` define."""
    seqs = sorted(set(n for n in matches if 1 <= n <= len(entries)))
    if not seqs or not criteria:
        return seqs
    meta_needed = any(c.key in _NEEDS_META for c in criteria)
    keys: dict[int, list[SortValue]] = {}
    for start in range(0, len(seqs), BATCH):
        batch = seqs[start:start + BATCH]
        by_uid = {entries[n - 1].uid: n for n in batch}
        for info in await store.fetch_info(mailbox_id, list(by_uid)):
            meta = await fetch_meta.load(store, info) if meta_needed else None
            keys[by_uid[info.uid]] = [_key(c.key, info, meta) for c in criteria]
    # Messages expunged meanwhile keep their place at the end, by sequence number.
    ordered = [n for n in seqs if n in keys]
    # Stable sorts, last criterion first: ties stay in ascending sequence order,
    # also under REVERSE (Python's reverse sort keeps equal items in order).
    for index in range(len(criteria) - 1, -1, -1):
        column = {n: values[index] for n, values in keys.items()}
        ordered.sort(key=column.__getitem__, reverse=criteria[index].reverse)
    return ordered + [n for n in seqs if n not in keys]

