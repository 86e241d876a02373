"""Content-addressed message bodies of the embedded store: small ones in SQLite, big ones as files.

A body is named by the lowercase hex SHA-256 of its bytes; identical bodies (one
message to many recipients, COPY) are stored once. Two places hold them:

- A body of at most `INLINE_LIMIT` octets (most mail) goes into the SQLite
  table `blobs_inline`, in the same transaction as the first message or queue
  item that references it: `finish()` only keeps the bytes in memory (the
  stage) and returns the BlobRef; the writer job that references it calls
  `reference()`, which inserts the bytes (INSERT OR IGNORE) before the
  reference. The body and its first reference therefore commit together, in
  one group-committed WAL fsync shared with the other jobs of the batch,
  instead of two fsyncs of its own (file and directory).
- A bigger body is a file `root/ab/cd/<sha256 hex>`, written to `root/tmp/`,
  flushed with fsync, renamed into place, and its directory flushed too, all
  before `finish()` returns; a directory level created for it is made durable
  first (fsync of its parent, up to the root). A body stored already is not
  written again but renewed: its mtime is set to now.

Invariants:

- No committed reference to a missing body. A staged body leaves the stage
  only once it is durable: after the commit of a transaction that inserted it
  (`stored()`), or after it was written as a file (unreferenced for
  `STAGE_MAX_AGE`); when the stage is full, a small body is written as a file
  at once. `reference()` refuses (NotFound) a body that is neither staged, nor
  in the table, nor a file, rather than commit a dangling reference.
- So the BlobRef of a small body is durable only together with the first call
  that references it (append, deliver, enqueue): a crash before that loses
  bytes nothing refers to. A call that fails (over quota) leaves it staged.
- Garbage collection removes unreferenced rows and files only once they are
  `GC_GRACE_SECONDS` old (files: since written or renewed): a caller may hold
  the BlobRef of a body whose messages were just expunged and append it again.
- No collection removes a body that a committed or committing transaction
  references. Rows and files are checked and deleted in writer jobs, that is
  under the database's write lock, which every referencing transaction holds
  from its check of the body (`reference()`) to its commit, in this process
  or another. (Only the search for candidate files runs on a reader.) A
  renewal runs outside the database, so a file is claimed by a rename before
  it is deleted and kept if it was renewed meanwhile (`remove_unreferenced`).
  A BlobRef older than the grace period may find its body gone: the append is
  refused (NotFound), never committed.
- Reads look in the stage, then the table, then the files.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from postbus import executor
from postbus.security import files
from postbus.store import errors
from postbus.store.model import BlobRef

log = logging.getLogger(__name__)

# Chunks are kept in memory up to this size, then spilled to the temporary file.
SPILL_THRESHOLD = 256 * 1024
# Bodies up to this size are stored in the database, with the transaction that references them.
INLINE_LIMIT = 64 * 1024
# Staged bytes held at most; past this, small bodies are written as files.
STAGE_LIMIT = 64 * 1024 * 1024
# A staged body no transaction has taken after this long is written as a file (seconds).
STAGE_MAX_AGE = 600.0
# Unreferenced files younger than this are left alone by garbage collection:
# they may belong to a transaction that has not committed yet.
GC_GRACE_SECONDS = 3600.0
# Rows of blobs_inline examined per garbage-collection job.
GC_INLINE_BATCH = 1000
# Body files re-checked and removed per garbage-collection job (under the write lock).
GC_FILE_BATCH = 256
# Reads up to this size run inline on the event loop (a page-cache hit costs microseconds).
INLINE_READ_LIMIT = 65536


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mkdir_durable(path: Path) -> bool:
    """Creates one directory and makes its entry durable (fsync of the parent);
    False when it existed."""
    try:
        path.mkdir(mode=files.PRIVATE_DIR)
    except FileExistsError:
        return False
    _fsync_dir(path.parent)
    return True


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive flock on `path`: between threads (one open file each) and processes."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class FileBlobStore:
    """Bodies as files, each fsync'd with its directories before it is referenced.

    Garbage collection (`old_files` on a reader, then `remove_unreferenced` as
    a writer job) removes a file only under the database's write lock and only
    after re-checking, under that lock, that no row references it; see
    `remove_unreferenced` for the race with a writer renewing the same file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        # Body directories known to exist durably (created, and the parent fsync'd).
        self._durable_dirs: set[Path] = set()

    def prepare(self) -> None:
        """Creates the directories and removes temporary files left by a crash.

        Only old ones: another process (a running server, while the CLI opens
        the store) may be writing a new one right now."""
        files.private_dir(self.root.parent)
        _mkdir_durable(self.root)
        _mkdir_durable(self.tmp)
        cutoff = time.time() - GC_GRACE_SECONDS
        for leftover in self.tmp.iterdir():
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except FileNotFoundError:
                continue

    def path(self, blob_id: str) -> Path:
        return self.root / blob_id[:2] / blob_id[2:4] / blob_id

    def read(self, blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        with open(self.path(blob_id), "rb") as f:
            if offset:
                f.seek(offset)
            return f.read(length)

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).exists()

    def commit_file(self, tmp_path: Path | None, data: bytes, digest: str) -> None:
        """Makes the blob durable under its final name (runs in the executor).

        A body stored already is renewed instead: its mtime is what garbage
        collection's grace period counts from, so the caller's BlobRef is as
        safe as that of a new body."""
        final = self.path(digest)
        if _renew(final):
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)
            return
        if tmp_path is None:
            tmp_path = self.tmp / secrets.token_hex(12)
            with files.open_private(tmp_path) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        self._make_dirs(final.parent)
        os.replace(tmp_path, final)
        _fsync_dir(final.parent)

    def _make_dirs(self, leaf: Path) -> None:
        """Creates `root/ab/cd`, each new level made durable by an fsync of its parent.

        Under a lock shared by threads and processes, so that a directory seen
        to exist is one whose creator has fsync'd its parent already."""
        if leaf in self._durable_dirs:
            return
        with _file_lock(self.root / ".dirs.lock"):
            _mkdir_durable(leaf.parent)
            _mkdir_durable(leaf)
        self._durable_dirs.add(leaf)

    def old_files(self, cutoff: float) -> list[str]:
        """Names of the body files last written or renewed before `cutoff` (any thread)."""
        names = []
        for sub in self.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
            try:
                if sub.stat().st_mtime < cutoff:
                    names.append(sub.name)
            except FileNotFoundError:
                continue
        return names

    def remove_unreferenced(
        self, names: Iterable[str], cutoff: float, referenced: Callable[[str], bool]
    ) -> int:
        """Deletes the files among `names` older than `cutoff` that `referenced` says
        nothing points to. Runs as a writer job: `referenced` asks the write
        transaction, and no other transaction can add a reference (it would need
        the write lock, in any process) until this one has committed.

        A writer may still renew a file between the check and the delete
        (`commit_file` on an existing body runs outside the database). So the
        file is first claimed, renamed away atomically, and checked again: renewed
        meanwhile, it goes back; a renewal after the rename finds no file and
        writes the body anew."""
        removed = 0
        for name in names:
            path = self.path(name)
            try:
                if path.stat().st_mtime >= cutoff or referenced(name):
                    continue
                claimed = self.tmp / f"gc-{secrets.token_hex(8)}"
                os.rename(path, claimed)
            except FileNotFoundError:
                continue
            if claimed.stat().st_mtime >= cutoff:  # renewed before the rename
                try:
                    os.link(claimed, path)
                    _fsync_dir(path.parent)
                except FileExistsError:
                    pass  # written anew after the rename: the same bytes
            else:
                removed += 1
            claimed.unlink()
        return removed


def _renew(path: Path) -> bool:
    """Sets a stored body's mtime to now; False when there is no such file."""
    now = time.time()
    try:
        os.utime(path, (now, now))
    except FileNotFoundError:
        return False
    return True


class _Staged:
    __slots__ = ("data", "refs", "since")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.refs = 0  # BlobRefs handed out and not yet stored
        self.since = time.monotonic()


class Stage:
    """Small bodies between `finish()` and the commit that stores them (any thread)."""

    def __init__(self) -> None:
        self._items: dict[str, _Staged] = {}
        self._lock = threading.Lock()
        self.size = 0

    def add(self, blob_id: str, data: bytes) -> bool:
        """Holds the body for one more BlobRef; False when the stage is full."""
        with self._lock:
            item = self._items.get(blob_id)
            if item is None:
                if self.size + len(data) > STAGE_LIMIT:
                    return False
                item = self._items[blob_id] = _Staged(data)
                self.size += len(data)
            item.refs += 1
            return True

    def get(self, blob_id: str) -> bytes | None:
        item = self._items.get(blob_id)
        return None if item is None else item.data

    def release(self, blob_id: str, *, all_refs: bool = False) -> None:
        """One BlobRef's body is durable now (all of them with `all_refs`)."""
        with self._lock:
            item = self._items.get(blob_id)
            if item is None:
                return
            item.refs = 0 if all_refs else item.refs - 1
            if item.refs <= 0:
                del self._items[blob_id]
                self.size -= len(item.data)

    def stale(self) -> list[tuple[str, bytes]]:
        now = time.monotonic()
        with self._lock:
            return [(blob_id, item.data) for blob_id, item in self._items.items()
                    if now - item.since > STAGE_MAX_AGE]


class EmbeddedBlobs:
    """The embedded store's bodies: staged, in `blobs_inline`, or files (see the docstring).

    `run(fn, *args)` is the executor seam for file I/O (it returns an
    awaitable); `db()` is the event loop's read connection."""

    def __init__(
        self, root: Path, run: Callable[..., Any], db: Callable[[], sqlite3.Connection]
    ) -> None:
        self.files = FileBlobStore(root)
        self.stage = Stage()
        self._run = run
        self._db = db
        self._next_stale_check = 0.0

    def prepare(self) -> None:
        self.files.prepare()

    def writer(self) -> EmbeddedBlobWriter:
        return EmbeddedBlobWriter(self)

    async def put(self, data: bytes) -> BlobRef:
        w = self.writer()
        w.write(data)
        return await w.finish()

    async def read(self, blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        staged = self.stage.get(blob_id)
        if staged is not None:
            return staged[offset:] if length < 0 else staged[offset:offset + length]
        found = read_inline(self._db(), blob_id, offset, length)
        if found is not None:
            return found
        if 0 <= length <= INLINE_READ_LIMIT:
            return self.files.read(blob_id, offset, length)
        result: bytes = await self._run(self.files.read, blob_id, offset, length)
        return result

    def exists(self, blob_id: str) -> bool:
        return (self.stage.get(blob_id) is not None
                or read_inline(self._db(), blob_id, 0, 0) is not None
                or self.files.exists(blob_id))

    async def _stage_or_file(self, digest: str, data: bytes) -> None:
        if not self.stage.add(digest, data):
            await self._run(self.files.commit_file, None, data, digest)
        now = time.monotonic()
        if now >= self._next_stale_check:
            self._next_stale_check = now + STAGE_MAX_AGE / 10
            await self._write_out_stale()

    async def _write_out_stale(self) -> None:
        """Staged bodies no transaction took become files: their BlobRefs stay valid."""
        for blob_id, body in self.stage.stale():
            try:
                await self._run(self.files.commit_file, None, body, blob_id)
            except OSError as exc:  # kept staged; tried again at the next check
                log.warning("cannot write staged body %s: %s", blob_id, exc)
                return
            self.stage.release(blob_id, all_refs=True)

    # -- inside writer jobs (the writer thread) -----------------------------------
    def reference(self, conn: sqlite3.Connection, blob: BlobRef) -> None:
        """Makes sure the transaction of `conn` may reference `blob`: stores a staged
        body in it, or checks that the body is stored already. Call `stored(blob)`
        once that transaction committed."""
        staged = self.stage.get(blob.id)
        if staged is not None:
            conn.execute("INSERT OR IGNORE INTO blobs_inline (id, created, data) VALUES (?, ?, ?)",
                         (blob.id, time.time(), staged))
        elif not (conn.execute("SELECT 1 FROM blobs_inline WHERE id = ?", (blob.id,)).fetchone()
                  or self.files.exists(blob.id)):
            raise errors.NotFound(f"message body {blob.id} is not stored")

    def stored(self, blob: BlobRef) -> None:
        """The transaction that referenced `blob` committed: its staged bytes are durable."""
        self.stage.release(blob.id)


def read_inline(conn: sqlite3.Connection, blob_id: str, offset: int, length: int) -> bytes | None:
    if length < 0:
        row = conn.execute("SELECT substr(data, ?) FROM blobs_inline WHERE id = ?",
                           (offset + 1, blob_id)).fetchone()
    else:
        row = conn.execute("SELECT substr(data, ?, ?) FROM blobs_inline WHERE id = ?",
                           (offset + 1, length, blob_id)).fetchone()
    return None if row is None else bytes(row[0] or b"")


def referenced(conn: sqlite3.Connection, blob_id: str) -> bool:
    """Whether a message or a queue item refers to the body."""
    return bool(
        conn.execute("SELECT 1 FROM messages WHERE blob_id = ? LIMIT 1", (blob_id,)).fetchone()
        or conn.execute("SELECT 1 FROM queue WHERE blob_id = ? LIMIT 1", (blob_id,)).fetchone()
    )


def collect_inline(conn: sqlite3.Connection, after: int, cutoff: float) -> tuple[int, int]:
    """Deletes unreferenced rows created before `cutoff` among the next GC_INLINE_BATCH
    after rowid `after` (a writer job); returns (rows removed, last rowid examined, or
    -1 at the end)."""
    rows = conn.execute(
        "SELECT rowid, id, created FROM blobs_inline WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (after, GC_INLINE_BATCH),
    ).fetchall()
    if not rows:
        return 0, -1
    unused = [(rowid,) for rowid, blob_id, created in rows
              if created < cutoff and not referenced(conn, blob_id)]
    conn.executemany("DELETE FROM blobs_inline WHERE rowid = ?", unused)
    return len(unused), int(rows[-1][0])


def unreferenced_files(conn: sqlite3.Connection, files: FileBlobStore, cutoff: float) -> list[str]:
    """Candidates for `collect_files`, found on a reader (no lock held)."""
    return [name for name in files.old_files(cutoff) if not referenced(conn, name)]


def collect_listed(
    conn: sqlite3.Connection, files: FileBlobStore, names: list[str], cutoff: float
) -> int:
    """`collect_inline` and `collect_files` for the named bodies only (a writer job)."""
    unused = [name for name in names if not referenced(conn, name)]
    removed = conn.executemany("DELETE FROM blobs_inline WHERE id = ? AND created < ?",
                               [(name, cutoff) for name in unused]).rowcount
    return max(removed, 0) + files.remove_unreferenced(unused, cutoff, lambda name: referenced(conn, name))


def collect_files(
    conn: sqlite3.Connection, files: FileBlobStore, names: list[str], cutoff: float
) -> int:
    """Removes those of `names` still old and unreferenced (a writer job)."""
    return files.remove_unreferenced(names, cutoff, lambda name: referenced(conn, name))


class EmbeddedBlobWriter:
    def __init__(self, store: EmbeddedBlobs) -> None:
        self._store = store
        self._hash = hashlib.sha256()
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._size = 0
        self._file: Any = None
        self._tmp_path: Path | None = None

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._hash.update(chunk)
        self._size += len(chunk)
        if self._file is None:
            self._chunks.append(bytes(chunk))
            self._buffered += len(chunk)
            if self._buffered > SPILL_THRESHOLD:
                self._tmp_path = self._store.files.tmp / secrets.token_hex(12)
                self._file = files.open_private(self._tmp_path)
                self._file.write(b"".join(self._chunks))
                self._chunks = []
        else:
            self._file.write(chunk)

    async def finish(self) -> BlobRef:
        digest = self._hash.hexdigest()
        files = self._store.files
        if self._file is not None:
            f = self._file
            self._file = None

            def flush_close() -> None:
                f.flush()
                os.fsync(f.fileno())
                f.close()

            await self._store._run(flush_close)
            await self._store._run(files.commit_file, self._tmp_path, b"", digest)
        else:
            data = b"".join(self._chunks)
            self._chunks = []
            if len(data) <= INLINE_LIMIT:
                await self._store._stage_or_file(digest, data)
            else:
                await self._store._run(files.commit_file, None, data, digest)
        return BlobRef(digest, self._size)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tmp_path is not None:
            self._tmp_path.unlink(missing_ok=True)
        self._chunks = []


def pool_runner(pool: str) -> Callable[..., Awaitable[Any]]:
    """Runs blocking file work in `pool` of the executor seam (postbus.executor)."""
    def run(fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        return executor.run(pool, fn, *args)

    return run
