"""`postbus migrate`: copy an embedded store into an empty PostgreSQL database.

Everything is copied as it is, ids included: domains, accounts with their
quota counters, aliases, administrators, settings (forwarding and vacation
rules, the UIDVALIDITY counter), the administration records (audit log, API
token digests, TOTP secrets, domain suspensions, admin panel sessions), folders with their UIDVALIDITY,
UIDNEXT and HIGHESTMODSEQ, messages with their UIDs, flags, internal dates and
mod-sequences, expunged records, the parse-once records with their search
text, the outbound queue, subscriptions, the vacation replies already sent,
login-failure counters, bans, known-good login sources, sending counters and
sending blocks, the webmail's address books, preferences and written-to
addresses, and every body a message or queue item references. Each folder's counters (messages, unseen,
size, deleted, deleted_size) are recomputed from the copied messages.
A client that synchronised against the embedded store finds the same folders
(RFC 9051 §2.3.1.1: same UIDVALIDITY, same UIDs) and the same mod-sequences
(RFC 7162 §3.1: CONDSTORE/QRESYNC resume), so it re-downloads nothing.

Invariants:

- The source is read in one read transaction under SQLite's exclusive lock
  (`locking_mode = EXCLUSIVE`, `query_only`): a consistent snapshot, and proof
  that no `postbus serve` has the store open (its connections make the lock
  fail, and a server started meanwhile cannot open the store). Nothing is
  written to the source.
- Every referenced body file is checked before anything is written; each body
  is checked against its SHA-256 name as it is copied.
- The target is given its schema first (`PostgresStore.open` migrates), then
  the tables are locked, found empty, filled with COPY and checked in ONE
  transaction: a failed or interrupted migration leaves the target empty, and
  the command can simply be run again.
- Identity sequences are moved past the copied ids before the commit, so the
  next folder, message or queue item gets a new id.
- Queue claims are cleared: they belonged to a server that is now stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from postbus.store.postgres.backend import PostgresStore
from postbus.store.postgres.rows import search_text

# Rows read from SQLite per step (and per progress line).
ROW_BATCH = 5000
# Bodies read from files per step, in bytes (a 12 MB message still goes alone).
BODY_BATCH_BYTES = 32 * 1024 * 1024
# How long to wait for SQLite's exclusive lock before saying the store is in use.
SOURCE_LOCK_TIMEOUT = 1.0
# How long to wait for the target's table locks before saying it is in use.
TARGET_LOCK_TIMEOUT = "10s"
CONNECT_TIMEOUT = 10.0

Row = tuple[Any, ...]


class MigrationError(Exception):
    """A refusal or failure, in one line for the operator; nothing was committed."""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]  # target columns, in the order `select` yields them
    select: str  # SQLite query
    source_columns: frozenset[str]  # what the SQLite table must have, exactly
    convert: Callable[[Row], Row] | None = None
    identity: bool = True  # an `id` identity column whose sequence must move on


@dataclass
class MigrationReport:
    counts: dict[str, int] = field(default_factory=dict)  # rows per target table
    body_bytes: int = 0
    seconds: float = 0.0


def _plain(name: str, columns: tuple[str, ...], *, order: str = "id",
           convert: Callable[[Row], Row] | None = None, identity: bool = True) -> Table:
    select = f"SELECT {', '.join(columns)} FROM {name} ORDER BY {order}"
    return Table(name, columns, select, frozenset(columns), convert, identity)


def _json_list(text: str) -> list[str]:
    return [str(x) for x in json.loads(text)]


def _flags(text: str) -> list[str]:
    return sorted(set(text.split()))


def _meta(r: Row) -> Row:
    return (r[0], r[1], bytes(r[2]), search_text(r[3] or ""), search_text(r[4] or ""))


# In foreign-key order. The source columns are those of migrations/sqlite.
TABLES: tuple[Table, ...] = (
    _plain("domains", ("id", "name", "dkim_selector", "dkim_private_key", "created")),
    _plain("accounts", ("id", "address", "domain_id", "password_hash", "quota_bytes", "enabled",
                        "used_bytes", "used_messages", "created", "last_login"),
           convert=lambda r: (*r[:5], bool(r[5]), *r[6:])),
    _plain("web_sessions", ("id_hash", "account_id", "csrf_token", "language", "created",
                            "last_seen"), order="id_hash", identity=False),
    _plain("aliases", ("source", "domain_id", "targets"), order="source",
           convert=lambda r: (r[0], r[1], _json_list(r[2])), identity=False),
    _plain("admins", ("id", "name", "password_hash", "operator", "domains"),
           convert=lambda r: (r[0], r[1], r[2], bool(r[3]), _json_list(r[4]))),
    _plain("settings", ("key", "value"), order="key", identity=False),
    # issue 14: the administration records
    _plain("audit_log", ("id", "at", "actor", "remote", "action", "target", "domain", "detail")),
    _plain("api_tokens", ("id", "admin_id", "digest", "label", "created")),
    _plain("admin_totp", ("admin_id", "secret", "last_step"), order="admin_id", identity=False),
    _plain("domain_suspensions", ("domain_id", "since"), order="domain_id", identity=False),
    _plain("admin_sessions", ("id_hash", "admin_id", "csrf_token", "created", "last_seen"),
           order="id_hash", identity=False),
    _plain("subscriptions", ("account_id", "name"), order="account_id, name", identity=False),
    # Vacation replies already sent (issue 14), so nobody is answered twice after the move.
    _plain("vacation_replies", ("account_id", "sender", "sent_at"), order="account_id, sender",
           identity=False),
    # The counters are copied as they are and recomputed from the copied
    # messages before the commit (`_recount`).
    _plain("mailboxes", ("id", "account_id", "name", "special_use", "uid_validity", "uid_next",
                         "highest_modseq", "messages", "unseen", "size", "deleted",
                         "deleted_size", "recent_uid", "object_id")),
    Table("message_meta", ("id", "blob_id", "meta", "header_text", "body_text"),
          "SELECT mm.id, mm.blob_id, mm.meta, s.header, s.body FROM message_meta mm"
          " LEFT JOIN message_search s ON s.rowid = mm.id ORDER BY mm.id",
          frozenset({"id", "blob_id", "meta"}), _meta),
    # Stored SORT/SEARCH keys (issue 12): copied as they are; a record without a
    # row gets one on its first large SORT or SEARCH, on either backend.
    _plain("message_keys", ("meta_id", "version", "subject", "addr_from", "addr_to", "addr_cc",
                            "addr_bcc", "sort_subject", "sort_from", "sort_to", "sort_cc",
                            "sort_display_from", "sort_display_to", "sort_date", "sent_day",
                            "envelope"),
           order="meta_id", identity=False),
    _plain("messages", ("id", "mailbox_id", "uid", "meta_id", "blob_id", "size",
                        "internal_date", "flags", "modseq", "saved"),
           convert=lambda r: (*r[:7], _flags(r[7]), r[8], r[9])),
    _plain("expunged", ("mailbox_id", "uid", "modseq"), order="mailbox_id, uid", identity=False),
    Table("queue", ("id", "sender", "blob_id", "size", "created", "next_attempt", "attempts",
                    "envid", "ret", "delay_notified", "claimed_by", "claimed_until", "recipients"),
          "SELECT id, sender, blob_id, size, created, next_attempt, attempts, envid, ret,"
          " delay_notified, '', 0.0, recipients FROM queue ORDER BY id",
          frozenset({"id", "sender", "blob_id", "size", "created", "next_attempt", "attempts",
                     "envid", "ret", "delay_notified", "claimed_by", "claimed_until",
                     "recipients"}),
          lambda r: (*r[:9], bool(r[9]), *r[10:])),
    # Abuse resistance (issue 15): bans and sending blocks must hold on the new
    # store; the windowed counters are copied too so a migration resets no limit.
    _plain("security_counters", ("key", "count", "expires"), order="key", identity=False),
    _plain("bans", ("address", "until", "reason", "created"), order="address", identity=False),
    _plain("sending_counters", ("scope", "period", "window_start", "messages", "recipients"),
           order="scope, period", identity=False),
    _plain("sending_blocks", ("address", "since", "reason"), order="address", identity=False),
    # The sources each account is known to log in from (security.throttle), so a
    # user's login keeps its priority under a flood right after the move.
    _plain("known_sources", ("pair", "until"), order="pair", identity=False),
    # webmail writing (issue 13): address book, preferences, addresses written to
    _plain("contacts", ("id", "account_id", "name", "email", "notes", "updated")),
    _plain("user_settings", ("account_id", "data"), order="account_id", identity=False),
    _plain("written_to", ("account_id", "address", "name", "last_used", "uses"),
           order="account_id, address", identity=False),
)
BLOB_COLUMNS = ("id", "size", "created", "data")
# SQLite tables that are not data: bookkeeping and the search index's own tables.
_NOT_DATA = ("sqlite_", "schema_migrations", "message_search")
# Since schema version 2 the search text of a record not indexed yet waits in
# `search_pending` (store/sqlite/search.py); it is in exactly one of the two
# places, and goes into message_meta's text columns either way.
_PENDING_COLUMNS = frozenset({"meta_id", "header", "body"})
_META_WITH_PENDING = (
    "SELECT mm.id, mm.blob_id, mm.meta, COALESCE(s.header, p.header), COALESCE(s.body, p.body)"
    " FROM message_meta mm LEFT JOIN message_search s ON s.rowid = mm.id"
    " LEFT JOIN search_pending p ON p.meta_id = mm.id ORDER BY mm.id"
)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _latest_sqlite_version() -> int:
    names = [f.name for f in resources.files("postbus.store.migrations.sqlite").iterdir()]
    return max(int(n.split("_", 1)[0]) for n in names if n.endswith(".sql"))


class Source:
    """The embedded store, read under its exclusive lock on one worker thread."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.blob_root = data_dir / "blobs"
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="postbus-migrate")
        self._conn: sqlite3.Connection | None = None
        self._pending = False  # the store has `search_pending`
        self._inline = False  # the store keeps small bodies in `blobs_inline`

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def open(self) -> None:
        await self.call(self._open)

    def _open(self) -> None:
        path = self.data_dir / "postbus.sqlite3"
        if not path.is_file():
            raise MigrationError(f"no embedded store at {path}")
        conn = sqlite3.connect(path, isolation_level=None, timeout=SOURCE_LOCK_TIMEOUT)
        try:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            conn.execute("PRAGMA query_only = ON")
            conn.execute("BEGIN")
            # The first read takes the exclusive lock (WAL without shared memory).
            version = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise MigrationError(
                    f"the embedded store in {self.data_dir} is in use: stop `postbus serve`"
                    " (and any other postbus command) first"
                ) from None
            raise MigrationError(f"cannot read {path}: {exc}") from None
        self._conn = conn
        if version != _latest_sqlite_version():
            raise MigrationError(
                f"the embedded store is at schema version {version}, this postbus at"
                f" {_latest_sqlite_version()}: run any postbus command on it once to upgrade it"
            )
        self._check_schema(conn)

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        """Refuses a store with tables or columns this migrator would not copy."""
        known = {t.name: t.source_columns for t in TABLES} | {
            "search_pending": _PENDING_COLUMNS, "blobs_inline": {"id", "created", "data"}}
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for name in names:
            if name.startswith(_NOT_DATA):
                continue
            if name not in known:
                raise MigrationError(f"the embedded store has a table {name} that migrate"
                                     " does not know; nothing was copied")
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({name})")}
            if have != known[name]:
                raise MigrationError(f"table {name} has columns {sorted(have)}, migrate expects"
                                     f" {sorted(known[name])}; nothing was copied")
        self._pending = "search_pending" in names
        self._inline = "blobs_inline" in names

    async def close(self) -> None:
        def close() -> None:
            if self._conn is not None:
                self._conn.close()  # ends the read transaction and the lock
                self._conn = None

        await self.call(close)
        self._thread.shutdown(wait=True)

    @property
    def conn(self) -> sqlite3.Connection:
        assert self._conn is not None, "source is not open"
        return self._conn

    async def count(self, table: str) -> int:
        result: int = await self.call(
            lambda: self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        )
        return result

    async def rows(self, table: Table) -> AsyncIterator[list[Row]]:
        select = table.select
        if table.name == "message_meta" and self._pending:
            select = _META_WITH_PENDING
        cursor = await self.call(self.conn.execute, select)
        while batch := await self.call(cursor.fetchmany, ROW_BATCH):
            convert = table.convert
            yield [convert(r) for r in batch] if convert else [tuple(r) for r in batch]

    async def referenced_bodies(self) -> list[str]:
        def read() -> list[str]:
            found = self.conn.execute(
                "SELECT blob_id FROM messages UNION SELECT blob_id FROM queue ORDER BY 1"
            )
            return [r[0] for r in found]

        result: list[str] = await self.call(read)
        return result

    def body_path(self, blob_id: str) -> Path:
        return self.blob_root / blob_id[:2] / blob_id[2:4] / blob_id

    async def body_sizes(self, blob_ids: Sequence[str]) -> list[int | None]:
        """The size of each body file, None where it is missing."""
        def sizes() -> list[int | None]:
            out: list[int | None] = []
            for blob_id in blob_ids:
                try:
                    out.append(self.body_path(blob_id).stat().st_size)
                except FileNotFoundError:
                    out.append(self._inline_size(blob_id))
            return out

        result: list[int | None] = await self.call(sizes)
        return result

    # Since schema version 2 small bodies live in the database (store/blobs.py).
    def _inline_size(self, blob_id: str) -> int | None:
        if not self._inline:
            return None
        row = self.conn.execute(
            "SELECT length(data) FROM blobs_inline WHERE id = ?", (blob_id,)).fetchone()
        return None if row is None else int(row[0])

    def _inline_data(self, blob_id: str) -> bytes:
        row = None
        if self._inline:
            row = self.conn.execute("SELECT data FROM blobs_inline WHERE id = ?", (blob_id,)).fetchone()
        if row is None:
            raise MigrationError(f"message body {blob_id} is missing; nothing was copied")
        return bytes(row[0])

    def _read_bodies(self, blob_ids: Sequence[str], now: float) -> list[Row]:
        out: list[Row] = []
        for blob_id in blob_ids:
            try:
                data = self.body_path(blob_id).read_bytes()
            except FileNotFoundError:
                data = self._inline_data(blob_id)
            if hashlib.sha256(data).hexdigest() != blob_id:
                raise MigrationError(f"message body {blob_id} is damaged (its SHA-256 differs);"
                                     " nothing was copied")
            out.append((blob_id, len(data), now, data))
        return out

    async def bodies(
        self, blob_ids: Sequence[str], sizes: Sequence[int]
    ) -> AsyncIterator[list[Row]]:
        """Batches of blob rows, each at most BODY_BATCH_BYTES (or one body)."""
        now = time.time()
        batch: list[str] = []
        batch_bytes = 0
        for blob_id, size in zip(blob_ids, sizes, strict=True):
            if batch and batch_bytes + size > BODY_BATCH_BYTES:
                yield await self.call(self._read_bodies, batch, now)
                batch, batch_bytes = [], 0
            batch.append(blob_id)
            batch_bytes += size
        if batch:
            yield await self.call(self._read_bodies, batch, now)


async def _prepare_target(url: str) -> None:
    """Creates or upgrades the PostgreSQL schema the way a node would at start."""
    with tempfile.TemporaryDirectory(prefix="postbus-migrate-") as scratch:
        store = PostgresStore(url, Path(scratch))
        await store.open()
        await store.close()


async def _lock_empty(conn: Any) -> None:
    names = [t.name for t in TABLES] + ["blobs"]
    await conn.execute(f"SET LOCAL lock_timeout = '{TARGET_LOCK_TIMEOUT}'")
    try:
        await conn.execute(f"LOCK TABLE {', '.join(names)} IN ACCESS EXCLUSIVE MODE")
    except asyncpg.exceptions.LockNotAvailableError:
        raise MigrationError("the target database is in use: stop the Postbus nodes on it") from None
    for name in names:
        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {name})"):
            raise MigrationError(f"the target database already has data (table {name} is not"
                                 " empty): migrate only copies into an empty database")


async def _copy(conn: Any, name: str, columns: Sequence[str], batches: AsyncIterator[list[Row]],
                total: int, progress: Callable[[str], None]) -> int:
    """One COPY fed batch by batch from the source; returns the rows copied."""
    copied = 0

    async def records() -> AsyncIterator[Row]:
        nonlocal copied
        async for batch in batches:
            for row in batch:
                yield row
            copied += len(batch)
            progress(f"  {name}: {copied:,} of {total:,}")

    await conn.copy_records_to_table(name, records=records(), columns=list(columns))
    return copied


# Every folder's counters from its messages, as migrations/postgresql/0002 backfills them.
_RECOUNT = (
    "UPDATE mailboxes b SET messages = COALESCE(c.messages, 0), unseen = COALESCE(c.unseen, 0),"
    " size = COALESCE(c.size, 0), deleted = COALESCE(c.deleted, 0),"
    " deleted_size = COALESCE(c.deleted_size, 0)"
    " FROM mailboxes b2 LEFT JOIN (SELECT mailbox_id, count(*) AS messages,"
    " count(*) FILTER (WHERE NOT '\\Seen' = ANY(flags)) AS unseen, sum(size) AS size,"
    " count(*) FILTER (WHERE '\\Deleted' = ANY(flags)) AS deleted,"
    " sum(size) FILTER (WHERE '\\Deleted' = ANY(flags)) AS deleted_size"
    " FROM messages GROUP BY mailbox_id) c ON c.mailbox_id = b2.id WHERE b.id = b2.id"
)


async def _finish(conn: Any, expected: dict[str, int], body_bytes: int) -> None:
    """Recounts the folder counters, moves the identity sequences on and checks
    what the target now holds."""
    await conn.execute(_RECOUNT)
    for table in TABLES:
        if table.identity:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), max(id))"
                f" FROM {table.name} HAVING max(id) IS NOT NULL"
            )
    for name, count in expected.items():
        found = await conn.fetchval(f"SELECT count(*) FROM {name}")
        if found != count:
            raise MigrationError(f"verification failed: {name} has {found} rows, expected {count};"
                                 " nothing was committed")
    stored = await conn.fetchval("SELECT COALESCE(sum(size), 0) FROM blobs")
    if stored != body_bytes:
        raise MigrationError(f"verification failed: {stored} body bytes stored, {body_bytes} read")


async def migrate_to_postgres(
    data_dir: Path, url: str, *, progress: Callable[[str], None] = lambda line: None
) -> MigrationReport:
    """Copies the embedded store in `data_dir` into the empty database at `url`."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise MigrationError(f"{url!r} is not a postgresql:// URL")
    started = time.monotonic()
    report = MigrationReport()
    source = Source(Path(data_dir))
    try:
        await source.open()
        expected = {t.name: await source.count(t.name) for t in TABLES}
        blob_ids = await source.referenced_bodies()
        found = await source.body_sizes(blob_ids)
        missing = [b for b, size in zip(blob_ids, found, strict=True) if size is None]
        if missing:
            raise MigrationError(f"{len(missing)} message bodies are missing from"
                                 f" {source.blob_root} (first: {missing[0]}); nothing was copied")
        sizes = [size or 0 for size in found]
        expected["blobs"] = len(blob_ids)
        report.body_bytes = sum(sizes)
        progress(f"source {data_dir}: {expected['accounts']:,} accounts,"
                 f" {expected['messages']:,} messages, {len(blob_ids):,} bodies"
                 f" ({report.body_bytes / 2**20:,.1f} MB)")
        try:
            await _prepare_target(url)
            conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT)
        except (OSError, asyncpg.PostgresError, TimeoutError, RuntimeError) as exc:
            raise MigrationError(f"cannot use {redact(url)}: {exc}") from None
        try:
            async with conn.transaction():
                await _lock_empty(conn)
                for table in TABLES:
                    report.counts[table.name] = await _copy(
                        conn, table.name, table.columns, source.rows(table),
                        expected[table.name], progress,
                    )
                report.counts["blobs"] = await _copy(
                    conn, "blobs", BLOB_COLUMNS, source.bodies(blob_ids, sizes), len(blob_ids),
                    progress,
                )
                await _finish(conn, expected, report.body_bytes)
                progress("committing")
            await conn.execute("ANALYZE")  # the planner's statistics for the new rows
        except asyncpg.PostgresError as exc:
            raise MigrationError(f"copy failed, nothing was committed: {exc}") from None
        finally:
            await conn.close()
    finally:
        await source.close()
    report.seconds = time.monotonic() - started
    return report
