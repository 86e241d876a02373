"""Stored SORT and SEARCH keys (`MessageKeys`), PostgreSQL: table message_keys.

See `Store.sort_uids`, `match_keys` and `match_days` in contract.py. The sort
strings are COLLATE "C" columns (code point order in UTF-8, as SQLite's
BINARY); matching is `strpos` (exact substring); days compare as UTC seconds
against 00:00 UTC bounds. Mirrors store/sqlite/keys.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from postbus.store.model import MessageKeys
from postbus.store.postgres.db import Conn
from postbus.store.sqlite.keys import MATCH_COLUMNS, NO_KEYS, SORT_EXPRESSIONS, day_start

__all__ = ["MATCH_COLUMNS", "SORT_EXPRESSIONS"]

# Every column but `envelope`, which the IMAP front end writes later (set_envelopes).
_COLUMNS = ("meta_id", "version", "subject", "addr_from", "addr_to", "addr_cc", "addr_bcc",
            "sort_subject", "sort_from", "sort_to", "sort_cc", "sort_display_from",
            "sort_display_to", "sort_date", "sent_day")
_INSERT = (f"INSERT INTO message_keys ({', '.join(_COLUMNS)})"
           f" VALUES ({', '.join(f'${i}' for i in range(1, len(_COLUMNS) + 1))})"
           " ON CONFLICT (meta_id) DO UPDATE SET envelope = NULL, "
           + ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS[1:]))


def _row(meta_id: int, k: MessageKeys) -> tuple[Any, ...]:
    return (meta_id, k.version, k.subject, k.from_, k.to, k.cc, k.bcc, k.sort_subject,
            k.sort_from, k.sort_to, k.sort_cc, k.sort_display_from, k.sort_display_to,
            k.sort_date, k.sent_day)


async def insert(conn: Conn, meta_id: int, keys: MessageKeys) -> None:
    await conn.execute(_INSERT, *_row(meta_id, keys))


async def set_keys(conn: Conn, pairs: Sequence[tuple[str, MessageKeys]]) -> None:
    ids = dict(await conn.fetch("SELECT blob_id, id FROM message_meta WHERE blob_id = ANY($1)",
                                [b for b, _ in pairs]))
    records = [_row(ids[b], k) for b, k in pairs if b in ids]
    if records:
        await conn.executemany(_INSERT, records)


async def _unknown(conn: Any, mailbox_id: int, version: int) -> list[int]:
    return [r[0] for r in await conn.fetch(
        "SELECT m.uid FROM messages m LEFT JOIN message_keys k ON k.meta_id = m.meta_id"
        " WHERE m.mailbox_id = $1 AND (k.meta_id IS NULL OR k.version <> $2) ORDER BY m.uid",
        mailbox_id, version)]


async def sort_uids(conn: Any, mailbox_id: int, keys: Sequence[tuple[str, bool]],
                    version: int) -> tuple[list[int], list[int]]:
    """In a repeatable-read transaction (one snapshot), as the backend calls it."""
    order = ", ".join(SORT_EXPRESSIONS[f] + (" DESC" if reverse else "") for f, reverse in keys)
    order = f"{order}, m.uid" if order else "m.uid"
    if all(f in NO_KEYS for f, _ in keys):
        return [r[0] for r in await conn.fetch(
            f"SELECT m.uid FROM messages m WHERE m.mailbox_id = $1 ORDER BY {order}",
            mailbox_id)], []
    count = await conn.fetchval("SELECT messages FROM mailboxes WHERE id = $1", mailbox_id)
    ordered = [r[0] for r in await conn.fetch(
        "SELECT m.uid FROM messages m JOIN message_keys k ON k.meta_id = m.meta_id"
        f" AND k.version = $1 WHERE m.mailbox_id = $2 ORDER BY {order}", version, mailbox_id)]
    # Every message has keys when as many came back as the folder holds.
    if count is not None and len(ordered) == count:
        return ordered, []
    return ordered, await _unknown(conn, mailbox_id, version)


def _split(rows: Any, version: int) -> tuple[set[int], set[int]]:
    """(UIDs with keys of `version`, the others) of (uid, keys' version) rows."""
    found: set[int] = set()
    unknown: set[int] = set()
    for uid, v in rows:
        (found if v == version else unknown).add(uid)
    return found, unknown


async def match_keys(conn: Any, mailbox_id: int, field: str, value: str,
                     version: int) -> tuple[set[int], set[int]]:
    column = MATCH_COLUMNS[field]
    # One pass: the matching messages and those without keys of `version`.
    return _split(await conn.fetch(
        "SELECT m.uid, k.version FROM messages m LEFT JOIN message_keys k"
        " ON k.meta_id = m.meta_id WHERE m.mailbox_id = $1"
        f" AND (k.meta_id IS NULL OR k.version <> $2 OR strpos(k.{column}, $3) > 0)",
        mailbox_id, version, value), version)


async def match_days(conn: Any, mailbox_id: int, field: str, op: str, day: int,
                     version: int) -> tuple[set[int], set[int]]:
    if field == "sent":
        cond = {"before": "k.sent_day < $3", "on": "k.sent_day = $3",
                "since": "k.sent_day >= $3"}[op]
        return _split(await conn.fetch(
            "SELECT m.uid, k.version FROM messages m LEFT JOIN message_keys k"
            " ON k.meta_id = m.meta_id WHERE m.mailbox_id = $1"
            f" AND (k.meta_id IS NULL OR k.version <> $2 OR {cond})",
            mailbox_id, version, day), version)
    expr = "m.internal_date" if field == "arrival" else "COALESCE(m.saved, m.internal_date)"
    start, end = day_start(day), day_start(day + 1)
    if op == "on":
        rows = await conn.fetch(
            f"SELECT m.uid FROM messages m WHERE m.mailbox_id = $1 AND {expr} >= $2"
            f" AND {expr} < $3", mailbox_id, start, end)
    else:
        cond = f"{expr} < $2" if op == "before" else f"{expr} >= $2"
        rows = await conn.fetch(
            f"SELECT m.uid FROM messages m WHERE m.mailbox_id = $1 AND {cond}", mailbox_id, start)
    return {r[0] for r in rows}, set()


async def set_envelopes(conn: Conn, envelopes: Sequence[tuple[str, bytes]]) -> None:
    await conn.executemany(
        "UPDATE message_keys SET envelope = $1"
        " WHERE meta_id = (SELECT id FROM message_meta WHERE blob_id = $2)",
        [(value, blob_id) for blob_id, value in envelopes])


async def envelopes(conn: Any, mailbox_id: int, uids: Sequence[int], version: int
                    ) -> dict[int, bytes]:
    rows = await conn.fetch(
        "SELECT m.uid, k.envelope FROM messages m JOIN message_keys k ON k.meta_id = m.meta_id"
        " AND k.version = $3 WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[])"
        " AND k.envelope IS NOT NULL", mailbox_id, list(uids), version)
    return {r[0]: bytes(r[1]) for r in rows}
