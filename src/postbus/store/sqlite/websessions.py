"""Webmail sessions in the embedded store (migrations/sqlite/0006_web_sessions.sql).

Writes run on the writer thread's connection inside its transaction; reads are
point reads on any connection."""

from __future__ import annotations

import sqlite3
from typing import Any

from postbus.store.model import WebSession

_COLS = "id_hash, account_id, csrf_token, language, created, last_seen"


def create(conn: sqlite3.Connection, s: WebSession) -> None:
    conn.execute(f"INSERT INTO web_sessions ({_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
                 (s.id_hash, s.account_id, s.csrf_token, s.language, s.created, s.last_seen))


def get(conn: sqlite3.Connection, id_hash: str) -> WebSession | None:
    row = conn.execute(f"SELECT {_COLS} FROM web_sessions WHERE id_hash = ?",
                       (id_hash,)).fetchone()
    return None if row is None else WebSession(*row)


def update(conn: sqlite3.Connection, id_hash: str, last_seen: float | None,
           language: str | None) -> None:
    sets: list[str] = []
    args: list[Any] = []
    if last_seen is not None:
        sets.append("last_seen = ?")
        args.append(last_seen)
    if language is not None:
        sets.append("language = ?")
        args.append(language)
    if sets:
        conn.execute(f"UPDATE web_sessions SET {', '.join(sets)} WHERE id_hash = ?",
                     (*args, id_hash))


def delete(conn: sqlite3.Connection, id_hash: str) -> None:
    conn.execute("DELETE FROM web_sessions WHERE id_hash = ?", (id_hash,))


def delete_many(conn: sqlite3.Connection, account_id: int | None,
                idle_before: float | None) -> int:
    if account_id is not None:
        return conn.execute("DELETE FROM web_sessions WHERE account_id = ?",
                            (account_id,)).rowcount
    if idle_before is not None:
        return conn.execute("DELETE FROM web_sessions WHERE last_seen < ?",
                            (idle_before,)).rowcount
    raise ValueError("name the account or the idle limit")
