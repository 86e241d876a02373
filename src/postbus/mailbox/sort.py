"""Sort messages by `query.SortKey`s: RFC 5256 §3 SORT, with RFC 5957 §3 display keys.

The keys come from the parse-once record's `sort_*` fields, computed at
delivery (`postbus.message.sortkeys`): base subject (RFC 5256 §2.1), first
mailbox of From/To/Cc, display names, the Date header as UTC seconds.

From `STORED_KEYS_MIN` messages on, the store orders the folder in one query
from the same keys stored beside the record (`mailbox.keys`, `Store.sort_uids`),
and the answer is filtered to the messages asked for; records without stored
keys get them first. The folder's order is kept (`ORDER_CACHE_ENTRIES` per
process) while its UIDNEXT and UIDVALIDITY stand still: keys never change and
an expunged message drops out when filtering. Below that, or for a message whose keys the store cannot
hold, only the messages to order are read, in batches of `BATCH`; bodies never.
Both ways give the same order (tests/unit/imap_search/test_stored_keys_property.py).

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

from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from postbus.mailbox import record
from postbus.mailbox.keys import KEYS_VERSION, SORT_FIELDS, backfill, current_sort_keys
from postbus.mailbox.query import SortKey
from postbus.message import MessageMeta
from postbus.message.sortkeys import SORT_KEYS_VERSION
from postbus.store.contract import Store
from postbus.store.model import MessageInfo

#: UIDs per `store.fetch_info` call.
BATCH = 500

#: Messages to order from which the store orders them from stored keys (one
#: query over the folder) rather than from each message's record.
STORED_KEYS_MIN = 1000

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


async def sort(
    store: Store, mailbox_id: int, uids: Iterable[int], keys: Sequence[SortKey],
) -> list[int]:
    """The `uids` in the order `keys` define (ascending UID without keys)."""
    ordered_uids = sorted(set(uids))
    if not ordered_uids or not keys:
        return ordered_uids
    if len(ordered_uids) >= STORED_KEYS_MIN and all(k.field in SORT_FIELDS for k in keys):
        ordered = await sort_stored(store, mailbox_id, ordered_uids, keys)
        if ordered is not None:
            return ordered
    return await sort_exact(store, mailbox_id, ordered_uids, keys)


async def sort_stored(
    store: Store, mailbox_id: int, ordered_uids: list[int], keys: Sequence[SortKey],
) -> list[int] | None:
    """The `ordered_uids` (ascending) ordered by the store from stored keys
    (`mailbox.keys`), or None when some of them have none it can hold.

    One query orders the whole folder; messages whose keys are missing get them
    stored first (`keys.backfill`), once."""
    wanted = set(ordered_uids)
    asked = tuple((k.field, k.reverse) for k in keys)
    # Read before the query: a message added meanwhile moves UIDNEXT past the stamp.
    folder = (await store.mailbox_status(mailbox_id)).mailbox
    stamp = (folder.uid_validity, folder.uid_next)
    cached = _ORDERS.get((mailbox_id, asked))
    if cached is not None and cached[0] == stamp:
        _ORDERS.move_to_end((mailbox_id, asked))
        ordered: Sequence[int] = cached[1]
    else:
        ordered, unknown = await store.sort_uids(mailbox_id, asked, KEYS_VERSION)
        missing = wanted.intersection(unknown)
        if missing:
            await backfill(store, mailbox_id, sorted(missing))
            ordered, unknown = await store.sort_uids(mailbox_id, asked, KEYS_VERSION)
            if wanted.intersection(unknown):
                return None
        if not unknown:
            _remember((mailbox_id, asked), stamp, ordered)
    result = [u for u in ordered if u in wanted]
    if len(result) < len(ordered_uids):
        # Messages expunged meanwhile keep their place at the end, by UID.
        present = set(result)
        result += [u for u in ordered_uids if u not in present]
    return result


# (folder, keys) -> ((UIDVALIDITY, UIDNEXT) when ordered, every UID of the folder in
# order). Stored keys never change, and UIDs only grow: while UIDNEXT stands still no
# message was added, and the messages expunged since drop out when filtering.
_ORDERS: OrderedDict[tuple[int, tuple[tuple[str, bool], ...]],
                     tuple[tuple[int, int], array[int]]] = OrderedDict()

#: Folder orders kept per process (an order costs 4 octets per message).
ORDER_CACHE_ENTRIES = 16


def _remember(key: tuple[int, tuple[tuple[str, bool], ...]], stamp: tuple[int, int],
              ordered: Sequence[int]) -> None:
    if ORDER_CACHE_ENTRIES <= 0:
        return
    _ORDERS[key] = (stamp, array("I", ordered))  # UIDs are 32-bit (RFC 9051 §2.3.1.1)
    _ORDERS.move_to_end(key)
    while len(_ORDERS) > ORDER_CACHE_ENTRIES:
        _ORDERS.popitem(last=False)


async def sort_exact(
    store: Store, mailbox_id: int, ordered_uids: list[int], keys: Sequence[SortKey],
) -> list[int]:
    """The `ordered_uids` (ascending) ordered from each message's record."""
    meta_needed = any(k.field in _NEEDS_META for k in keys)
    values: dict[int, list[SortValue]] = {}
    for start in range(0, len(ordered_uids), BATCH):
        batch = ordered_uids[start:start + BATCH]
        for info in await store.fetch_info(mailbox_id, batch):
            meta = await record.load(store, info) if meta_needed else None
            if meta is not None and meta.sort_keys_version < SORT_KEYS_VERSION:
                meta = current_sort_keys(meta)
            values[info.uid] = [_key(k.field, info, meta) for k in keys]
    # Messages expunged meanwhile keep their place at the end, by UID.
    ordered = [u for u in ordered_uids if u in values]
    # Stable sorts, last key first: ties stay in ascending UID order, also under
    # reverse (Python's reverse sort keeps equal items in order).
    for index in range(len(keys) - 1, -1, -1):
        column = {u: v[index] for u, v in values.items()}
        ordered.sort(key=column.__getitem__, reverse=keys[index].reverse)
    return ordered + [u for u in ordered_uids if u not in values]
