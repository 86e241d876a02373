"""Folder SQL of the embedded store: create, delete (with its messages),
rename, subscriptions, status, and the UIDVALIDITY counter.

Names are stored as given: the naming rules (INBOX, hierarchy, what may be
deleted or renamed) are the mailbox service's. A folder's UIDVALIDITY is
max(now, last + 1) from one counter row in `settings`, so that a folder
deleted and created again within a second still gets a new one. Each folder
row carries its counters (`store.counters`), which `status` reads.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from postbus.store import errors
from postbus.store.model import DELIMITER, Change, Mailbox, MailboxStatus
from postbus.store.sqlite import rows


def next_uid_validity(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM settings WHERE key = 'uid_validity_last'").fetchone()
    last = int(row[0]) if row else 0
    value = max(int(time.time()), last + 1)
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('uid_validity_last', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(value),),
    )
    return value


def create(
    conn: sqlite3.Connection, account_id: int, name: str, special_use: str | None
) -> Mailbox:
    uid_validity = next_uid_validity(conn)
    try:
        cur = conn.execute(
            "INSERT INTO mailboxes (account_id, name, special_use, uid_validity, object_id)"
            " VALUES (?, ?, ?, ?, ?)",
            (account_id, name, special_use, uid_validity, uid_validity),
        )
    except sqlite3.IntegrityError:
        raise errors.AlreadyExists(f"folder {name} exists") from None
    assert cur.lastrowid is not None
    return Mailbox(cur.lastrowid, account_id, name, special_use, uid_validity, 1, 1, uid_validity)


def list_mailboxes(conn: sqlite3.Connection, account_id: int) -> list[Mailbox]:
    found = conn.execute(
        f"SELECT {rows.MAILBOX_COLS} FROM mailboxes WHERE account_id = ? ORDER BY name",
        (account_id,),
    )
    return [rows.mailbox(r) for r in found]


def get(conn: sqlite3.Connection, account_id: int, name: str) -> Mailbox | None:
    row = conn.execute(
        f"SELECT {rows.MAILBOX_COLS} FROM mailboxes WHERE account_id = ? AND name = ?",
        (account_id, name),
    ).fetchone()
    return rows.mailbox(row) if row else None


def get_by_id(conn: sqlite3.Connection, mailbox_id: int) -> Mailbox | None:
    row = conn.execute(
        f"SELECT {rows.MAILBOX_COLS} FROM mailboxes WHERE id = ?", (mailbox_id,)
    ).fetchone()
    return rows.mailbox(row) if row else None


def status(conn: sqlite3.Connection, mailbox_id: int) -> MailboxStatus:
    """One point read of the folder row and its counters."""
    row = conn.execute(
        f"SELECT {rows.MAILBOX_COLS}, {rows.COUNTER_COLS} FROM mailboxes WHERE id = ?",
        (mailbox_id,),
    ).fetchone()
    if row is None:
        raise errors.NotFound("no such folder")
    return MailboxStatus(rows.mailbox(row), *row[8:])


def find_status(conn: sqlite3.Connection, account_id: int, name: str) -> MailboxStatus | None:
    row = conn.execute(
        f"SELECT {rows.MAILBOX_COLS}, {rows.COUNTER_COLS} FROM mailboxes"
        " WHERE account_id = ? AND name = ?",
        (account_id, name),
    ).fetchone()
    return MailboxStatus(rows.mailbox(row), *row[8:]) if row else None


def drop(conn: sqlite3.Connection, mailbox_id: int) -> None:
    """Deletes a folder with its messages and gives their quota back."""
    row = conn.execute(
        "SELECT account_id, size, messages FROM mailboxes WHERE id = ?", (mailbox_id,)
    ).fetchone()
    if row is None:
        return
    conn.execute("DELETE FROM messages WHERE mailbox_id = ?", (mailbox_id,))
    conn.execute("DELETE FROM expunged WHERE mailbox_id = ?", (mailbox_id,))
    conn.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox_id,))
    conn.execute(
        "UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ?"
        " WHERE id = ?",
        (row[1], row[2], row[0]),
    )


def delete(conn: sqlite3.Connection, account_id: int, name: str, changes: list[Any]) -> None:
    row = conn.execute(
        "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", (account_id, name)
    ).fetchone()
    if row is None:
        raise errors.NotFound(f"no folder {name}")
    drop(conn, row[0])
    changes.append(Change(account_id, row[0], 0, "mailboxes"))


def rename(
    conn: sqlite3.Connection, account_id: int, old: str, new: str, changes: list[Any]
) -> None:
    src = conn.execute(
        "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", (account_id, old)
    ).fetchone()
    if src is None:
        raise errors.NotFound(f"no folder {old}")
    children = conn.execute(
        "SELECT id, name FROM mailboxes WHERE account_id = ? AND name LIKE ? ESCAPE '\\'",
        (account_id, rows.like_prefix(old + DELIMITER)),
    ).fetchall()
    renames = [(src[0], new), *((i, new + n[len(old):]) for i, n in children)]
    for _, renamed in renames:
        if conn.execute(
            "SELECT 1 FROM mailboxes WHERE account_id = ? AND name = ?", (account_id, renamed)
        ).fetchone():
            raise errors.AlreadyExists(f"folder {renamed} exists")
    for folder_id, renamed in renames:
        # A new name is a new folder to clients: it gets a new UIDVALIDITY.
        conn.execute(
            "UPDATE mailboxes SET name = ?, uid_validity = ? WHERE id = ?",
            (renamed, next_uid_validity(conn), folder_id),
        )
    changes.append(Change(account_id, src[0], 0, "mailboxes"))


# -- subscriptions (RFC 3501 §6.3.9): names, whether or not a folder exists ------

def list_subscriptions(conn: sqlite3.Connection, account_id: int) -> list[str]:
    found = conn.execute(
        "SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name", (account_id,)
    )
    return [r[0] for r in found]


def set_subscribed(conn: sqlite3.Connection, account_id: int, name: str, subscribed: bool,
                   changes: list[Change]) -> None:
    changes.append(Change(account_id, 0, 0, "subscriptions"))  # for NOTIFY (RFC 5465 §5.5)
    if subscribed:
        conn.execute(
            "INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)",
            (account_id, name),
        )
    else:
        conn.execute(
            "DELETE FROM subscriptions WHERE account_id = ? AND name = ?", (account_id, name)
        )


def claim_recent(conn: sqlite3.Connection, mailbox_id: int, claim: bool) -> tuple[int, int]:
    """(boundary, uid_next - 1), moving the boundary up when `claim` (the writer's
    transaction serialises claims: RFC 3501 §2.3.2, one session per message)."""
    row = conn.execute("SELECT recent_uid, uid_next FROM mailboxes WHERE id = ?",
                       (mailbox_id,)).fetchone()
    if row is None:
        raise errors.NotFound("no such folder")
    boundary, upper = int(row[0]), int(row[1]) - 1
    if claim and upper > boundary:
        conn.execute("UPDATE mailboxes SET recent_uid = ? WHERE id = ?", (upper, mailbox_id))
    return boundary, max(boundary, upper)


def recent_count(conn: sqlite3.Connection, mailbox_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM messages WHERE mailbox_id = ?"
        " AND uid > (SELECT recent_uid FROM mailboxes WHERE id = ?)", (mailbox_id, mailbox_id),
    ).fetchone()
    return int(row[0])
