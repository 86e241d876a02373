"""Where a message body goes while it streams in, and how it becomes one durable blob.

The blob store is content-addressed, so the bytes of a message must be written
in their final order: our header fields first, then the body. Two cases:

- Every header field we add is known when the body starts (submission, and the
  MX while no Authentication-Results verifier is installed): the sink writes
  our fields into a blob writer and then streams the body straight behind them.
  Nothing but the blob writer's own bounded buffer holds the body.
- A header field depends on the whole body (Authentication-Results on the MX:
  DKIM hashes the body): the body goes to a `Spool` — in memory up to
  `SPOOL_MEMORY_LIMIT`, past that in an anonymous temporary file that a crash
  cannot leave behind — and, once complete, is read back *once* for the
  verifier, then written behind the late field into the blob writer in
  `COPY_SLICE` pieces. Peak memory is one copy of the body plus a slice. A
  `body_filter` may rewrite the body once the verifier has seen it (the MX
  drops forged Authentication-Results fields, RFC 8601 §5).

Either way the message is parsed once (`ingest_blob`): from the bytes still in
memory when the message is small, from the blob otherwise.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

from postbus import executor
from postbus.delivery.ingest import Ingested, ingest_blob
from postbus.store import Store
from postbus.store.contract import BlobWriter

SPOOL_MEMORY_LIMIT = 256 * 1024  # body octets kept in memory before spilling to a file
HEAD_LIMIT = 256 * 1024  # messages up to this size are parsed from memory, not re-read
COPY_SLICE = 64 * 1024  # spooled bodies are copied into the blob writer in pieces this big

LateHeader = Callable[[bytes], Awaitable[bytes]]


class Spool:
    """A body in memory while small, in an unnamed temporary file when large."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._chunks: list[bytes] = []
        self._file: IO[bytes] | None = None
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._file is not None:
            self._file.write(chunk)
            return
        self._chunks.append(chunk)
        if self.size > SPOOL_MEMORY_LIMIT:
            # O_TMPFILE where available: no name, nothing left behind by a crash
            self._file = tempfile.TemporaryFile(dir=self._directory)
            self._file.writelines(self._chunks)
            self._chunks = []

    async def read(self) -> bytes:
        if self._file is None:
            return b"".join(self._chunks)
        f = self._file

        def read_all() -> bytes:
            f.flush()
            f.seek(0)
            return f.read()

        return await executor.run(executor.IO, read_all)

    def close(self) -> None:
        self._chunks = []
        if self._file is not None:
            self._file.close()
            self._file = None


class MessageSink:
    """One message being received: `write` body chunks, then `finish` or `abort`."""

    def __init__(
        self, store: Store, prefix: bytes, *, late_header: LateHeader | None = None,
        spool_dir: Path | None = None, body_filter: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self._store = store
        self._prefix = prefix
        self._late = late_header
        self._body_filter = body_filter
        self._writer: BlobWriter | None = None
        self._spool: Spool | None = None
        self._head: list[bytes] | None = [prefix]
        self._size = len(prefix)
        self.body_size = 0
        if late_header is None:
            self._writer = store.blob_writer()
            self._writer.write(prefix)
        else:
            if spool_dir is None:
                raise ValueError("a late header needs a spool directory")
            self._spool = Spool(spool_dir)

    def write(self, chunk: bytes) -> None:
        self.body_size += len(chunk)
        if self._spool is not None:
            self._spool.write(chunk)
            return
        assert self._writer is not None
        self._writer.write(chunk)
        self._keep(chunk)

    def _keep(self, chunk: bytes) -> None:
        if self._head is None:
            return
        self._size += len(chunk)
        if self._size > HEAD_LIMIT:
            self._head = None  # too big to keep: parse from the blob
        else:
            self._head.append(chunk)

    async def finish(self) -> Ingested:
        """Makes the message a durable blob and parses it once."""
        if self._spool is not None:
            await self._finish_spooled(self._spool)
        assert self._writer is not None
        writer, self._writer = self._writer, None
        blob = await writer.finish()
        head = b"".join(self._head) if self._head is not None else None
        self._head = None
        return await ingest_blob(self._store, blob, head)

    async def _finish_spooled(self, spool: Spool) -> None:
        assert self._late is not None
        self._spool = None
        try:
            body = await spool.read()
        finally:
            spool.close()
        late = await self._late(body)
        if self._body_filter is not None:
            body = self._body_filter(body)
        writer = self._writer = self._store.blob_writer()
        writer.write(late)
        writer.write(self._prefix)
        if len(late) + len(self._prefix) + len(body) <= HEAD_LIMIT:
            writer.write(body)
            self._head = [late, self._prefix, body]
            return
        self._head = None
        view = memoryview(body)
        for start in range(0, len(body), COPY_SLICE):
            writer.write(bytes(view[start : start + COPY_SLICE]))

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        self._head = None
