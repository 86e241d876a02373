"""The contract suite runs against every backend: `store` is parametrised.

The PostgreSQL backend runs against the server on 127.0.0.1:5432 (trust auth),
in a database created for the test and dropped afterwards. In CI a missing
server fails the run; elsewhere the PostgreSQL cases are skipped only when the
server is unreachable (`require_server`)."""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from postbus.store.contract import Store
from postbus.store.model import Parsed

PG_DSN = os.environ.get("POSTBUS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _backends() -> list[str]:
    backends = ["sqlite"]
    if importlib.util.find_spec("postbus.store.postgres") is not None:
        backends.append("postgresql")
    return backends


async def _pg_database() -> str:
    import asyncpg

    name = "postbus_test_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _pg_drop(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def require_server() -> None:
    """PostgreSQL must answer: in CI (CI=true) its absence fails the test, elsewhere it skips."""
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_DSN} is unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL at {PG_DSN} is unreachable: {exc}")
    await conn.close()


async def open_backend(kind: str, tmp_path: Path) -> tuple[Store, str | None]:
    if kind == "sqlite":
        from postbus.store.sqlite.backend import SqliteStore

        store: Store = SqliteStore(tmp_path / "data")
        await store.open()
        return store, None
    from postbus.store.postgres.backend import PostgresStore

    await require_server()
    db = await _pg_database()
    url = PG_DSN.rsplit("/", 1)[0] + "/" + db
    store = PostgresStore(url, tmp_path / "data")
    await store.open()
    return store, db


@pytest.fixture(params=_backends())
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s, db = await open_backend(request.param, tmp_path)
    try:
        yield s
    finally:
        await s.close()
        if db is not None:
            await _pg_drop(db)


def parsed(text: str = "hello world") -> Parsed:
    return Parsed(meta=b"meta:" + text.encode(), header_text=f"Subject: {text}", body_text=text)


def message(n: int = 0, size: int = 0) -> bytes:
    body = f"Subject: message {n}\r\n\r\nbody {n}\r\n".encode()
    return body + b"x" * max(0, size - len(body))


FlagUpdate = Callable[[frozenset[str]], frozenset[str]]


def add(*flags: str) -> FlagUpdate:
    """A `store_flags` update as +FLAGS makes it (the rule itself is the service's)."""
    return lambda current: current | set(flags)


def remove(*flags: str) -> FlagUpdate:
    return lambda current: current - set(flags)


def replace(*flags: str) -> FlagUpdate:
    return lambda current: frozenset(flags)
