"""Throwaway PostgreSQL databases for integration tests and benchmarks.

The machine's server answers on 127.0.0.1:5432 with trust auth (override with
POSTBUS_TEST_PG). `throwaway_database()` creates a database with a random
name, yields its URL and drops it afterwards (WITH (FORCE): a server process
killed by the test may have left connections behind). In CI (CI=true) an
unreachable server fails the test; elsewhere it skips.

The helpers are synchronous and work from sync and async tests alike: each
call runs its asyncpg work on a fresh event loop in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import asyncpg
import pytest

PG_DSN = os.environ.get("POSTBUS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
CONNECT_TIMEOUT = 3.0
NAME_PREFIX = "postbus_test_"

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Runs `coro` to completion on its own loop in a worker thread."""
    box: dict[str, Any] = {}

    def main() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=main, name="pg-helper")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: T = box["value"]
    return result


def database_url(name: str) -> str:
    return PG_DSN.rsplit("/", 1)[0] + "/" + name


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_DSN, timeout=CONNECT_TIMEOUT)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def require_postgres() -> None:
    """PostgreSQL must answer: in CI its absence fails the test, elsewhere it skips."""
    try:
        _run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL at {PG_DSN} is unreachable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def create_database() -> str:
    """A new empty database; returns its URL."""
    name = NAME_PREFIX + uuid.uuid4().hex[:12]
    _run(_admin(f'CREATE DATABASE "{name}"'))
    return database_url(name)


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    assert name.startswith(NAME_PREFIX), f"refusing to drop {name}"
    _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def throwaway_database() -> Iterator[str]:
    """The URL of a new empty database, dropped on exit (skips or fails without a server)."""
    require_postgres()
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)
