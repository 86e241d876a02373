"""The outbound queue in SQL.

Claiming is one UPDATE over a `FOR UPDATE SKIP LOCKED` subquery: nodes that
claim at the same moment each take different rows and never wait for each
other; a claim whose lease ran out (`claimed_until < now`) is due again.
"""

from __future__ import annotations

from collections.abc import Sequence

from postbus.store import errors
from postbus.store.model import BlobRef, QueueItem, QueueRecipient
from postbus.store.postgres import blobs, rows
from postbus.store.postgres.db import Conn


async def enqueue(
    conn: Conn,
    sender: str,
    recipients: Sequence[QueueRecipient],
    blob: BlobRef,
    envid: str,
    ret: str,
    now: float,
    next_attempt: float,
) -> int:
    await blobs.reference(conn, blob)
    item_id: int = await conn.fetchval(
        "INSERT INTO queue (sender, blob_id, size, created, next_attempt, envid, ret, recipients)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) RETURNING id",
        sender, blob.id, blob.size, now, next_attempt, envid, ret,
        rows.recipients_json(recipients),
    )
    return item_id


async def claim(conn: Conn, node: str, now: float, lease: float, limit: int) -> list[QueueItem]:
    claimed = await conn.fetch(
        "UPDATE queue SET claimed_by = $1, claimed_until = $2 + $3, attempts = attempts + 1"
        " WHERE id IN (SELECT id FROM queue WHERE next_attempt <= $2 AND claimed_until < $2"
        " ORDER BY next_attempt LIMIT $4 FOR UPDATE SKIP LOCKED)"
        f" RETURNING {rows.QUEUE_COLS}",
        node, now, lease, limit,
    )
    items = [rows.queue_item(r) for r in claimed]
    items.sort(key=lambda item: (item.next_attempt, item.id))
    return items


async def update(
    conn: Conn,
    item_id: int,
    recipients: Sequence[QueueRecipient],
    next_attempt: float | None,
    delay_notified: bool | None,
) -> None:
    if next_attempt is None:
        await conn.execute("DELETE FROM queue WHERE id = $1", item_id)
        return
    await conn.execute(
        "UPDATE queue SET recipients = $2::jsonb, next_attempt = $3, claimed_by = '',"
        " claimed_until = 0, delay_notified = COALESCE($4, delay_notified) WHERE id = $1",
        item_id, rows.recipients_json(recipients), next_attempt, delay_notified,
    )


async def release(conn: Conn, holders: Sequence[str]) -> int:
    status: str = await conn.execute(
        "UPDATE queue SET claimed_by = '', claimed_until = 0"
        " WHERE claimed_by = ANY($1::text[]) AND claimed_by <> ''",
        list(set(holders)),
    )
    return int(status.rsplit(" ", 1)[1])


async def retry(conn: Conn, item_id: int | None, now: float) -> int:
    if item_id is None:
        status: str = await conn.execute("UPDATE queue SET next_attempt = $1", now)
    else:
        status = await conn.execute(
            "UPDATE queue SET next_attempt = $1 WHERE id = $2", now, item_id
        )
    count = int(status.rsplit(" ", 1)[1])
    if item_id is not None and count == 0:
        raise errors.NotFound(f"no queue item {item_id}")
    return count
