"""The stored SORT and SEARCH keys of a message (`store.model.MessageKeys`).

Large-folder commands compare these in the store, one query for the folder,
instead of decoding each message's parse-once record in Python. They are made
here, by the very functions the message-by-message path uses (`search_fields`,
`message.sortkeys`), so both paths give the same answer:

* subject, from_, to, cc, bcc: `search_fields.subject_text` / `envelope_text`,
  matched by substring (SEARCH SUBJECT/FROM/TO/CC/BCC, RFC 9051 §6.4.4);
* sort_*: the RFC 5256/5957 keys of the record, recomputed when older rules
  made them (`sort.py`), compared by code point;
* sort_date: the Date header as UTC seconds (SORT DATE falls back to INTERNALDATE);
* sent_day: `search_fields.sent_date` as an ordinal (SENTBEFORE/SENTON/SENTSINCE).

Records delivered before the keys existed have none; SORT and SEARCH judge them
message by message and store their keys then (`KEYS_VERSION` older than today's
counts as none). A key string the store cannot hold (NUL, or a lone surrogate
that UTF-8 cannot encode) leaves the message without keys: it is judged the
exact way every time.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from postbus.mailbox import record
from postbus.mailbox import search_fields as fields
from postbus.message import FORMAT_VERSION, MessageMeta
from postbus.message.sortkeys import SORT_KEYS_VERSION, sort_keys
from postbus.store.contract import Store
from postbus.store.model import MessageKeys

#: The rules of this module; bumped whenever a key changes meaning here.
RULES_VERSION = 1

#: What stored keys must carry to count: made by this parser, these sort rules
#: and these rules. Keys of any other version are ignored and remade.
KEYS_VERSION = (FORMAT_VERSION * 100 + SORT_KEYS_VERSION) * 100 + RULES_VERSION

#: UIDs per `store.fetch_info` call while backfilling.
BATCH = 500

#: Key fields SORT can take from the store (`query.SortKey.field` names).
SORT_FIELDS = frozenset(("arrival", "size", "date", "subject", "from", "to", "cc",
                         "display_from", "display_to"))


def current_sort_keys(meta: MessageMeta) -> MessageMeta:
    """`meta` with its string sort keys made by today's rules (`message.sortkeys`)."""
    if meta.sort_keys_version >= SORT_KEYS_VERSION:
        return meta
    keys = sort_keys(meta.envelope)
    return msgspec.structs.replace(
        meta, sort_subject=keys.subject, sort_from=keys.from_, sort_to=keys.to,
        sort_cc=keys.cc, sort_display_from=keys.display_from,
        sort_display_to=keys.display_to, sort_keys_version=SORT_KEYS_VERSION)


def storable(text: str) -> bool:
    """Whether the store can hold and compare `text` (no NUL, valid UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def message_keys(meta: MessageMeta) -> MessageKeys | None:
    """The keys of the record `meta`, or None when the store could not hold them."""
    meta = current_sort_keys(meta)
    sent = fields.sent_date(meta)
    keys = MessageKeys(
        version=KEYS_VERSION,
        subject=fields.subject_text(meta),
        from_=fields.envelope_text(meta, "from"),
        to=fields.envelope_text(meta, "to"),
        cc=fields.envelope_text(meta, "cc"),
        bcc=fields.envelope_text(meta, "bcc"),
        sort_subject=meta.sort_subject,
        sort_from=meta.sort_from,
        sort_to=meta.sort_to,
        sort_cc=meta.sort_cc,
        sort_display_from=meta.sort_display_from,
        sort_display_to=meta.sort_display_to,
        sort_date=meta.sort_date,
        sent_day=None if sent is None else sent.toordinal(),
    )
    strings = (keys.subject, keys.from_, keys.to, keys.cc, keys.bcc, keys.sort_subject,
               keys.sort_from, keys.sort_to, keys.sort_cc, keys.sort_display_from,
               keys.sort_display_to)
    if not all(storable(s) for s in strings):
        return None
    if keys.sort_date is not None and keys.sort_date != keys.sort_date:  # NaN
        return None
    return keys


async def backfill(store: Store, mailbox_id: int, uids: Sequence[int]) -> None:
    """Makes and stores the keys of the messages `uids` (records without keys of
    `KEYS_VERSION`: delivered before keys existed, or under older rules)."""
    for start in range(0, len(uids), BATCH):
        infos = await store.fetch_info(mailbox_id, uids[start:start + BATCH])
        made: dict[str, MessageKeys] = {}
        for info in infos:
            if info.blob_id not in made:
                keys = message_keys(await record.load(store, info))
                if keys is not None:
                    made[info.blob_id] = keys
        await store.set_message_keys(list(made.items()))
