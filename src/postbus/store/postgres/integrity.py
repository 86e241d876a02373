"""`postbus check` on PostgreSQL: every body against its hash, every reference against a body.

Bodies are rows of `blobs` (`blobs.py`); a backup of them is pg_dump's
(docs/operations.md). This reads them in id order, `CHECK_BATCH` at a time,
each in its own short statement (no long transaction holds back vacuum), and
hashes each; `size` must match too. A reference (message or queue item) with
no row is missing; it is checked again at the end, so a message expunged and
collected meanwhile is not reported. Unreferenced rows are garbage
collection's (a node removes them after its grace period): not a problem,
and nothing here deletes anything, with or without `fix`.
"""

from __future__ import annotations

import hashlib

import asyncpg

from postbus.store.sqlite.integrity import CheckReport

# Bodies fetched per statement.
CHECK_BATCH = 200
CONNECT_TIMEOUT = 10.0

_MISSING = (
    "SELECT r.blob_id FROM (SELECT blob_id FROM messages UNION SELECT blob_id FROM queue) r"
    " WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = r.blob_id) ORDER BY 1"
)


async def inspect(url: str, *, fix: bool = False) -> CheckReport:
    report = CheckReport()
    conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT)
    try:
        report.bodies = await conn.fetchval(
            "SELECT count(*) FROM (SELECT blob_id FROM messages UNION SELECT blob_id FROM queue) r")
        missing = [r[0] for r in await conn.fetch(_MISSING)]
        after = ""
        while True:
            rows = await conn.fetch(
                "SELECT id, size, data FROM blobs WHERE id > $1 ORDER BY id LIMIT $2", after, CHECK_BATCH)
            if not rows:
                break
            for blob_id, size, data in rows:
                if len(data) != size or hashlib.sha256(data).hexdigest() != blob_id:
                    report.corrupt.append(blob_id)
            after = rows[-1][0]
        if missing:
            still = {r[0] for r in await conn.fetch(_MISSING)}
            report.missing = [b for b in missing if b in still]
    finally:
        await conn.close()
    if fix:
        report.unfixable += [f"cannot fix missing body {b}: restore it from a backup (pg_dump)"
                             for b in report.missing]
        report.unfixable += [f"cannot fix corrupt body {b}: restore it from a backup (pg_dump)"
                             for b in report.corrupt]
    return report
