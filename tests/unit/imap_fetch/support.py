"""A SqliteStore folder and helpers to drive fetch/search/sort without a session."""

from __future__ import annotations

import calendar
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from postbus.config import Settings
from postbus.delivery.ingest import ingest_bytes
from postbus.imap.fetch import FetchOutcome, fetch
from postbus.imap.proto import FetchArgs, SearchArgs, SortArgs, parse_command
from postbus.imap.search import criterion
from postbus.imap.sort import sort_keys
from postbus.mailbox.search import search
from postbus.mailbox.service import Mailboxes
from postbus.mailbox.sort import sort
from postbus.store.model import MessageEntry
from postbus.store.sqlite.backend import SqliteStore

#: "01-Jul-2003 10:00:00 +0000", the default INTERNALDATE of test messages
JULY_2003 = float(calendar.timegm((2003, 7, 1, 10, 0, 0, 0, 0, 0)))


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


class Folder:
    """One folder of a fresh account, with the calls a session would make."""

    def __init__(self, store: SqliteStore, mailbox_id: int) -> None:
        self.store = store
        self.mailboxes = Mailboxes(store, Settings())
        self.mailbox_id = mailbox_id

    async def add(
        self, raw: bytes, *, flags: Iterable[str] = (), internal_date: float = JULY_2003
    ) -> int:
        ingested = await ingest_bytes(self.store, raw)
        appended = await self.store.append(
            self.mailbox_id, ingested.blob, ingested.parsed, flags=flags,
            internal_date=internal_date,
        )
        return appended.uid

    async def entries(self) -> list[MessageEntry]:
        return await self.store.list_messages(self.mailbox_id)

    async def fetch(
        self, args: str, *, uid: bool = False, readonly: bool = False, utf8: bool = False,
        entries: list[MessageEntry] | None = None,
    ) -> tuple[bytes, FetchOutcome]:
        """Run ``[UID] FETCH args`` and return (everything written, outcome)."""
        cmd = parse_command([f"A {'UID ' if uid else ''}FETCH {args}".encode()])
        assert isinstance(cmd.args, FetchArgs)
        view = entries if entries is not None else await self.entries()
        if uid:
            uids = set(cmd.args.seqset.values(view[-1].uid if view else 0)) if view else set()
            targets = [(n, e) for n, e in enumerate(view, 1) if e.uid in uids]
        else:
            seqs = set(cmd.args.seqset.values(len(view)))
            targets = [(n, e) for n, e in enumerate(view, 1) if n in seqs]
        written: list[bytes] = []

        async def write(data: bytes) -> None:
            written.append(data)

        outcome = await fetch(
            self.mailboxes, self.mailbox_id, targets, cmd.args.atts, uid_command=uid,
            readonly=readonly, utf8=utf8, changed_since=cmd.args.changedsince, write=write,
        )
        return b"".join(written), outcome

    async def search(
        self, keys: str, *, saved: list[int] | None = None,
        recent: frozenset[int] = frozenset(), entries: list[MessageEntry] | None = None,
    ) -> list[int]:
        cmd = parse_command([f"A SEARCH {keys}".encode()])
        assert isinstance(cmd.args, SearchArgs)
        view = entries if entries is not None else await self.entries()
        uids = await search(self.store, self.mailbox_id, view,
                            criterion(cmd.args.key, view, saved=saved), recent=recent)
        return numbers(view, uids)

    async def sort(self, args: str) -> list[int]:
        cmd = parse_command([f"A SORT {args}".encode()])
        assert isinstance(cmd.args, SortArgs)
        view = await self.entries()
        matches = await search(self.store, self.mailbox_id, view, criterion(cmd.args.key, view))
        ordered = await sort(self.store, self.mailbox_id, matches, sort_keys(cmd.args.criteria))
        return numbers(view, ordered)


def numbers(view: list[MessageEntry], uids: list[int]) -> list[int]:
    """The sequence numbers of `uids` in `view`, in the order given."""
    number = {e.uid: n for n, e in enumerate(view, 1)}
    return [number[u] for u in uids if u in number]


async def open_folder(tmp_path: Path) -> tuple[SqliteStore, Folder]:
    store = SqliteStore(tmp_path / "data")
    await store.open()
    await store.add_domain("example.org")
    account = await store.add_account("user@example.org", "x", quota_bytes=0)
    mailbox = await store.get_mailbox(account.id, "INBOX")
    assert mailbox is not None
    return store, Folder(store, mailbox.id)


@pytest.fixture
async def folder(tmp_path: Path) -> AsyncIterator[Folder]:
    store, box = await open_folder(tmp_path)
    try:
        yield box
    finally:
        await store.close()


# -- a strict reader of FETCH responses, to check well-formedness -----------------------
Value = bytes | str | list["Value"] | None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def expect(self, token: bytes) -> None:
        assert self.data.startswith(token, self.pos), (token, self.data[self.pos:self.pos + 40])
        self.pos += len(token)

    def value(self) -> Value:
        c = self.data[self.pos:self.pos + 1]
        if c == b"(":
            self.pos += 1
            items: list[Value] = []
            while not self.data.startswith(b")", self.pos):
                if items and not self.data.startswith(b"(", self.pos):
                    self.expect(b" ")  # 1*address and 1*body have no separator
                items.append(self.value())
            self.pos += 1
            return items
        if c == b'"':
            out = bytearray()
            self.pos += 1
            while True:
                ch = self.data[self.pos]
                self.pos += 1
                if ch == 0x5C:
                    out.append(self.data[self.pos])
                    self.pos += 1
                elif ch == 0x22:
                    return bytes(out)
                else:
                    assert ch not in (0x0D, 0x0A), "CR/LF in a quoted string"
                    out.append(ch)
        if c in (b"{", b"~"):
            if c == b"~":
                self.pos += 1
            end = self.data.index(b"}\r\n", self.pos)
            size = int(self.data[self.pos + 1:end])
            self.pos = end + 3
            literal = self.data[self.pos:self.pos + size]
            assert len(literal) == size
            self.pos += size
            return literal
        start = self.pos
        depth = 0
        while self.pos < len(self.data):
            char = self.data[self.pos:self.pos + 1]
            if char == b"[":
                depth += 1
            elif char == b"]":
                depth -= 1
            elif depth == 0 and char in (b" ", b")", b"\r"):
                break
            self.pos += 1
        atom = self.data[start:self.pos].decode()
        assert atom, self.data[start:start + 40]
        return None if atom == "NIL" else atom


def parse_fetch(data: bytes) -> list[tuple[int, dict[str, Value]]]:
    """Every ``* n FETCH (...)`` response in `data`, strictly, as (n, {item: value})."""
    reader = _Reader(data)
    out = []
    while reader.pos < len(data):
        reader.expect(b"* ")
        end = data.index(b" ", reader.pos)
        seq = int(data[reader.pos:end])
        reader.pos = end
        reader.expect(b" FETCH ")
        items = reader.value()
        reader.expect(b"\r\n")
        assert isinstance(items, list) and len(items) % 2 == 0
        keys = items[0::2]
        assert all(isinstance(k, str) for k in keys)
        out.append((seq, {str(k): v for k, v in zip(keys, items[1::2], strict=True)}))
    return out
