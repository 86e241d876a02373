"""SQL of the abuse-resistance tables (store.security) for the embedded store.

Writes run in the writer's transaction (one at a time per process, BEGIN
IMMEDIATE across processes), so a read-then-write here is atomic.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from postbus.store.security import Ban, SendingBlock, SendLimit, passes, window_start

T = TypeVar("T")

# Expired counters are deleted this long after their window ended.
_PRUNE_AFTER = 3600.0


def count_events(conn: sqlite3.Connection, keys: Sequence[str], window: float,
                 now: float) -> list[int]:
    conn.execute("DELETE FROM security_counters WHERE expires < ?", (now - _PRUNE_AFTER,))
    counts = []
    for key in keys:
        row = conn.execute("SELECT count, expires FROM security_counters WHERE key = ?",
                           (key,)).fetchone()
        count = row[0] + 1 if row is not None and row[1] > now else 1
        expires = row[1] if count > 1 else now + window
        conn.execute("INSERT INTO security_counters (key, count, expires) VALUES (?, ?, ?)"
                     " ON CONFLICT (key) DO UPDATE SET count = excluded.count,"
                     " expires = excluded.expires", (key, count, expires))
        counts.append(count)
    return counts


def clear_events(conn: sqlite3.Connection, keys: Sequence[str]) -> None:
    conn.executemany("DELETE FROM security_counters WHERE key = ?", [(k,) for k in keys])


def add_ban(conn: sqlite3.Connection, address: str, until: float, reason: str,
            now: float) -> Ban:
    conn.execute("INSERT INTO bans (address, until, reason, created) VALUES (?, ?, ?, ?)"
                 " ON CONFLICT (address) DO UPDATE SET until = excluded.until,"
                 " reason = excluded.reason, created = excluded.created",
                 (address, until, reason, now))
    return Ban(address, until, reason, now)


def get_ban(conn: sqlite3.Connection, address: str, now: float) -> Ban | None:
    row = conn.execute("SELECT address, until, reason, created FROM bans"
                       " WHERE address = ? AND until > ?", (address, now)).fetchone()
    return Ban(*row) if row else None


def list_bans(conn: sqlite3.Connection, now: float) -> list[Ban]:
    return [Ban(*r) for r in conn.execute(
        "SELECT address, until, reason, created FROM bans WHERE until > ? ORDER BY address",
        (now,))]


def remove_ban(conn: sqlite3.Connection, address: str) -> bool:
    return conn.execute("DELETE FROM bans WHERE address = ?", (address,)).rowcount > 0


def remember_known_source(conn: sqlite3.Connection, pair: str, until: float) -> None:
    conn.execute("INSERT INTO known_sources (pair, until) VALUES (?, ?)"
                 " ON CONFLICT (pair) DO UPDATE SET until = excluded.until", (pair, until))


def known_source(conn: sqlite3.Connection, pair: str, now: float) -> float | None:
    row = conn.execute("SELECT until FROM known_sources WHERE pair = ? AND until > ?",
                       (pair, now)).fetchone()
    return float(row[0]) if row else None


def expire_known_sources(conn: sqlite3.Connection, now: float) -> int:
    return conn.execute("DELETE FROM known_sources WHERE until <= ?", (now,)).rowcount


def take_sending(conn: sqlite3.Connection, limits: Sequence[SendLimit], recipients: int,
                 now: float) -> SendLimit | None:
    counted = []
    for limit in limits:
        start = window_start(now, limit.period)
        row = conn.execute("SELECT window_start, messages, recipients FROM sending_counters"
                           " WHERE scope = ? AND period = ?", (limit.scope, limit.period)).fetchone()
        messages, rcpts = (row[1], row[2]) if row is not None and row[0] == start else (0, 0)
        if not passes(limit, messages, rcpts, recipients):
            return limit
        counted.append((limit.scope, limit.period, start, messages + 1, rcpts + recipients))
    conn.executemany(
        "INSERT INTO sending_counters (scope, period, window_start, messages, recipients)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, period) DO UPDATE SET"
        " window_start = excluded.window_start, messages = excluded.messages,"
        " recipients = excluded.recipients", counted)
    return None


def block_sending(conn: sqlite3.Connection, address: str, reason: str, now: float) -> bool:
    return conn.execute("INSERT INTO sending_blocks (address, since, reason) VALUES (?, ?, ?)"
                 " ON CONFLICT (address) DO NOTHING", (address, now, reason)).rowcount > 0


def get_sending_block(conn: sqlite3.Connection, address: str) -> SendingBlock | None:
    row = conn.execute("SELECT address, since, reason FROM sending_blocks WHERE address = ?",
                       (address,)).fetchone()
    return SendingBlock(*row) if row else None


def list_sending_blocks(conn: sqlite3.Connection) -> list[SendingBlock]:
    return [SendingBlock(*r) for r in conn.execute(
        "SELECT address, since, reason FROM sending_blocks ORDER BY address")]


def unblock_sending(conn: sqlite3.Connection, address: str) -> bool:
    return conn.execute("DELETE FROM sending_blocks WHERE address = ?", (address,)).rowcount > 0


class SecurityMixin:
    """The contract's abuse-resistance block for `SqliteStore` (see store/contract.py)."""

    if TYPE_CHECKING:
        @property
        def _db(self) -> sqlite3.Connection: ...

        async def _write(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def count_events(self, keys: Sequence[str], window: float, now: float) -> list[int]:
        return await self._write(count_events, list(keys), window, now)

    async def clear_events(self, keys: Sequence[str]) -> None:
        await self._write(clear_events, list(keys))

    async def add_ban(self, address: str, until: float, reason: str, now: float) -> Ban:
        return await self._write(add_ban, address, until, reason, now)

    async def get_ban(self, address: str, now: float) -> Ban | None:
        return get_ban(self._db, address, now)

    async def list_bans(self, now: float) -> list[Ban]:
        return list_bans(self._db, now)

    async def remove_ban(self, address: str) -> bool:
        return await self._write(remove_ban, address)

    async def remember_known_source(self, pair: str, until: float) -> None:
        await self._write(remember_known_source, pair, until)

    async def known_source(self, pair: str, now: float) -> float | None:
        return known_source(self._db, pair, now)

    async def expire_known_sources(self, now: float) -> int:
        return await self._write(expire_known_sources, now)

    async def take_sending(self, limits: Sequence[SendLimit], recipients: int,
                           now: float) -> SendLimit | None:
        return await self._write(take_sending, list(limits), recipients, now)

    async def block_sending(self, address: str, reason: str, now: float) -> bool:
        return await self._write(block_sending, address, reason, now)

    async def get_sending_block(self, address: str) -> SendingBlock | None:
        return get_sending_block(self._db, address)

    async def list_sending_blocks(self) -> list[SendingBlock]:
        return list_sending_blocks(self._db)

    async def unblock_sending(self, address: str) -> bool:
        return await self._write(unblock_sending, address)
