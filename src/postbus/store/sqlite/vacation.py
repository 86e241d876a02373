"""Vacation auto-reply records (RFC 3834 §2: one reply per sender per interval)."""

from __future__ import annotations

import sqlite3


def claim_reply(conn: sqlite3.Connection, account_id: int, sender: str, now: float,
                interval: float) -> bool:
    # Rows past the interval are dropped first: then "no row" means "reply due".
    conn.execute("DELETE FROM vacation_replies WHERE account_id = ? AND sent_at <= ?",
                 (account_id, now - interval))
    cursor = conn.execute(
        "INSERT INTO vacation_replies (account_id, sender, sent_at) VALUES (?, ?, ?)"
        " ON CONFLICT (account_id, sender) DO NOTHING",
        (account_id, sender, now))
    return cursor.rowcount == 1


def clear_replies(conn: sqlite3.Connection, account_id: int) -> None:
    conn.execute("DELETE FROM vacation_replies WHERE account_id = ?", (account_id,))
