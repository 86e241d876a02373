"""Message SQL of the embedded store: append, deliver, flags, expunge, copy and
move, and the reads a selected folder makes.

Writes run on the writer thread inside its transaction and append the
`Change`s they make to `changes`. The single writer serialises them, so a
folder row's `uid_next` and `highest_modseq` hand out UIDs and mod-sequences
without locks. Every write that adds, removes or re-flags messages changes
the folder's counters (`store.counters`) and the account's quota counters
in the same transaction; the quota check is `model.exceeds_quota`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

from postbus.store import counters, errors
from postbus.store.model import (
    Appended,
    BlobRef,
    Change,
    Changes,
    MessageEntry,
    MessageInfo,
    Parsed,
    exceeds_quota,
)
from postbus.store.sqlite import keys, rows, search

# Parse-once records removed per garbage-collection job, so that deliveries
# interleave with the clean-up.
GC_META_BATCH = 50


def meta_id(conn: sqlite3.Connection, blob: BlobRef, parsed: Parsed) -> tuple[int, bool]:
    """The parse-once record of `blob`, and whether it was created now (its
    search text then waits for the writer's idle work: search.py)."""
    row = conn.execute("SELECT id FROM message_meta WHERE blob_id = ?", (blob.id,)).fetchone()
    if row:
        return int(row[0]), False
    cur = conn.execute(
        "INSERT INTO message_meta (blob_id, meta) VALUES (?, ?)", (blob.id, parsed.meta)
    )
    new_id = cur.lastrowid
    assert new_id is not None
    search.add(conn, new_id, parsed.header_text, parsed.body_text)
    if parsed.keys is not None:
        keys.insert(conn, new_id, parsed.keys)
    return new_id, True


def insert(
    conn: sqlite3.Connection,
    mailbox_id: int,
    meta: int,
    blob_id: str,
    size: int,
    flags: str,
    internal_date: float,
    check_quota: bool,
    changes: list[Any],
) -> Appended:
    box = conn.execute(
        "SELECT b.account_id, b.uid_validity, a.quota_bytes, a.used_bytes FROM mailboxes b"
        " JOIN accounts a ON a.id = b.account_id WHERE b.id = ?",
        (mailbox_id,),
    ).fetchone()
    if box is None:
        raise errors.NotFound("no such folder")
    account_id, uid_validity, quota, used = box
    if check_quota and exceeds_quota(quota, used, size):
        raise errors.OverQuota("quota exceeded")
    row = conn.execute(
        "UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1,"
        f" {rows.ADD_COUNTS} WHERE id = ? RETURNING uid_next - 1, highest_modseq",
        (*counters.of_message(size, flags.split()).values(), mailbox_id),
    ).fetchone()
    uid, modseq = int(row[0]), int(row[1])
    conn.execute(
        "INSERT INTO messages (mailbox_id, uid, meta_id, blob_id, size, internal_date, flags,"
        " modseq, saved) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (mailbox_id, uid, meta, blob_id, size, internal_date, flags, modseq, time.time()),
    )
    conn.execute(
        "UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + 1"
        " WHERE id = ?",
        (size, account_id),
    )
    changes.append(Change(account_id, mailbox_id, modseq))
    return Appended(mailbox_id, uid_validity, uid, modseq)


def deliver(
    conn: sqlite3.Connection,
    mailbox_ids: Sequence[int],
    meta: int,
    blob: BlobRef,
    internal_date: float,
    check_quota: bool,
    changes: list[Any],
) -> list[Appended | Exception]:
    results: list[Appended | Exception] = []
    for mailbox_id in mailbox_ids:
        conn.execute("SAVEPOINT one")  # each folder succeeds or fails on its own
        try:
            results.append(insert(
                conn, mailbox_id, meta, blob.id, blob.size, "", internal_date, check_quota, changes
            ))
        except errors.StoreError as exc:
            conn.execute("ROLLBACK TO one")
            results.append(exc)
        conn.execute("RELEASE one")
    return results


def deliver_message(
    conn: sqlite3.Connection,
    mailbox_ids: Sequence[int],
    meta: Callable[[], int],
    blob: BlobRef,
    internal_date: float,
    check_quota: bool,
    changes: list[Any],
) -> list[Appended | Exception]:
    """`deliver` for `Store.deliver_message`: a folder that is gone is reported
    (NotFound) and skipped; OverQuota is raised, for the caller's transaction
    to roll back (`insert` finds both before it writes). The parse-once record
    is made (`meta()`) only when some folder exists."""
    results: list[Appended | Exception] = []
    meta_id: int | None = None
    for mailbox_id in mailbox_ids:
        if conn.execute("SELECT 1 FROM mailboxes WHERE id = ?", (mailbox_id,)).fetchone() is None:
            results.append(errors.NotFound("no such folder"))
            continue
        if meta_id is None:
            meta_id = meta()
        results.append(insert(
            conn, mailbox_id, meta_id, blob.id, blob.size, "", internal_date, check_quota, changes
        ))
    return results


# -- reads ---------------------------------------------------------------------------

def list_messages(conn: sqlite3.Connection, mailbox_id: int) -> list[MessageEntry]:
    found = conn.execute(
        "SELECT uid, flags, modseq FROM messages WHERE mailbox_id = ? ORDER BY uid",
        (mailbox_id,),
    ).fetchall()
    # A folder has few distinct flag sets: one frozenset each, shared by the
    # entries, halves the time of a 50,000-message folder and its memory.
    flagsets = {text: rows.flags_set(text) for text in {r[1] for r in found}}
    return [MessageEntry(uid, flagsets[text], modseq) for uid, text, modseq in found]


def fetch_info(conn: sqlite3.Connection, mailbox_id: int, uids: Sequence[int]) -> list[MessageInfo]:
    out: list[MessageInfo] = []
    for chunk in rows.chunks(uids):
        found = conn.execute(
            "SELECT m.uid, m.flags, m.modseq, m.size, m.internal_date, m.blob_id, mm.meta, m.saved"
            " FROM messages m JOIN message_meta mm ON mm.id = m.meta_id"
            f" WHERE m.mailbox_id = ? AND m.uid IN ({rows.marks(chunk)}) ORDER BY m.uid",
            (mailbox_id, *chunk),
        ).fetchall()
        out.extend(
            MessageInfo(r[0], rows.flags_set(r[1]), r[2], r[3], r[4], r[5], r[6], r[7])
            for r in found
        )
    return out


def changes_since(conn: sqlite3.Connection, mailbox_id: int, modseq: int) -> Changes:
    conn.execute("BEGIN")  # one snapshot for the three reads
    try:
        row = conn.execute(
            "SELECT highest_modseq FROM mailboxes WHERE id = ?", (mailbox_id,)
        ).fetchone()
        if row is None:
            raise errors.NotFound("no such folder")
        changed = conn.execute(
            "SELECT uid, flags, modseq FROM messages WHERE mailbox_id = ? AND modseq > ?"
            " ORDER BY uid",
            (mailbox_id, modseq),
        ).fetchall()
        gone = conn.execute(
            "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
            (mailbox_id, modseq),
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    return Changes(
        int(row[0]),
        tuple(MessageEntry(r[0], rows.flags_set(r[1]), r[2]) for r in changed),
        tuple(r[0] for r in gone),
    )


# -- flags, expunge, copy and move ----------------------------------------------------

def store_flags(
    conn: sqlite3.Connection,
    mailbox_id: int,
    uids: Sequence[int],
    update: Callable[[frozenset[str]], frozenset[str]],
    unchanged_since: int | None,
    changes: list[Any],
) -> tuple[list[MessageEntry], list[int]]:
    updates: list[tuple[int, frozenset[str]]] = []
    failed: list[int] = []
    delta = counters.Counts()
    for chunk in rows.chunks(uids):
        for uid, text, modseq, size in conn.execute(
            "SELECT uid, flags, modseq, size FROM messages"
            f" WHERE mailbox_id = ? AND uid IN ({rows.marks(chunk)})",
            (mailbox_id, *chunk),
        ).fetchall():
            if unchanged_since is not None and modseq > unchanged_since:
                failed.append(uid)  # RFC 7162 §3.1.3
                continue
            current = rows.flags_set(text)
            new = frozenset(update(current))
            if new != current:
                updates.append((uid, new))
                delta += counters.flag_change(size, current, new)
    if not updates:
        return [], failed
    row = conn.execute(
        f"UPDATE mailboxes SET highest_modseq = highest_modseq + 1, {rows.ADD_COUNTS}"
        " WHERE id = ? RETURNING highest_modseq, account_id",
        (*delta.values(), mailbox_id),
    ).fetchone()
    if row is None:
        raise errors.NotFound("no such folder")
    modseq, account_id = row
    conn.executemany(
        "UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
        [(rows.flags_text(new), modseq, mailbox_id, uid) for uid, new in updates],
    )
    changes.append(Change(account_id, mailbox_id, modseq))
    return [MessageEntry(uid, new, modseq) for uid, new in updates], failed


def expunge(
    conn: sqlite3.Connection, mailbox_id: int, uids: Sequence[int], changes: list[Any]
) -> list[int]:
    """Removes the messages; returns the UIDs that were removed."""
    removed: list[tuple[int, int, str]] = []
    for chunk in rows.chunks(uids):
        removed.extend(conn.execute(
            "SELECT uid, size, flags FROM messages"
            f" WHERE mailbox_id = ? AND uid IN ({rows.marks(chunk)})",
            (mailbox_id, *chunk),
        ).fetchall())
    account = conn.execute(
        "SELECT account_id FROM mailboxes WHERE id = ?", (mailbox_id,)
    ).fetchone()
    if account is None:
        raise errors.NotFound("no such folder")
    if not removed:
        return []
    gone = counters.of_messages((size, text.split()) for _, size, text in removed)
    modseq = conn.execute(
        f"UPDATE mailboxes SET highest_modseq = highest_modseq + 1, {rows.ADD_COUNTS}"
        " WHERE id = ? RETURNING highest_modseq",
        (*(-gone).values(), mailbox_id),
    ).fetchone()[0]
    conn.executemany(
        "DELETE FROM messages WHERE mailbox_id = ? AND uid = ?",
        [(mailbox_id, uid) for uid, _, _ in removed],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)",
        [(mailbox_id, uid, modseq) for uid, _, _ in removed],
    )
    conn.execute(
        "UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ?"
        " WHERE id = ?",
        (gone.size, gone.messages, account[0]),
    )
    changes.append(Change(account[0], mailbox_id, modseq))
    return [uid for uid, _, _ in removed]


def copy(
    conn: sqlite3.Connection,
    src: int,
    uids: Sequence[int],
    dst: int,
    move: bool,
    changes: list[Any],
) -> list[tuple[int, int]]:
    """Returns (source UID, new UID) pairs. A copy counts against the
    destination account's quota; a move within one account does not."""
    found: list[tuple[int, int, str, int, float, str]] = []
    for chunk in rows.chunks(uids):
        found.extend(conn.execute(
            "SELECT uid, meta_id, blob_id, size, internal_date, flags FROM messages"
            f" WHERE mailbox_id = ? AND uid IN ({rows.marks(chunk)}) ORDER BY uid",
            (src, *chunk),
        ).fetchall())
    accounts = dict(conn.execute(
        "SELECT id, account_id FROM mailboxes WHERE id IN (?, ?)", (src, dst)
    ).fetchall())
    if src not in accounts or dst not in accounts:
        raise errors.NotFound("no such folder")
    if not found:
        return []
    if not (move and accounts[src] == accounts[dst]):
        quota, used = conn.execute(
            "SELECT quota_bytes, used_bytes FROM accounts WHERE id = ?", (accounts[dst],)
        ).fetchone()
        if exceeds_quota(quota, used, sum(r[3] for r in found)):
            raise errors.OverQuota("quota exceeded")
    mapping: list[tuple[int, int]] = []
    made: list[Any] = []
    for uid, meta, blob_id, size, internal_date, flags in found:
        appended = insert(conn, dst, meta, blob_id, size, flags, internal_date, False, made)
        mapping.append((uid, appended.uid))
    changes.append(made[-1])  # one event for the destination, at its last mod-sequence
    if move:
        expunge(conn, src, [uid for uid, *_ in found], changes)
    return mapping


# Parse-once records and their search-index rows outlive their last message
# until garbage collection: removing a message from the trigram index costs
# ~2 ms (FTS5 re-tokenises the text), which inside an EXPUNGE of 2,000
# messages held the single writer for seconds. Searches join through
# `messages`, so an orphaned record is never found. A record expunged before
# it was indexed is never indexed: its text leaves `search_pending` here.
def drop_orphan_meta(conn: sqlite3.Connection, changes: list[Any]) -> int:
    """Drops up to GC_META_BATCH records no message uses; returns how many."""
    ids = [r[0] for r in conn.execute(
        "SELECT id FROM message_meta WHERE NOT EXISTS"
        " (SELECT 1 FROM messages WHERE messages.meta_id = message_meta.id) LIMIT ?",
        (GC_META_BATCH,),
    )]
    for meta in ids:
        search.drop(conn, meta)
        keys.drop(conn, meta)
        conn.execute("DELETE FROM message_meta WHERE id = ?", (meta,))
    return len(ids)
