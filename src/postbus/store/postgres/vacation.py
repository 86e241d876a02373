"""Vacation auto-reply records (RFC 3834 §2: one reply per sender per interval)."""

from __future__ import annotations

from postbus.store.postgres.db import Conn


async def claim_reply(conn: Conn, account_id: int, sender: str, now: float, interval: float) -> bool:
    # Rows past the interval are dropped first: then "no row" means "reply due".
    # Of two concurrent claims, the second waits on the first's row and then
    # finds the conflict: exactly one of them gets a row back.
    await conn.execute("DELETE FROM vacation_replies WHERE account_id = $1 AND sent_at <= $2",
                       account_id, now - interval)
    inserted = await conn.fetchval(
        "INSERT INTO vacation_replies (account_id, sender, sent_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (account_id, sender) DO NOTHING RETURNING 1",
        account_id, sender, now)
    return inserted is not None


async def clear_replies(conn: Conn, account_id: int) -> None:
    await conn.execute("DELETE FROM vacation_replies WHERE account_id = $1", account_id)
