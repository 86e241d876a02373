"""Shared pieces of the embedded store's SQL: column lists, row-to-record
conversion, and how flags and recipient lists are stored as text.

Flags are stored space-separated and sorted (IMAP flags are atoms: no spaces),
recipient lists as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from postbus.store.model import Account, Mailbox, QueueItem, QueueRecipient

# Rows read or written per statement when a call names many UIDs: under
# SQLite's default limit of host parameters.
UID_CHUNK = 500

ACCOUNT_COLS = (
    "id, address, domain_id, password_hash, quota_bytes, enabled, used_bytes, used_messages,"
    " last_login")
MAILBOX_COLS = (
    "id, account_id, name, special_use, uid_validity, uid_next, highest_modseq, object_id")
COUNTER_COLS = "messages, unseen, size, deleted, deleted_size"
# Adds a `counters.Counts` delta (its `values()`) to a folder row.
ADD_COUNTS = (
    "messages = messages + ?, unseen = unseen + ?, size = size + ?, deleted = deleted + ?,"
    " deleted_size = deleted_size + ?"
)
QUEUE_COLS = (
    "id, sender, blob_id, size, created, next_attempt, attempts, recipients, envid, ret,"
    " delay_notified, claimed_by, claimed_until"
)


def flags_text(flags: Iterable[str]) -> str:
    return " ".join(sorted(set(flags)))


def flags_set(text: str) -> frozenset[str]:
    return frozenset(text.split()) if text else frozenset()


def account(row: Sequence[Any]) -> Account:
    return Account(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7], row[8])


def mailbox(row: Sequence[Any]) -> Mailbox:
    return Mailbox(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7])


def queue_item(row: Sequence[Any]) -> QueueItem:
    recipients = tuple(QueueRecipient(**r) for r in json.loads(row[7]))
    return QueueItem(
        id=row[0], sender=row[1], blob_id=row[2], size=row[3], created=row[4],
        next_attempt=row[5], attempts=row[6], recipients=recipients, envid=row[8], ret=row[9],
        delay_notified=bool(row[10]), claimed_by=row[11], claimed_until=row[12],
    )


def recipients_json(recipients: Sequence[QueueRecipient]) -> str:
    return json.dumps([
        {"address": r.address, "status": r.status, "attempts": r.attempts,
         "last_reply": r.last_reply, "notify": r.notify, "orcpt": r.orcpt}
        for r in recipients
    ])


def chunks(uids: Iterable[int]) -> Iterable[list[int]]:
    """The distinct UIDs, ascending, in lists of at most UID_CHUNK."""
    ordered = sorted(set(uids))
    for start in range(0, len(ordered), UID_CHUNK):
        yield ordered[start:start + UID_CHUNK]


def marks(chunk: Sequence[Any]) -> str:
    """Placeholders for an IN list of len(chunk) values."""
    return ",".join("?" * len(chunk))


def like_prefix(prefix: str) -> str:
    """A LIKE pattern (ESCAPE '\\') matching names that start with `prefix`."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
