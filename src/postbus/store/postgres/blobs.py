"""Message bodies in PostgreSQL: `blobs(id, size, created, data BYTEA)`.

Why in the database and not in files or large objects: any node must serve
any account and the nodes keep no state, so bodies must live where every node
reaches them; BYTEA rides the server's replication and backups with the rest,
is TOASTed (compressed, stored out of line) transparently, and a 12 MB message
fits comfortably in one value. Large objects would need their own permissions,
`lo_unlink` bookkeeping and `vacuumlo`.

A body is content-addressed (lowercase hex SHA-256). `finish()` inserts it in
its own committed transaction before returning, so a message can only ever
reference a body that is already durable. A body reused by a writer gets its
`created` time refreshed, and garbage collection spares bodies younger than
`GC_GRACE_SECONDS`: a BlobRef stays valid that long without a reference.
Beyond that, correctness does not rest on time: a transaction that references
a body locks its row first (`reference`), and collection deletes only rows it
locked itself and re-checked afterwards (`collect`), so no collection on any
node removes a body that a committed or committing transaction references.
Range reads use `substring`, so the server ships only the bytes asked for.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from postbus import executor
from postbus.security import files
from postbus.store import errors
from postbus.store.model import BlobRef
from postbus.store.postgres import db
from postbus.store.postgres.db import Conn

# Chunks are kept in memory up to this size, then spilled to a temporary file
# until `finish()`: a slow upload of a large message does not hold its memory.
SPILL_THRESHOLD = 256 * 1024
# Unreferenced bodies younger than this are left alone by garbage collection.
GC_GRACE_SECONDS = 3600.0
# Bodies locked and deleted per garbage-collection transaction.
GC_BATCH = 500


async def store(pool: Any, blob: BlobRef, data: bytes) -> None:
    """Makes the body durable (committed) unless it already is; refreshes its age."""
    now = time.time()
    async with pool.acquire() as conn:
        status: str = await conn.execute(
            "UPDATE blobs SET created = $2 WHERE id = $1", blob.id, now
        )
        if status != "UPDATE 0":
            return
        await conn.execute(
            "INSERT INTO blobs (id, size, created, data) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (id) DO UPDATE SET created = EXCLUDED.created",
            blob.id, blob.size, now, data,
        )


async def read(pool: Any, blob_id: str, offset: int, length: int) -> bytes:
    if offset == 0 and length < 0:
        data = await pool.fetchval("SELECT data FROM blobs WHERE id = $1", blob_id)
    elif length < 0:
        data = await pool.fetchval(
            "SELECT substring(data FROM $2::int) FROM blobs WHERE id = $1", blob_id, offset + 1
        )
    else:
        data = await pool.fetchval(
            "SELECT substring(data FROM $2::int FOR $3::int) FROM blobs WHERE id = $1",
            blob_id, offset + 1, length,
        )
    if data is None:
        # As for a missing body file in the embedded store: a server fault, not a refusal.
        raise FileNotFoundError(f"no message body {blob_id}")
    return bytes(data)


async def exists(pool: Any, blob_id: str) -> bool:
    return bool(await pool.fetchval("SELECT 1 FROM blobs WHERE id = $1", blob_id))


async def reference(conn: Conn, blob: BlobRef) -> None:
    """Lets the caller's transaction reference `blob`: locks its row until that
    transaction ends, or raises NotFound when the body is not stored.

    The lock (FOR KEY SHARE: it does not stop a writer renewing `created`) is
    what garbage collection respects: see `collect`."""
    if await conn.fetchval("SELECT 1 FROM blobs WHERE id = $1 FOR KEY SHARE", blob.id) is None:
        raise errors.NotFound(f"message body {blob.id} is not stored")


async def collect(pool: Any, cutoff: float, only: Sequence[str] | None = None) -> int:
    """Deletes bodies created before `cutoff` that no message or queue item
    references, GC_BATCH per transaction; returns how many.

    Each transaction first locks its candidates FOR UPDATE, skipping rows that a
    referencing transaction holds (`reference`), then deletes them in a second
    statement, whose snapshot is newer than every reference committed before
    the lock: a reference committed meanwhile keeps its body. A transaction
    that comes to reference a locked row waits, then finds it gone (NotFound).
    So no sweep removes a body that a committed or committing transaction
    references, on any number of nodes."""
    async def batch(conn: Conn) -> tuple[int, int]:
        ids = [r[0] for r in await conn.fetch(
            f"SELECT b.id FROM blobs b WHERE b.created < $1 AND {_UNREFERENCED}"
            " LIMIT $2 FOR UPDATE SKIP LOCKED",
            cutoff, GC_BATCH,
        )]
        return len(ids), await _delete(conn, ids)

    removed = 0
    if only is not None:  # the named bodies only, GC_BATCH per transaction
        names = list(dict.fromkeys(only))
        for start in range(0, len(names), GC_BATCH):
            removed += await db.in_transaction(
                pool, functools.partial(_collect_named, names=names[start:start + GC_BATCH],
                                        cutoff=cutoff))
        return removed
    locked = GC_BATCH
    while locked == GC_BATCH:
        locked, deleted = await db.in_transaction(pool, batch)
        removed += deleted
    return removed


async def _collect_named(conn: Conn, *, names: list[str], cutoff: float) -> int:
    ids = [r[0] for r in await conn.fetch(
        f"SELECT b.id FROM blobs b WHERE b.id = ANY($2::text[]) AND b.created < $1"
        f" AND {_UNREFERENCED} FOR UPDATE SKIP LOCKED",
        cutoff, names,
    )]
    return await _delete(conn, ids)


async def _delete(conn: Conn, ids: list[str]) -> int:
    """The second statement of `collect`: its snapshot sees every reference
    committed before the candidates were locked."""
    if not ids:
        return 0
    status: str = await conn.execute(
        f"DELETE FROM blobs b WHERE b.id = ANY($1::text[]) AND {_UNREFERENCED}", ids
    )
    return int(status.rsplit(" ", 1)[1])


_UNREFERENCED = (
    "NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id)"
    " AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.blob_id = b.id)"
)


class PgBlobWriter:
    def __init__(self, pool: Any, tmp: Path) -> None:
        self._pool = pool
        self._tmp = tmp
        self._hash = hashlib.sha256()
        self._chunks: list[bytes] = []
        self._size = 0
        self._file: Any = None
        self._tmp_path: Path | None = None

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._hash.update(chunk)
        self._size += len(chunk)
        if self._file is not None:
            self._file.write(chunk)
            return
        self._chunks.append(bytes(chunk))
        if self._size > SPILL_THRESHOLD:
            self._tmp_path = self._tmp / secrets.token_hex(12)
            self._file = files.open_private(self._tmp_path)  # closed by finish() or abort()
            self._file.writelines(self._chunks)
            self._chunks = []

    async def finish(self) -> BlobRef:
        ref = BlobRef(self._hash.hexdigest(), self._size)
        try:
            if self._file is not None:
                data = await executor.run(executor.IO, self._read_back)
            else:
                data = b"".join(self._chunks)
            self._chunks = []
            await store(self._pool, ref, data)
        finally:
            self.abort()
        return ref

    def _read_back(self) -> bytes:
        assert self._file is not None and self._tmp_path is not None
        self._file.close()
        self._file = None
        return self._tmp_path.read_bytes()

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tmp_path is not None:
            self._tmp_path.unlink(missing_ok=True)
            self._tmp_path = None
        self._chunks = []
