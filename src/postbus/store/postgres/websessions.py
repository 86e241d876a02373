"""Webmail sessions in the PostgreSQL store (migrations/postgresql/0005_web_sessions.sql)."""

from __future__ import annotations

from typing import Any

from postbus.store.model import WebSession
from postbus.store.postgres.db import Conn

_COLS = "id_hash, account_id, csrf_token, language, created, last_seen"


async def create(conn: Conn, s: WebSession) -> None:
    await conn.execute(f"INSERT INTO web_sessions ({_COLS}) VALUES ($1, $2, $3, $4, $5, $6)",
                       s.id_hash, s.account_id, s.csrf_token, s.language, s.created, s.last_seen)


async def get(conn: Any, id_hash: str) -> WebSession | None:
    row = await conn.fetchrow(f"SELECT {_COLS} FROM web_sessions WHERE id_hash = $1", id_hash)
    return None if row is None else WebSession(*row)


async def update(conn: Conn, id_hash: str, last_seen: float | None, language: str | None) -> None:
    sets: list[str] = []
    args: list[Any] = []
    for column, value in (("last_seen", last_seen), ("language", language)):
        if value is not None:
            args.append(value)
            sets.append(f"{column} = ${len(args)}")
    if sets:
        args.append(id_hash)
        await conn.execute(
            f"UPDATE web_sessions SET {', '.join(sets)} WHERE id_hash = ${len(args)}", *args)


async def delete(conn: Conn, id_hash: str) -> None:
    await conn.execute("DELETE FROM web_sessions WHERE id_hash = $1", id_hash)


async def delete_many(conn: Conn, account_id: int | None, idle_before: float | None) -> int:
    if account_id is not None:
        status = await conn.execute("DELETE FROM web_sessions WHERE account_id = $1", account_id)
    elif idle_before is not None:
        status = await conn.execute("DELETE FROM web_sessions WHERE last_seen < $1", idle_before)
    else:
        raise ValueError("name the account or the idle limit")
    return int(status.rsplit(" ", 1)[1])
