"""SQL of the abuse-resistance tables (store.security) for PostgreSQL.

Every node counts in the same rows: a counter's row is created if missing,
then locked (SELECT ... FOR UPDATE) for the read-then-write, so two nodes
counting at once see each other's events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from postbus.store.model import Change
from postbus.store.postgres.db import Conn
from postbus.store.security import Ban, SendingBlock, SendLimit, passes, window_start

T = TypeVar("T")

# Expired counters are deleted this long after their window ended.
_PRUNE_AFTER = 3600.0
_BAN_COLS = "address, until, reason, created"


class SecurityMixin:
    """The contract's abuse-resistance block for `PostgresStore` (see store/contract.py)."""

    if TYPE_CHECKING:
        pool: Any

        async def _write(self, fn: Callable[[Conn, list[Change]], Awaitable[T]]) -> T: ...

    async def count_events(self, keys: Sequence[str], window: float, now: float) -> list[int]:
        async def job(conn: Conn, _: list[Change]) -> list[int]:
            await conn.execute("DELETE FROM security_counters WHERE expires < $1",
                               now - _PRUNE_AFTER)
            counts = []
            for key in keys:
                await conn.execute(
                    "INSERT INTO security_counters (key, count, expires) VALUES ($1, 0, $2)"
                    " ON CONFLICT (key) DO NOTHING", key, now + window)
                row = await conn.fetchrow(
                    "SELECT count, expires FROM security_counters WHERE key = $1 FOR UPDATE", key)
                live = row["count"] > 0 and row["expires"] > now
                count = row["count"] + 1 if live else 1
                await conn.execute("UPDATE security_counters SET count = $2, expires = $3"
                                   " WHERE key = $1", key, count,
                                   row["expires"] if live else now + window)
                counts.append(count)
            return counts

        return await self._write(job)

    async def clear_events(self, keys: Sequence[str]) -> None:
        async def job(conn: Conn, _: list[Change]) -> None:
            await conn.execute("DELETE FROM security_counters WHERE key = ANY($1::text[])",
                               list(keys))

        await self._write(job)

    async def add_ban(self, address: str, until: float, reason: str, now: float) -> Ban:
        async def job(conn: Conn, _: list[Change]) -> None:
            await conn.execute(
                f"INSERT INTO bans ({_BAN_COLS}) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (address) DO UPDATE SET until = EXCLUDED.until,"
                " reason = EXCLUDED.reason, created = EXCLUDED.created",
                address, until, reason, now)

        await self._write(job)
        return Ban(address, until, reason, now)

    async def get_ban(self, address: str, now: float) -> Ban | None:
        row = await self.pool.fetchrow(
            f"SELECT {_BAN_COLS} FROM bans WHERE address = $1 AND until > $2", address, now)
        return Ban(*row) if row else None

    async def list_bans(self, now: float) -> list[Ban]:
        found = await self.pool.fetch(
            f'SELECT {_BAN_COLS} FROM bans WHERE until > $1 ORDER BY address COLLATE "C"', now)
        return [Ban(*r) for r in found]

    async def remove_ban(self, address: str) -> bool:
        async def job(conn: Conn, _: list[Change]) -> bool:
            status: str = await conn.execute("DELETE FROM bans WHERE address = $1", address)
            return status != "DELETE 0"

        return await self._write(job)

    async def remember_known_source(self, pair: str, until: float) -> None:
        async def job(conn: Conn, _: list[Change]) -> None:
            await conn.execute("INSERT INTO known_sources (pair, until) VALUES ($1, $2)"
                               " ON CONFLICT (pair) DO UPDATE SET until = EXCLUDED.until",
                               pair, until)

        await self._write(job)

    async def known_source(self, pair: str, now: float) -> float | None:
        until = await self.pool.fetchval(
            "SELECT until FROM known_sources WHERE pair = $1 AND until > $2", pair, now)
        return None if until is None else float(until)

    async def expire_known_sources(self, now: float) -> int:
        async def job(conn: Conn, _: list[Change]) -> int:
            status: str = await conn.execute("DELETE FROM known_sources WHERE until <= $1", now)
            return int(status.rsplit(" ", 1)[1])

        return await self._write(job)

    async def take_sending(self, limits: Sequence[SendLimit], recipients: int,
                           now: float) -> SendLimit | None:
        async def job(conn: Conn, _: list[Change]) -> SendLimit | None:
            counted = []
            for limit in limits:
                start = window_start(now, limit.period)
                await conn.execute(
                    "INSERT INTO sending_counters (scope, period, window_start, messages,"
                    " recipients) VALUES ($1, $2, $3, 0, 0) ON CONFLICT DO NOTHING",
                    limit.scope, limit.period, start)
                row = await conn.fetchrow(
                    "SELECT window_start, messages, recipients FROM sending_counters"
                    " WHERE scope = $1 AND period = $2 FOR UPDATE", limit.scope, limit.period)
                same = row["window_start"] == start
                messages, rcpts = (row["messages"], row["recipients"]) if same else (0, 0)
                if not passes(limit, messages, rcpts, recipients):
                    return limit  # the transaction changed no counter
                counted.append((limit.scope, limit.period, start, messages + 1,
                                rcpts + recipients))
            await conn.executemany(
                "UPDATE sending_counters SET window_start = $3, messages = $4, recipients = $5"
                " WHERE scope = $1 AND period = $2", counted)
            return None

        return await self._write(job)

    async def block_sending(self, address: str, reason: str, now: float) -> bool:
        async def job(conn: Conn, _: list[Change]) -> bool:
            status: str = await conn.execute(
                "INSERT INTO sending_blocks (address, since, reason)"
                " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", address, now, reason)
            return status != "INSERT 0 0"

        return await self._write(job)

    async def get_sending_block(self, address: str) -> SendingBlock | None:
        row = await self.pool.fetchrow(
            "SELECT address, since, reason FROM sending_blocks WHERE address = $1", address)
        return SendingBlock(*row) if row else None

    async def list_sending_blocks(self) -> list[SendingBlock]:
        found = await self.pool.fetch(
            'SELECT address, since, reason FROM sending_blocks ORDER BY address COLLATE "C"')
        return [SendingBlock(*r) for r in found]

    async def unblock_sending(self, address: str) -> bool:
        async def job(conn: Conn, _: list[Change]) -> bool:
            status: str = await conn.execute("DELETE FROM sending_blocks WHERE address = $1",
                                             address)
            return status != "DELETE 0"

        return await self._write(job)
