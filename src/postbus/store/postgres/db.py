"""PostgreSQL plumbing: the connection pool, migrations, and write transactions.

Every write runs in one READ COMMITTED transaction on a pooled connection.
Row locks order the writers that touch the same rows, always in the same
order so that they cannot deadlock: account rows (ascending id), then folder
rows (ascending id), then message rows; message_meta rows are only ever taken
with SKIP LOCKED by deleters. Should the server still report a deadlock or a
serialisation failure, the whole transaction is retried a few times.

Migrations run under a session advisory lock, so several nodes starting at
once apply each numbered file exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any, TypeVar

import asyncpg

log = logging.getLogger(__name__)

T = TypeVar("T")

POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 8
# A pooled connection is recycled after this many seconds idle.
POOL_IDLE_SECONDS = 300.0
# Key of the advisory lock held while migrating ("postbus" in ASCII).
MIGRATION_LOCK_KEY = 0x706F737462757300
# Attempts of a write transaction that lost a deadlock or a serialisation race.
WRITE_ATTEMPTS = 5
RETRY_DELAY_SECONDS = 0.01

_RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)

# asyncpg ships no type information; a connection is an `asyncpg.Connection`.
Conn = Any


async def create_pool(url: str) -> Any:
    return await asyncpg.create_pool(
        url,
        min_size=POOL_MIN_SIZE,
        max_size=POOL_MAX_SIZE,
        max_inactive_connection_lifetime=POOL_IDLE_SECONDS,
    )


async def migrate(conn: Conn) -> int:
    """Applies the numbered migration files that have not run yet; returns the version."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)"
        )
        done = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        files = sorted(
            (f for f in resources.files("postbus.store.migrations.postgresql").iterdir()
             if f.name.endswith(".sql")),
            key=lambda f: f.name,
        )
        version = max(done, default=0)
        for f in files:
            number = int(f.name.split("_", 1)[0])
            if number in done:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(f.read_text())  # simple protocol: many statements
                    await conn.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)", number
                    )
            except asyncpg.PostgresError as exc:
                raise RuntimeError(f"PostgreSQL migration {f.name} failed: {exc}") from exc
            version = number
            log.info("store migrated to schema version %d", number)
        return version
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


async def in_transaction(pool: Any, fn: Callable[[Conn], Awaitable[T]]) -> T:
    """Runs `fn` in a transaction that has committed when this returns."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            async with pool.acquire() as conn, conn.transaction():
                return await fn(conn)
        except _RETRYABLE:
            if attempt == WRITE_ATTEMPTS:
                raise
            log.debug("write transaction retried after a lost race (attempt %d)", attempt)
            await asyncio.sleep(RETRY_DELAY_SECONDS * attempt)
    raise AssertionError("unreachable")
