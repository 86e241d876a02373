"""SQLite plumbing: connections, migrations, and the group-committing writer.

All writes run on one writer thread that owns the write connection. Jobs that
arrive while a transaction is being committed are batched into the next
transaction, each inside its own SAVEPOINT, and the batch pays for one WAL
fsync (group commit). A job's future resolves only after its COMMIT returned,
so callers see success only for durable changes. Reads use other connections:
point reads on the event loop's own connection, long reads on reader threads.

Work that no caller waits for (building the full-text index) is the writer's
idle work: `Writer.idle`, one bounded step per transaction. `schedule_idle(n)`
says that n more units wait. A step runs
- when no job has arrived for `IDLE_QUIET` seconds: a burst of deliveries is
  not slowed down by idle work;
- when `idle_backlog` units wait and no job does: a load that lasts keeps the
  backlog near that size;
- when idle work has waited `IDLE_MAX_DELAY` seconds: a load that never lets
  the writer rest cannot starve it (one step per IDLE_MAX_DELAY).
Only the last waits for its turn when other processes write too: the others
give way while a job of any process waits (`CommitTurn.try_idle`).
Idle transactions commit without an fsync (`synchronous = NORMAL`): losing one
to a crash loses no acknowledged change, only work that is then redone, and
the next job's commit (FULL) flushes the WAL with it anyway.

Invariant: a job function never awaits and never touches the event loop.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from postbus import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

# Most jobs folded into one transaction; bounds the latency of the first job.
MAX_BATCH = 256
BUSY_TIMEOUT_MS = 10_000
# Idle work runs after this long without a job (seconds)...
IDLE_QUIET = 0.05
# ...and, under a load that never lets the writer rest, at least this often (seconds).
IDLE_MAX_DELAY = 2.0


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        _enter_wal(conn, path)
        # FULL: every commit is fsync'd, so an acknowledged message survives power loss.
        conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA cache_size = -16000")
    return conn


def commit_lock_path(path: Path) -> Path:
    """The lock file beside the database through which processes take turns (`CommitTurn`)."""
    return path.with_name(path.name + "-commit.lock")


def _enter_wal(conn: sqlite3.Connection, path: Path) -> None:
    """Switches a new database to WAL once, whoever opens it first.

    Changing the journal mode takes an exclusive lock without calling the busy
    handler: two processes opening a fresh database together (worker processes
    at their first start) would fail with "database is locked". They take turns
    on the commit lock instead; once in WAL the mode persists, so the lock is
    only taken until then.
    """
    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    turn = CommitTurn(commit_lock_path(path))
    turn.open()
    try:
        with turn:
            conn.execute("PRAGMA journal_mode = WAL")
    finally:
        turn.close()


def migrate(conn: sqlite3.Connection) -> int:
    """Applies the numbered migration files that have not run yet; returns the version."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    files = sorted(
        (f for f in resources.files("postbus.store.migrations.sqlite").iterdir()
         if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    version = max(done, default=0)
    for f in files:
        number = int(f.name.split("_", 1)[0])
        if number in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process (a worker starting beside this one) may have
            # applied it since `done` was read: the write lock decides.
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?",
                            (number,)).fetchone():
                conn.execute("ROLLBACK")
                version = number
                continue
            for statement in _statements(f.read_text()):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (?)", (number,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = number
        log.info("store migrated to schema version %d", number)
    return version


def _statements(script: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if sqlite3.complete_statement("\n".join(current)):
            out.append("\n".join(current))
            current = []
    return out


class CommitTurn:
    """An exclusive flock(2) held around each write transaction.

    Several processes writing one database serialise on SQLite's write lock
    anyway, but a writer that finds it taken polls: SQLite's busy handler
    sleeps 1, 2, 5, ... up to 100 ms between tries, so under load a commit can
    wait most of that after the lock was freed. Waiting on this lock instead
    sleeps in the kernel and wakes when the holder releases it. SQLite's lock
    and `BUSY_TIMEOUT_MS` still guard writers that do not take turns here
    (migrations, other tools).

    Idle work gives way to jobs in every process: a writer with jobs holds a
    shared lock on a second file (`want_path`) while it waits for its turn,
    and an idle step takes the turn only when that file is free and the turn
    is too, without waiting (`try_idle`). flock wakes its waiters in no order,
    so otherwise a worker with nothing but idle work (the search indexer, in
    steps of up to ~50 ms) could take turn after turn while another worker's
    jobs waited: a POP3 QUIT expunging 2,000 messages waited 0.2-0.6 s behind
    the other worker's indexing before.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.want_path = path.with_name(path.name + ".want")
        self._fd = -1
        self._want = -1

    def open(self) -> None:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._want = os.open(self.want_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def close(self) -> None:
        for fd in (self._fd, self._want):
            if fd >= 0:
                os.close(fd)
        self._fd = self._want = -1

    def take(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._want, fcntl.LOCK_SH)  # a job waits: idle work holds back
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            finally:
                fcntl.flock(self._want, fcntl.LOCK_UN)

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def __enter__(self) -> None:
        self.take()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def try_idle(self) -> bool:
        """Takes the turn for an idle step if no job waits for it in any process
        and nobody holds it; else False at once (`release` it after)."""
        if self._fd < 0:
            return True
        try:
            fcntl.flock(self._want, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(self._want, fcntl.LOCK_UN)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


# A job gets the write connection and a list to which it appends the change
# events that its work produces; they are published only if it committed.
JobFn = Callable[[sqlite3.Connection, list[Any]], T]
# Idle work does one bounded step inside a transaction; returns (units done, more remain).
IdleFn = Callable[[sqlite3.Connection], tuple[int, bool]]


class _Job:
    __slots__ = ("changes", "fn", "future")

    def __init__(self, fn: JobFn[Any]) -> None:
        self.fn = fn
        self.changes: list[Any] = []
        self.future: Future[Any] = Future()


class Writer:
    """The single writer thread with group commit."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="postbus-sqlite-writer", daemon=True)
        self._conn: sqlite3.Connection | None = None
        # Writers in other processes (worker processes, the command line) take
        # turns through this lock around each transaction (`CommitTurn`).
        self._turn = CommitTurn(commit_lock_path(path))
        self.after_commit: Callable[[list[Any]], None] | None = None
        self.idle: IdleFn | None = None
        # Units of idle work that are worth a step as soon as no job waits.
        self.idle_backlog = 1
        self._idle_work = 0  # units waiting (an estimate: a step finds out)
        self._idle_since = 0.0  # when the idle work waiting now was first scheduled

    def schedule_idle(self, units: int = 1) -> None:
        """`units` more of idle work wait (on the writer thread, from a job, or before start)."""
        if not self._idle_work:
            self._idle_since = time.monotonic()
        self._idle_work += units

    def start(self) -> None:
        self._turn.open()
        self._conn = connect(self._path)
        self._thread.start()

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join()
        if self._conn is not None:
            self._conn.close()
        self._turn.close()

    async def run(self, fn: JobFn[T]) -> T:
        started = time.perf_counter()
        job = _Job(fn)
        metrics.writer_queue(1)
        self._jobs.put(job)
        try:
            return await asyncio.wrap_future(job.future)
        finally:
            metrics.store_done("sqlite", started)

    def run_sync(self, fn: JobFn[T]) -> T:
        job = _Job(fn)
        metrics.writer_queue(1)
        self._jobs.put(job)
        result: T = job.future.result()
        return result

    def _main(self) -> None:
        conn = self._conn
        assert conn is not None
        stopping = False
        while not stopping:
            first = self._next_job(conn)
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            self._run_batch(conn, batch)

    def _next_job(self, conn: sqlite3.Connection) -> _Job | None:
        """The next job, doing idle steps while they are due (see the module docstring)."""
        resting = False  # no job came for IDLE_QUIET: step on until one comes
        while self._idle_work and self.idle is not None:
            overdue = time.monotonic() - self._idle_since > IDLE_MAX_DELAY
            if overdue or (
                (resting or self._idle_work >= self.idle_backlog) and self._jobs.empty()
            ):
                # An overdue step waits for its turn; any other gives way to the
                # jobs of other processes and is tried again after IDLE_QUIET.
                if self._run_idle(conn, self.idle, wait=overdue):
                    continue
            try:
                return self._jobs.get(timeout=IDLE_QUIET)
            except queue.Empty:
                resting = True
        return self._jobs.get()

    def _run_idle(self, conn: sqlite3.Connection, step: IdleFn, wait: bool) -> bool:
        """One idle step; False when it gave way to another process's jobs."""
        if wait:
            self._turn.take()
        elif not self._turn.try_idle():
            return False
        try:
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                done, more = step(conn)
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        except Exception:
            # Left until the next schedule_idle(): retrying at once would spin.
            log.exception("idle work failed")
            done, more = 0, False
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        finally:
            self._turn.release()
            conn.execute("PRAGMA synchronous = FULL")
        self._idle_work = max(self._idle_work - done, 1) if more else 0
        self._idle_since = time.monotonic()
        return True

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        metrics.writer_queue(-len(batch))
        # A caller cancelled before its job started gets nothing done; once a
        # job runs, a cancellation no longer reaches it and its result is kept.
        batch = [job for job in batch if job.future.set_running_or_notify_cancel()]
        if not batch:
            return
        with self._turn:
            outcomes = self._transaction(conn, batch)
        if outcomes is None:
            return
        committed = [change for job, ok, _ in outcomes if ok for change in job.changes]
        if self.after_commit is not None:
            try:
                self.after_commit(committed)
            except Exception:
                log.exception("after-commit hook failed")
        for job, ok, value in outcomes:
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)

    def _transaction(self, conn: sqlite3.Connection,
                     batch: list[_Job]) -> list[tuple[_Job, bool, Any]] | None:
        """Runs the batch in one transaction; None when it did not commit (the
        jobs' futures then hold the error)."""
        outcomes: list[tuple[_Job, bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            for job in batch:
                job.future.set_exception(exc)
            return None
        for job in batch:
            conn.execute("SAVEPOINT job")
            try:
                result = job.fn(conn, job.changes)
            except BaseException as exc:  # the job's own failure, not the batch's
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                outcomes.append((job, False, exc))
            else:
                conn.execute("RELEASE job")
                outcomes.append((job, True, result))
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.exception("commit failed")
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            for job in batch:
                job.future.set_exception(exc)
            return None
        return outcomes
