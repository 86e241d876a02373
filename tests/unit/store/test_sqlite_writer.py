"""The SQLite writer thread: it survives callers that give up while their job
waits, and its idle work gives way to the jobs of other processes."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from postbus.store.sqlite import db
from postbus.store.sqlite.db import IDLE_QUIET, CommitTurn, Writer, commit_lock_path


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


def test_idle_work_gives_way_to_a_job_waiting_in_another_process(tmp_path: Path) -> None:
    """A writer with only idle work takes the commit turn only when it is free
    and no job of any process waits for it (a job holds the want lock shared)."""
    path = commit_lock_path(tmp_path / "db.sqlite3")
    idle, job = CommitTurn(path), CommitTurn(path)
    idle.open()
    job.open()
    waiting = os.open(idle.want_path, os.O_RDWR)
    try:
        assert idle.try_idle()  # nobody else: taken
        idle.release()
        job.take()  # another process's transaction holds the turn
        assert not idle.try_idle()
        job.release()
        fcntl.flock(waiting, fcntl.LOCK_SH)  # a job waits for its turn
        assert not idle.try_idle()
        fcntl.flock(waiting, fcntl.LOCK_UN)
        assert idle.try_idle()
        # ...and a job is not refused while idle work holds the turn: it waits.
        taken = threading.Event()
        thread = threading.Thread(target=lambda: (job.take(), taken.set()))
        thread.start()
        assert not taken.wait(0.1)
        idle.release()
        assert taken.wait(5)
        job.release()
        thread.join()
    finally:
        os.close(waiting)
        idle.close()
        job.close()


async def test_the_writer_defers_idle_steps_while_another_process_wants_the_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db, "IDLE_MAX_DELAY", 600.0)  # no step is overdue in this test
    writer = Writer(tmp_path / "db.sqlite3")
    steps: list[int] = []
    writer.idle = lambda conn: (steps.append(1), (1, False))[1]
    waiting = os.open(CommitTurn(commit_lock_path(tmp_path / "db.sqlite3")).want_path,
                      os.O_RDWR | os.O_CREAT)
    fcntl.flock(waiting, fcntl.LOCK_SH)  # another process's job waits for the turn
    writer.schedule_idle(1)
    writer.start()
    try:
        # The writer's own jobs still run (a job never yields to another's wish)...
        assert await writer.run(lambda conn, changes: 7) == 7
        await asyncio.sleep(IDLE_QUIET * 4)
        assert steps == []  # ...but its idle step waited
        fcntl.flock(waiting, fcntl.LOCK_UN)
        for _ in range(200):
            if steps:
                break
            await asyncio.sleep(IDLE_QUIET)
        assert steps == [1]
    finally:
        os.close(waiting)
        writer.stop()
