"""Full-text search on the embedded store: the FTS5 trigram index and the text waiting for it.

Deliveries do not touch the index. The transaction that creates a parse-once
record writes its search text to `search_pending`; the writer thread moves
pending rows into the FTS5 table `message_search` (rowid = meta id) in batches
of `INDEX_BATCH`, as idle work (`db.Writer.idle`): once the writer has been
idle for a moment, when `BACKLOG` rows wait, or at least every
`db.IDLE_MAX_DELAY` seconds. So a burst of deliveries does not wait for
FTS5 (indexed inside its delivery's transaction, a 5 KB message cost ≈0.8 of
the writer's ≈1.2 ms per message), and indexing 200 rows in one transaction
costs about half as much per row. A search looks in both places, so a message
is found from the moment its append commits; matching pending rows costs
≈10–20 µs per pending row of the folder (50 ms for a backlog of 5,000).

Invariants:

- The search text of a parse-once record is in exactly one of `search_pending`
  and `message_search`: the move is one transaction, and `drop` removes it
  from whichever holds it.
- Records no message uses (expunged before they were indexed) are not indexed:
  garbage collection drops them cheaply from `search_pending`, where removing
  them from the index would cost ~2 ms each.
- Text is stored and looked up case-folded (`str.casefold`, full folding, as
  PostgreSQL's columns are): a row holds a query exactly when its message's
  text does after the folding a search's exact check applies. Rows written
  before this rule hold the text as written (the tokenizer's simple folding
  then misses only full foldings such as "ß" -> "ss").
- A pending row matches exactly when the index would: a substring match after
  the trigram tokenizer's case folding. `fold` reproduces that folding from
  this SQLite's own tokenizer (simple Unicode case mappings, not "ß" → "ss"),
  so a search gives the same answer before and after a message is indexed.
"""

from __future__ import annotations

import sqlite3
import threading

# Pending rows moved into the index per writer transaction (~50 ms of FTS5 work).
INDEX_BATCH = 200
# ...and at most this much text per transaction (one bigger message goes alone):
# a job that arrives meanwhile waits for the step (~50 ms for 1 MB; 4 MB took
# ~160 ms, for 20 % less indexing time overall, measured on 40 KB messages).
INDEX_BATCH_CHARS = 1024 * 1024
# Rows left pending while deliveries keep the writer busy: a burst this size is
# indexed after it, a longer load keeps the backlog near it.
BACKLOG = 5000
# The trigram index cannot narrow a query shorter than this.
MIN_QUERY = 3
# No cased letters beyond this code point (Adlam, U+1E900–U+1E95F, is the last block).
_CASED_LIMIT = 0x1F000

_fold_table: dict[int, str] | None = None
_fold_lock = threading.Lock()


def _simple_fold(ch: str) -> str:
    folded = ch.casefold()
    if len(folded) == 1:
        return folded
    lowered = ch.lower()
    return lowered if len(lowered) == 1 else ch


def _build_fold_table() -> dict[int, str]:
    """What the trigram tokenizer folds each character to, asked of the tokenizer
    itself for every character Python's simple case folding changes (the
    tokenizer folds a subset of those, from its own Unicode tables)."""
    candidates = [cp for cp in range(_CASED_LIMIT)
                  if not 0xD800 <= cp <= 0xDFFF and _simple_fold(chr(cp)) != chr(cp)]
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        conn.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)",
                         [(cp, chr(cp) * 3) for cp in candidates])
        table: dict[int, str] = {}
        for term, cp in conn.execute("SELECT term, doc FROM v"):
            if term[0] != chr(cp):
                table[cp] = term[0]
        return table
    finally:
        conn.close()


def fold(text: str) -> str:
    """`text` case-folded the way the trigram tokenizer folds it."""
    if text.isascii():
        return text.lower()  # A-Z only, as the tokenizer
    global _fold_table
    if _fold_table is None:
        with _fold_lock:
            if _fold_table is None:
                _fold_table = _build_fold_table()
    return text.translate(_fold_table)


def fts_query(field: str, text: str) -> str:
    """The FTS5 query for a substring of `field` ("header", "body" or "text")."""
    phrase = '"' + text.replace('"', '""') + '"'
    return phrase if field == "text" else f"{field} : {phrase}"


def add(conn: sqlite3.Connection, meta_id: int, header: str, body: str) -> None:
    # Stored case-folded with Python's full folding, as the query is (`search`): the
    # tokenizer's simple folding alone would miss "strasse" in "Straße", which the
    # exact check of a search (`str.casefold` on both sides) matches. The tokenizer
    # folds both sides further, one character at a time, which keeps every match.
    conn.execute("INSERT INTO search_pending (meta_id, header, body) VALUES (?, ?, ?)",
                 (meta_id, header.casefold(), body.casefold()))


def drop(conn: sqlite3.Connection, meta_id: int) -> None:
    """Removes a parse-once record's search text, pending or indexed."""
    if conn.execute("DELETE FROM search_pending WHERE meta_id = ?", (meta_id,)).rowcount == 0:
        conn.execute("DELETE FROM message_search WHERE rowid = ?", (meta_id,))


def pending(conn: sqlite3.Connection) -> int:
    """Rows waiting for the indexer (including those of records about to be collected)."""
    return int(conn.execute("SELECT count(*) FROM search_pending").fetchone()[0])


def index_pending(conn: sqlite3.Connection) -> tuple[int, bool]:
    """Moves up to INDEX_BATCH pending rows (INDEX_BATCH_CHARS of text, or one
    bigger row) of records in use into the index (the writer's idle work, inside
    its transaction); returns (rows moved, more may wait). The text is copied
    inside SQLite: it never becomes Python strings."""
    candidates = conn.execute(
        "SELECT p.meta_id, length(p.header) + length(p.body) FROM search_pending p WHERE EXISTS"
        " (SELECT 1 FROM messages m WHERE m.meta_id = p.meta_id) ORDER BY p.meta_id LIMIT ?",
        (INDEX_BATCH,),
    ).fetchall()
    ids: list[int] = []
    chars = 0
    for meta_id, length in candidates:
        if ids and chars + length > INDEX_BATCH_CHARS:
            break
        ids.append(meta_id)
        chars += length
    if ids:
        marks = ",".join("?" * len(ids))
        conn.execute("INSERT INTO message_search (rowid, header, body) SELECT meta_id, header,"
                     f" body FROM search_pending WHERE meta_id IN ({marks})", ids)
        conn.execute(f"DELETE FROM search_pending WHERE meta_id IN ({marks})", ids)
    return len(ids), len(candidates) == INDEX_BATCH or len(ids) < len(candidates)


def search(conn: sqlite3.Connection, mailbox_id: int, field: str, text: str) -> set[int]:
    """UIDs of the folder whose `field` contains `text`, indexed or pending (reader thread)."""
    columns = {"header": "p.header, ''", "body": "'', p.body", "text": "p.header, p.body"}[field]
    text = text.casefold()  # as the rows are stored (`add`)
    needle = fold(text)
    # One snapshot for both halves: a row the indexer moves in between is seen once.
    conn.execute("BEGIN")
    try:
        found = {r[0] for r in conn.execute(
            "SELECT m.uid FROM messages m WHERE m.mailbox_id = ? AND m.meta_id IN"
            " (SELECT rowid FROM message_search WHERE message_search MATCH ?)",
            (mailbox_id, fts_query(field, text)),
        )}
        # CROSS JOIN: walk the (short) pending table, not the folder.
        pending = conn.execute(
            f"SELECT m.uid, {columns} FROM search_pending p CROSS JOIN messages m"
            " ON m.meta_id = p.meta_id WHERE m.mailbox_id = ?",
            (mailbox_id,),
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    found.update(uid for uid, header, body in pending
                 if needle in fold(header) or needle in fold(body))
    return found
