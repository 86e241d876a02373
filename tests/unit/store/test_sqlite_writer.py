"""The SQLite writer thread survives callers that give up while their job waits."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from postbus.store.sqlite.db import Writer


async def test_cancelled_waiting_job_does_not_kill_the_writer(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "db.sqlite3")
    writer.start()
    try:
        release = threading.Event()

        def slow(conn: sqlite3.Connection, changes: list[object]) -> str:
            release.wait(5)
            return "slow"

        def quick(conn: sqlite3.Connection, changes: list[object]) -> int:
            return int(conn.execute("SELECT 41 + 1").fetchone()[0])

        first = asyncio.create_task(writer.run(slow))
        await asyncio.sleep(0.05)  # the writer thread is now inside `slow`
        second = asyncio.create_task(writer.run(quick))
        await asyncio.sleep(0.05)
        second.cancel()
        await asyncio.sleep(0)
        release.set()
        assert await first == "slow"
        assert await asyncio.wait_for(writer.run(quick), 5) == 42
    finally:
        writer.stop()
