"""Stored SORT and SEARCH keys (`MessageKeys`), embedded store: table message_keys.

See `Store.sort_uids`, `match_keys` and `match_days` in contract.py. Strings
compare with SQLite's BINARY collation (memcmp of UTF-8: code point order) and
`instr` (exact substring); days compare as UTC seconds against 00:00 UTC bounds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from postbus.store.model import MessageKeys

# `Store.sort_uids` field -> SQL expression (m: messages, k: message_keys)
SORT_EXPRESSIONS = {
    "arrival": "m.internal_date",
    "size": "m.size",
    "date": "COALESCE(k.sort_date, m.internal_date)",
    "subject": "k.sort_subject",
    "from": "k.sort_from",
    "to": "k.sort_to",
    "cc": "k.sort_cc",
    "display_from": "k.sort_display_from",
    "display_to": "k.sort_display_to",
}
MATCH_COLUMNS = {"subject": "subject", "from": "addr_from", "to": "addr_to", "cc": "addr_cc",
                 "bcc": "addr_bcc"}
NO_KEYS = {"arrival", "size"}
_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()
_COLUMNS = ("meta_id", "version", "subject", "addr_from", "addr_to", "addr_cc", "addr_bcc",
            "sort_subject", "sort_from", "sort_to", "sort_cc", "sort_display_from",
            "sort_display_to", "sort_date", "sent_day")


def day_start(day: int) -> float:
    """00:00 UTC of the proleptic Gregorian ordinal `day`, in epoch seconds."""
    return float((day - _EPOCH_ORDINAL) * 86400)


def row(meta_id: int, k: MessageKeys) -> tuple[object, ...]:
    return (meta_id, k.version, k.subject, k.from_, k.to, k.cc, k.bcc, k.sort_subject,
            k.sort_from, k.sort_to, k.sort_cc, k.sort_display_from, k.sort_display_to,
            k.sort_date, k.sent_day)


def insert(conn: sqlite3.Connection, meta_id: int, keys: MessageKeys) -> None:
    conn.execute(f"INSERT OR REPLACE INTO message_keys ({', '.join(_COLUMNS)})"
                 f" VALUES ({', '.join('?' * len(_COLUMNS))})", row(meta_id, keys))


def set_keys(conn: sqlite3.Connection, keys: Sequence[tuple[str, MessageKeys]]) -> None:
    for blob_id, k in keys:
        found = conn.execute("SELECT id FROM message_meta WHERE blob_id = ?", (blob_id,)).fetchone()
        if found is not None:
            insert(conn, int(found[0]), k)


def drop(conn: sqlite3.Connection, meta_id: int) -> None:
    conn.execute("DELETE FROM message_keys WHERE meta_id = ?", (meta_id,))


def _unknown(conn: sqlite3.Connection, mailbox_id: int, version: int) -> list[int]:
    return [r[0] for r in conn.execute(
        "SELECT m.uid FROM messages m LEFT JOIN message_keys k ON k.meta_id = m.meta_id"
        " WHERE m.mailbox_id = ? AND (k.meta_id IS NULL OR k.version <> ?) ORDER BY m.uid",
        (mailbox_id, version))]


def sort_uids(conn: sqlite3.Connection, mailbox_id: int, keys: Sequence[tuple[str, bool]],
              version: int) -> tuple[list[int], list[int]]:
    order = ", ".join(SORT_EXPRESSIONS[f] + (" DESC" if reverse else "") for f, reverse in keys)
    order = f"{order}, m.uid" if order else "m.uid"
    if all(f in NO_KEYS for f, _ in keys):
        return [r[0] for r in conn.execute(
            f"SELECT m.uid FROM messages m WHERE m.mailbox_id = ? ORDER BY {order}",
            (mailbox_id,))], []
    conn.execute("BEGIN")  # one snapshot: the folder's counter and its ordered messages
    try:
        row = conn.execute("SELECT messages FROM mailboxes WHERE id = ?", (mailbox_id,)).fetchone()
        ordered = [r[0] for r in conn.execute(
            "SELECT m.uid FROM messages m JOIN message_keys k ON k.meta_id = m.meta_id"
            f" AND k.version = ? WHERE m.mailbox_id = ? ORDER BY {order}", (version, mailbox_id))]
        # Every message has keys when as many came back as the folder holds.
        unknown = [] if row is not None and len(ordered) == row[0] else _unknown(
            conn, mailbox_id, version)
    finally:
        conn.execute("COMMIT")
    return ordered, unknown


def _split(rows: Iterable[tuple[int, int | None]], version: int) -> tuple[set[int], set[int]]:
    """(UIDs with keys of `version`, the others) of (uid, keys' version) rows."""
    found: set[int] = set()
    unknown: set[int] = set()
    for uid, v in rows:
        (found if v == version else unknown).add(uid)
    return found, unknown


def match_keys(conn: sqlite3.Connection, mailbox_id: int, field: str, value: str,
               version: int) -> tuple[set[int], set[int]]:
    column = MATCH_COLUMNS[field]
    # One pass: the matching messages and those without keys of `version`.
    return _split(conn.execute(
        "SELECT m.uid, k.version FROM messages m LEFT JOIN message_keys k"
        " ON k.meta_id = m.meta_id WHERE m.mailbox_id = ?"
        f" AND (k.meta_id IS NULL OR k.version <> ? OR ? = '' OR instr(k.{column}, ?) > 0)",
        (mailbox_id, version, value, value)), version)


def match_days(conn: sqlite3.Connection, mailbox_id: int, field: str, op: str, day: int,
               version: int) -> tuple[set[int], set[int]]:
    if field == "sent":
        cond = {"before": "k.sent_day < ?", "on": "k.sent_day = ?", "since": "k.sent_day >= ?"}[op]
        return _split(conn.execute(
            "SELECT m.uid, k.version FROM messages m LEFT JOIN message_keys k"
            " ON k.meta_id = m.meta_id WHERE m.mailbox_id = ?"
            f" AND (k.meta_id IS NULL OR k.version <> ? OR {cond})",
            (mailbox_id, version, day)), version)
    expr = "m.internal_date" if field == "arrival" else "COALESCE(m.saved, m.internal_date)"
    start, end = day_start(day), day_start(day + 1)
    bounds: tuple[float, ...]
    if op == "before":
        cond, bounds = f"{expr} < ?", (start,)
    elif op == "on":
        cond, bounds = f"{expr} >= ? AND {expr} < ?", (start, end)
    else:
        cond, bounds = f"{expr} >= ?", (start,)
    found = {r[0] for r in conn.execute(
        f"SELECT m.uid FROM messages m WHERE m.mailbox_id = ? AND {cond}", (mailbox_id, *bounds))}
    return found, set()


def set_envelopes(conn: sqlite3.Connection, envelopes: Sequence[tuple[str, bytes]]) -> None:
    conn.executemany(
        "UPDATE message_keys SET envelope = ?"
        " WHERE meta_id = (SELECT id FROM message_meta WHERE blob_id = ?)",
        [(value, blob_id) for blob_id, value in envelopes])


#: From this many UIDs the whole folder is read and filtered, not looked up by UID.
WHOLE_FOLDER = 256


def envelopes(conn: sqlite3.Connection, mailbox_id: int, uids: Sequence[int], version: int
              ) -> dict[int, bytes]:
    query = ("SELECT m.uid, k.envelope FROM messages m JOIN message_keys k"
             " ON k.meta_id = m.meta_id AND k.version = ?"
             " WHERE m.mailbox_id = ? AND k.envelope IS NOT NULL")
    if len(uids) >= WHOLE_FOLDER:
        wanted = set(uids)
        return {uid: value for uid, value in conn.execute(query, (version, mailbox_id))
                if uid in wanted}
    found: dict[int, bytes] = {}
    for uid in uids:
        found.update(conn.execute(query + " AND m.uid = ?", (version, mailbox_id, uid)))
    return found
