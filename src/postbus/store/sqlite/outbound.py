"""Outbound queue SQL of the embedded store.

An item is claimed by one node at a time until its lease ends (`claimed_until`);
an expired claim can be taken over. Writes run on the writer thread.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence

from postbus.store import errors
from postbus.store.model import BlobRef, QueueItem, QueueRecipient
from postbus.store.sqlite import rows


def enqueue(
    conn: sqlite3.Connection,
    sender: str,
    recipients: Sequence[QueueRecipient],
    blob: BlobRef,
    envid: str,
    ret: str,
    now: float,
    next_attempt: float,
) -> int:
    cur = conn.execute(
        "INSERT INTO queue (sender, blob_id, size, created, next_attempt, envid, ret,"
        " recipients) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (sender, blob.id, blob.size, now, next_attempt, envid, ret,
         rows.recipients_json(recipients)),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def claim(
    conn: sqlite3.Connection, node: str, now: float, lease: float, limit: int
) -> list[QueueItem]:
    found = conn.execute(
        f"SELECT {rows.QUEUE_COLS} FROM queue WHERE next_attempt <= ? AND claimed_until < ?"
        " ORDER BY next_attempt LIMIT ?",
        (now, now, limit),
    ).fetchall()
    items = []
    for row in found:
        conn.execute(
            "UPDATE queue SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1"
            " WHERE id = ?",
            (node, now + lease, row[0]),
        )
        item = rows.queue_item(row)
        items.append(dataclasses.replace(
            item, claimed_by=node, claimed_until=now + lease, attempts=item.attempts + 1
        ))
    return items


def update(
    conn: sqlite3.Connection,
    item_id: int,
    recipients: Sequence[QueueRecipient],
    next_attempt: float | None,
    delay_notified: bool | None,
) -> None:
    if next_attempt is None:
        conn.execute("DELETE FROM queue WHERE id = ?", (item_id,))
        return
    conn.execute(
        "UPDATE queue SET recipients = ?, next_attempt = ?, claimed_by = '',"
        " claimed_until = 0, delay_notified = COALESCE(?, delay_notified) WHERE id = ?",
        (rows.recipients_json(recipients), next_attempt,
         None if delay_notified is None else int(delay_notified), item_id),
    )


def release(conn: sqlite3.Connection, holders: Sequence[str]) -> int:
    return sum(conn.execute(
        "UPDATE queue SET claimed_by = '', claimed_until = 0 WHERE claimed_by = ?", (holder,)
    ).rowcount for holder in set(holders) if holder)


def list_queue(conn: sqlite3.Connection) -> list[QueueItem]:
    return [rows.queue_item(r) for r in conn.execute(
        f"SELECT {rows.QUEUE_COLS} FROM queue ORDER BY id"
    )]


def stats(conn: sqlite3.Connection) -> tuple[int, float | None]:
    count, oldest = conn.execute("SELECT COUNT(*), MIN(created) FROM queue").fetchone()
    return int(count), oldest


def get(conn: sqlite3.Connection, item_id: int) -> QueueItem | None:
    row = conn.execute(f"SELECT {rows.QUEUE_COLS} FROM queue WHERE id = ?", (item_id,)).fetchone()
    return rows.queue_item(row) if row else None


def delete(conn: sqlite3.Connection, item_id: int) -> None:
    if conn.execute("DELETE FROM queue WHERE id = ?", (item_id,)).rowcount == 0:
        raise errors.NotFound(f"no queue item {item_id}")


def retry(conn: sqlite3.Connection, item_id: int | None, now: float) -> int:
    if item_id is None:
        return conn.execute("UPDATE queue SET next_attempt = ?", (now,)).rowcount
    count = conn.execute("UPDATE queue SET next_attempt = ? WHERE id = ?", (now, item_id)).rowcount
    if count == 0:
        raise errors.NotFound(f"no queue item {item_id}")
    return count
