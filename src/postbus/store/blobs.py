"""Content-addressed message bodies as files.

A body lives at `root/ab/cd/<sha256 hex>`. It is written to `root/tmp/`, flushed
with fsync, renamed into place, and the directory is flushed too, all before
`finish()` returns; only then may a transaction reference it. So a crash at any
point leaves at worst an unreferenced file (collected later), never a reference
to a missing one. Identical bodies (one message to many recipients, COPY) are
stored once.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from postbus.store.model import BlobRef

# Chunks are kept in memory up to this size, then spilled to the temporary file.
SPILL_THRESHOLD = 256 * 1024
# Unreferenced files younger than this are left alone by garbage collection:
# they may belong to a transaction that has not committed yet.
GC_GRACE_SECONDS = 3600.0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileBlobStore:
    def __init__(self, root: Path, run: Callable[..., Any]) -> None:
        """`run(fn, *args)` is the executor seam: it returns an awaitable."""
        self.root = root
        self.tmp = root / "tmp"
        self._run = run

    def prepare(self) -> None:
        """Creates the directories and removes temporary files left by a crash.

        Only old ones: another process (a running server, while the CLI opens
        the store) may be writing a new one right now."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - GC_GRACE_SECONDS
        for leftover in self.tmp.iterdir():
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except FileNotFoundError:
                continue

    def path(self, blob_id: str) -> Path:
        return self.root / blob_id[:2] / blob_id[2:4] / blob_id

    def writer(self) -> FileBlobWriter:
        return FileBlobWriter(self)

    async def put(self, data: bytes) -> BlobRef:
        w = self.writer()
        w.write(data)
        return await w.finish()

    def read_sync(self, blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        with open(self.path(blob_id), "rb") as f:
            if offset:
                f.seek(offset)
            return f.read(length)

    async def read(self, blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        if 0 <= length <= 65536:
            return self.read_sync(blob_id, offset, length)
        result: bytes = await self._run(self.read_sync, blob_id, offset, length)
        return result

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).exists()

    def commit_file(self, tmp_path: Path | None, data: bytes, digest: str) -> None:
        """Makes the blob durable under its final name (runs in the executor)."""
        final = self.path(digest)
        if final.exists():
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)
            return
        if tmp_path is None:
            tmp_path = self.tmp / secrets.token_hex(12)
            with open(tmp_path, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_path, final)
        _fsync_dir(final.parent)

    def sweep(self, referenced: Callable[[str], bool]) -> int:
        """Deletes old files that `referenced` says nothing points to."""
        removed = 0
        cutoff = time.time() - GC_GRACE_SECONDS
        for sub in self.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
            try:
                if sub.stat().st_mtime > cutoff or referenced(sub.name):
                    continue
                sub.unlink()
                removed += 1
            except FileNotFoundError:
                continue
        return removed


class FileBlobWriter:
    def __init__(self, store: FileBlobStore) -> None:
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
                self._tmp_path = self._store.tmp / secrets.token_hex(12)
                self._file = open(self._tmp_path, "wb")
                self._file.write(b"".join(self._chunks))
                self._chunks = []
        else:
            self._file.write(chunk)

    async def finish(self) -> BlobRef:
        digest = self._hash.hexdigest()
        if self._file is not None:
            f = self._file
            self._file = None

            def flush_close() -> None:
                f.flush()
                os.fsync(f.fileno())
                f.close()

            await self._store._run(flush_close)
            await self._store._run(self._store.commit_file, self._tmp_path, b"", digest)
        else:
            data = b"".join(self._chunks)
            self._chunks = []
            await self._store._run(self._store.commit_file, None, data, digest)
        return BlobRef(digest, self._size)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tmp_path is not None:
            self._tmp_path.unlink(missing_ok=True)
        self._chunks = []


def executor_runner(executor: Executor | None) -> Callable[..., Any]:
    def run(fn: Callable[..., Any], *args: Any) -> Any:
        return asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    return run
