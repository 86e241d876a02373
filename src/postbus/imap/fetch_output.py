"""Buffered, streaming output of FETCH responses.

Small responses are gathered into writes of about `FLUSH_BYTES`, so that a
FETCH of 50,000 messages makes a few hundred calls to the session's writer,
not 50,000. A large literal is never assembled in memory: its `{n}` prefix is
written, then the stored octets in `CHUNK_BYTES` pieces read one at a time
from the blob store (RFC 9051 §4.3 literal), so the writer's flow control
bounds what is held. Invariant: bytes reach `write` in the order they were
added.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from postbus.imap.proto.writer import literal_prefix
from postbus.mailbox.fetch import Content, MessageReader, Span

#: Gathered output is handed to the session's writer once it reaches this size.
FLUSH_BYTES = 64 * 1024

#: Large literals are read from the store and written in pieces of this size.
CHUNK_BYTES = 64 * 1024

Write = Callable[[bytes], Awaitable[None]]


class Output:
    """Gathers response bytes for `write`; streams big literals from the store."""

    __slots__ = ("_parts", "_size", "_write")

    def __init__(self, write: Write) -> None:
        self._write = write
        self._parts: list[bytes] = []
        self._size = 0

    async def add(self, data: bytes) -> None:
        self._parts.append(data)
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            await self.flush()

    def add_now(self, data: bytes) -> None:
        """Add without flushing (the caller flushes at a message boundary)."""
        self._parts.append(data)
        self._size += len(data)

    @property
    def pending(self) -> int:
        return self._size

    async def flush(self) -> None:
        if self._parts:
            data = b"".join(self._parts)
            self._parts.clear()
            self._size = 0
            await self._write(data)

    async def literal(self, content: Content, raw: MessageReader, *, binary: bool = False,
                      nul_check: bool = False) -> None:
        """``{n}CRLF`` (``~{n}`` for `binary`) and the octets of `content`.

        With `nul_check` (a BINARY[...] answer, RFC 3516 §4.2) octets that hold a NUL
        go in a literal8 too: a plain literal cannot carry NUL (RFC 3501 §9 CHAR8). A
        part too large to look at first is sent as a literal8, which BINARY allows."""
        size = len(content)
        if not isinstance(content, Span):
            if nul_check and b"\x00" in content:
                binary = True
            await self.add(literal_prefix(size, binary))
            await self._data(content)
            return
        data = raw.cached(content.start, content.end)
        if data is not None or size <= CHUNK_BYTES:
            if data is None:
                data = await raw.read(content.start, content.end)
            if nul_check and b"\x00" in data:
                binary = True
            await self.add(literal_prefix(size, binary))
            await self._data(data)
            return
        await self.add(literal_prefix(size, binary or nul_check))
        await self.flush()
        for offset in range(content.start, content.end, CHUNK_BYTES):
            await self._write(await raw.read(offset, min(offset + CHUNK_BYTES, content.end)))

    async def _data(self, data: bytes) -> None:
        if len(data) <= CHUNK_BYTES:
            await self.add(data)
            return
        await self.flush()
        view = memoryview(data)
        for offset in range(0, len(data), CHUNK_BYTES):
            await self._write(bytes(view[offset:offset + CHUNK_BYTES]))
