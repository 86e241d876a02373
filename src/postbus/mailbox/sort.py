"""Sort messages by `query.SortKey`s: RFC 5256 §3 SORT, with RFC 5957 §3 display keys.

The keys come from the parse-once record's `sort_*` fields, computed at
delivery (`postbus.message.sortkeys`): base subject (RFC 5256 §2.1), first
mailbox of From/To/Cc, display names, the Date header as UTC seconds. Only the
messages to order are read, in batches of `BATCH`; bodies never.

* arrival: INTERNALDATE. date: the Date header, or INTERNALDATE when it has
  none or it cannot be parsed (RFC 5256 §3, "sent date").
* size: RFC822.SIZE. cc, from, to, subject, display_from, display_to: the
  strings in their i;unicode-casemap form (RFC 5051), compared by code point;
  a message without the field sorts as the empty string, first. A record whose
  keys older rules made has them recomputed from its envelope.
* `reverse` reverses the key it is on; every tie, whatever the keys, is
  broken by ascending UID, which is ascending message number (RFC 5256 §3).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from postbus.mailbox import record
from postbus.mailbox.query import SortKey
from postbus.message import MessageMeta
from postbus.message.sortkeys import SORT_KEYS_VERSION, sort_keys
from postbus.store.contract import Store
from postbus.store.model import MessageInfo

#: UIDs per `store.fetch_info` call.
BATCH = 500

SortValue = str | float | int

# key -> the MessageMeta field holding it
_META_FIELDS = {
    "cc": "sort_cc",
    "from": "sort_from",
    "to": "sort_to",
    "subject": "sort_subject",
    "display_from": "sort_display_from",
    "display_to": "sort_display_to",
}
_NEEDS_META = frozenset(_META_FIELDS) | {"date"}


def _key(field: str, info: MessageInfo, meta: MessageMeta | None) -> SortValue:
    if field == "arrival":
        return info.internal_date
    if field == "size":
        return info.size
    assert meta is not None
    if field == "date":
        return meta.sort_date if meta.sort_date is not None else info.internal_date
    value: str = getattr(meta, _META_FIELDS[field])
    return value


def _current_keys(meta: MessageMeta) -> MessageMeta:
    """`meta` with its string keys made by today's rules (`message.sortkeys`)."""
    keys = sort_keys(meta.envelope)
    return msgspec.structs.replace(
        meta, sort_subject=keys.subject, sort_from=keys.from_, sort_to=keys.to,
        sort_cc=keys.cc, sort_display_from=keys.display_from,
        sort_display_to=keys.display_to, sort_keys_version=SORT_KEYS_VERSION)


async def sort(
    store: Store, mailbox_id: int, uids: Iterable[int], keys: Sequence[SortKey],
) -> list[int]:
    """The `uids` in the order `keys` define (ascending UID without keys)."""
    ordered_uids = sorted(set(uids))
    if not ordered_uids or not keys:
        return ordered_uids
    meta_needed = any(k.field in _NEEDS_META for k in keys)
    values: dict[int, list[SortValue]] = {}
    for start in range(0, len(ordered_uids), BATCH):
        batch = ordered_uids[start:start + BATCH]
        for info in await store.fetch_info(mailbox_id, batch):
            meta = await record.load(store, info) if meta_needed else None
            if meta is not None and meta.sort_keys_version < SORT_KEYS_VERSION:
                meta = _current_keys(meta)
            values[info.uid] = [_key(k.field, info, meta) for k in keys]
    # Messages expunged meanwhile keep their place at the end, by UID.
    ordered = [u for u in ordered_uids if u in values]
    # Stable sorts, last key first: ties stay in ascending UID order, also under
    # reverse (Python's reverse sort keeps equal items in order).
    for index in range(len(keys) - 1, -1, -1):
        column = {u: v[index] for u, v in values.items()}
        ordered.sort(key=column.__getitem__, reverse=keys[index].reverse)
    return ordered + [u for u in ordered_uids if u not in values]
