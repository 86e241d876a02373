"""Shared pieces of the PostgreSQL backend's SQL: column lists, row-to-record
conversion, the lock order, and the text clean-up PostgreSQL needs.

The lock order, kept by every write so that writers never deadlock: account
rows, then folder rows (each set ascending by id), then message rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from postbus.store.model import Account, Mailbox, MessageEntry, QueueItem, QueueRecipient
from postbus.store.postgres.db import Conn

ACCOUNT_COLS = (
    "id, address, domain_id, password_hash, quota_bytes, enabled, used_bytes, used_messages,"
    " last_login"
)
MAILBOX_COLS = (
    "id, account_id, name, special_use, uid_validity, uid_next, highest_modseq, object_id")
COUNTER_COLS = "messages, unseen, size, deleted, deleted_size"
QUEUE_COLS = (
    "id, sender, blob_id, size, created, next_attempt, attempts, recipients, envid, ret,"
    " delay_notified, claimed_by, claimed_until"
)


def account(row: Sequence[Any]) -> Account:
    return Account(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8])


def mailbox(row: Sequence[Any]) -> Mailbox:
    return Mailbox(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7])


def add_counts(first: int) -> str:
    """SET clause adding a `counters.Counts` delta, passed as its `values()` in
    parameters $first .. $first+4, to a folder row."""
    return ", ".join(
        f"{column} = {column} + ${first + i}"
        for i, column in enumerate(COUNTER_COLS.split(", "))
    )


def entry(row: Sequence[Any]) -> MessageEntry:
    return MessageEntry(row[0], frozenset(row[1]), row[2])


def flags_list(flags: Iterable[str]) -> list[str]:
    return sorted(set(flags))


def queue_item(row: Sequence[Any]) -> QueueItem:
    recipients = tuple(QueueRecipient(**r) for r in json.loads(row[7]))
    return QueueItem(
        id=row[0], sender=row[1], blob_id=row[2], size=row[3], created=row[4],
        next_attempt=row[5], attempts=row[6], recipients=recipients, envid=row[8], ret=row[9],
        delay_notified=row[10], claimed_by=row[11], claimed_until=row[12],
    )


def recipients_json(recipients: Sequence[QueueRecipient]) -> str:
    return json.dumps([
        {"address": r.address, "status": r.status, "attempts": r.attempts,
         "last_reply": r.last_reply, "notify": r.notify, "orcpt": r.orcpt}
        for r in recipients
    ])


def search_text(text: str) -> str:
    """Text as stored in, and looked up from, the trigram columns: case-folded in
    Python (the database's collation may fold only ASCII), valid UTF-8, no NUL
    (which PostgreSQL text cannot hold)."""
    folded = text.casefold()
    if not folded.isascii():
        folded = folded.encode("utf-8", "replace").decode("utf-8")
    return folded.replace("\x00", " ")


def like_contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def lock_rows(conn: Conn, account_ids: Iterable[int], mailbox_ids: Iterable[int]) -> None:
    """Takes the write locks of a change that spans several rows, in the lock order."""
    await conn.execute(
        "SELECT 1 FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE",
        sorted(set(account_ids)),
    )
    await conn.execute(
        "SELECT 1 FROM mailboxes WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE",
        sorted(set(mailbox_ids)),
    )


async def drop_unused_meta(conn: Conn, meta_ids: Iterable[int]) -> None:
    """Deletes parse-once records no message uses any more. Rows another writer
    holds (it is about to reference them) are skipped, never waited for; what is
    left over, garbage collection removes."""
    ids = sorted(set(meta_ids))
    if not ids:
        return
    try:
        async with conn.transaction():  # a savepoint: a lost race must not undo the caller
            await conn.execute(
                "DELETE FROM message_meta WHERE id IN (SELECT mm.id FROM message_meta mm"
                " WHERE mm.id = ANY($1::bigint[])"
                " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.meta_id = mm.id)"
                " FOR UPDATE SKIP LOCKED)",
                ids,
            )
    except asyncpg.exceptions.ForeignKeyViolationError:
        pass  # a message committed a reference meanwhile; the record stays
