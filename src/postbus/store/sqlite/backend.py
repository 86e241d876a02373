"""The embedded store: SQLite (WAL) for metadata and small bodies, files for big bodies.

This class owns the life cycle and the threads; the SQL lives in one module
per concern (`directory`, `folders`, `messages`, `outbound`, `search`), as
in the PostgreSQL backend. Writes go through the group-committing writer
thread (`db.Writer`); point reads run on the event loop's connection (7 µs
each); reads that grow with a folder's size run on reader threads. A body is
durable no later than the transaction that first references it
(`blobs.EmbeddedBlobs`: a small body is stored by that very transaction, a
big one is a file fsync'd before it); the search text of a message is
indexed in the background (`search`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from postbus import executor
from postbus.security import files
from postbus.store import blobs
from postbus.store.admin_model import AdminSession, ApiToken, AuditEntry
from postbus.store.blobs import EmbeddedBlobs, EmbeddedBlobWriter, pool_runner
from postbus.store.events import ChangeHub
from postbus.store.model import (
    Account,
    Admin,
    Alias,
    Appended,
    BlobRef,
    Change,
    Changes,
    Delivered,
    Domain,
    Mailbox,
    MailboxStatus,
    MessageEntry,
    MessageInfo,
    MessageKeys,
    Outbound,
    Parsed,
    QueueItem,
    QueueRecipient,
    WebSession,
)
from postbus.store.sqlite import admin as admin_sql
from postbus.store.sqlite import (
    directory,
    folders,
    keys,
    leases,
    messages,
    outbound,
    rows,
    search,
    vacation,
    websessions,
)
from postbus.store.sqlite.channel import ChangeChannel
from postbus.store.sqlite.db import Writer, connect, migrate
from postbus.store.sqlite.security import SecurityMixin
from postbus.store.sqlite.userdata import UserDataMixin

T = TypeVar("T")

# fetch_info of at most this many UIDs reads on the event loop (a few point reads).
INLINE_FETCH_UIDS = 8


class _NothingStored(Exception):
    """Rolls back a `deliver_message` job that found no folder and had no queue item."""

    def __init__(self, delivered: Delivered) -> None:
        super().__init__("nothing stored")
        self.delivered = delivered


class SqliteStore(SecurityMixin, UserDataMixin):  # store/*/security.py, store/*/userdata.py
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / "postbus.sqlite3"
        self.changes = ChangeHub()
        # other processes on this data_dir (worker processes, the command line)
        self.channel = ChangeChannel(self.data_dir, self.changes)
        self._writer = Writer(self.db_path)
        self._writer.after_commit = self._publish
        self._local = threading.local()
        # Reads in flight on the executor's threads: close() waits for them
        # before it closes the reader connections they use.
        self._reading: set[asyncio.Future[Any]] = set()
        self._reader_lock = threading.Lock()
        self._reader_conns: list[sqlite3.Connection] = []
        self.blobs = EmbeddedBlobs(
            self.data_dir / "blobs", pool_runner(executor.IO), lambda: self._db
        )
        self._conn: sqlite3.Connection | None = None

    # -- life cycle -----------------------------------------------------------
    async def open(self) -> None:
        files.private_dir(self.data_dir)
        files.private_file(self.db_path)  # -wal and -shm take its mode
        self.blobs.prepare()
        conn = connect(self.db_path)
        try:
            migrate(conn)
        finally:
            conn.close()
        self._conn = connect(self.db_path, readonly=True)
        self._writer.idle = search.index_pending
        self._writer.idle_backlog = search.BACKLOG
        left = search.pending(self._conn)  # by a previous run
        if left:
            self._writer.schedule_idle(left)
        self.channel.open()
        self._writer.start()

    async def close(self) -> None:
        self._writer.stop()
        self.channel.close()
        if self._reading:
            await asyncio.gather(*self._reading, return_exceptions=True)
        with self._reader_lock:
            for reader in self._reader_conns:
                reader.close()
            self._reader_conns.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _publish(self, changes: list[Any]) -> None:
        for change in changes:
            self.changes.publish(change)
        self.channel.send(changes)

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None, "store is not open"
        return self._conn

    def _reader_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.db_path, readonly=True)
            self._local.conn = conn
            with self._reader_lock:
                self._reader_conns.append(conn)
        return conn

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """Runs fn(connection, *args) on a reader thread."""
        def job() -> T:
            return fn(self._reader_conn(), *args)

        return await self._tracked(executor.run(executor.READ, job))

    async def _tracked(self, work: Awaitable[T]) -> T:
        future = asyncio.ensure_future(work)
        self._reading.add(future)
        future.add_done_callback(self._reading.discard)
        return await future

    async def _write(self, fn: Callable[..., T], *args: Any,
                     audit: AuditEntry | None = None) -> T:
        """Runs fn(connection, *args) in the writer's transaction, and appends
        `audit` to the audit log in the same one (its own savepoint)."""
        if audit is None:
            return await self._writer.run(lambda conn, changes: fn(conn, *args))

        def job(conn: sqlite3.Connection, changes: list[Change]) -> T:
            result = fn(conn, *args)
            admin_sql.append_audit(conn, audit)
            return result

        return await self._writer.run(job)

    async def _write_changes(self, fn: Callable[..., T], *args: Any) -> T:
        """Runs fn(connection, *args, changes) in the writer's transaction."""
        return await self._writer.run(lambda conn, changes: fn(conn, *args, changes))

    def _meta_id(self, conn: sqlite3.Connection, blob: BlobRef, parsed: Parsed) -> int:
        meta, created = messages.meta_id(conn, blob, parsed)
        if created:
            self._writer.schedule_idle()  # indexed off the delivery's path (search.py)
        return meta

    # -- domains --------------------------------------------------------------
    async def add_domain(
        self, name: str, *, dkim_selector: str = "", dkim_private_key: str = "",
        audit: AuditEntry | None = None,
    ) -> Domain:
        return await self._write(directory.add_domain, name, dkim_selector, dkim_private_key,
                                 audit=audit)

    async def get_domain(self, name: str) -> Domain | None:
        return directory.get_domain(self._db, name)

    async def list_domains(self) -> list[Domain]:
        return directory.list_domains(self._db)

    async def remove_domain(self, name: str, *, audit: AuditEntry | None = None) -> None:
        await self._write(directory.remove_domain, name, audit=audit)

    # -- accounts -------------------------------------------------------------
    async def add_account(
        self, address: str, password_hash: str, *, quota_bytes: int, enabled: bool = True,
        audit: AuditEntry | None = None,
    ) -> Account:
        return await self._write(
            directory.add_account, address, password_hash, quota_bytes, enabled, audit=audit
        )

    async def get_account(self, address: str) -> Account | None:
        return directory.get_account(self._db, address)

    async def get_account_by_id(self, account_id: int) -> Account | None:
        return directory.get_account_by_id(self._db, account_id)

    async def list_accounts(self, domain: str | None = None) -> list[Account]:
        return directory.list_accounts(self._db, domain)

    async def remove_account(self, address: str, *, audit: AuditEntry | None = None) -> None:
        await self._write(directory.remove_account, address, audit=audit)

    async def update_account(
        self,
        address: str,
        *,
        password_hash: str | None = None,
        quota_bytes: int | None = None,
        enabled: bool | None = None,
        audit: AuditEntry | None = None,
    ) -> Account:
        return await self._write(
            directory.update_account, address, password_hash, quota_bytes, enabled, audit=audit
        )

    async def record_login(self, account_id: int, at: float) -> None:
        await self._write(directory.record_login, account_id, at)

    # -- aliases --------------------------------------------------------------
    async def set_alias(self, source: str, targets: Sequence[str], *,
                        audit: AuditEntry | None = None) -> Alias:
        return await self._write(directory.set_alias, source, targets, audit=audit)

    async def get_alias(self, source: str) -> Alias | None:
        return directory.get_alias(self._db, source)

    async def list_aliases(self, domain: str | None = None) -> list[Alias]:
        return directory.list_aliases(self._db, domain)

    async def remove_alias(self, source: str, *, audit: AuditEntry | None = None) -> None:
        await self._write(directory.remove_alias, source, audit=audit)

    # -- administrators -------------------------------------------------------
    async def add_admin(
        self, name: str, password_hash: str, *, operator: bool, domains: Sequence[str] = (),
        audit: AuditEntry | None = None,
    ) -> Admin:
        return await self._write(directory.add_admin, name, password_hash, operator, domains,
                                 audit=audit)

    async def get_admin(self, name: str) -> Admin | None:
        return directory.get_admin(self._db, name)

    async def list_admins(self) -> list[Admin]:
        return directory.list_admins(self._db)

    async def remove_admin(self, name: str, *, audit: AuditEntry | None = None) -> None:
        await self._write(directory.remove_admin, name, audit=audit)

    async def update_admin(self, name: str, *, password_hash: str,
                           audit: AuditEntry | None = None) -> Admin:
        return await self._write(directory.update_admin, name, password_hash, audit=audit)

    # -- settings -------------------------------------------------------------
    async def get_setting(self, key: str) -> str | None:
        return directory.get_setting(self._db, key)

    async def set_setting(self, key: str, value: str | None, *,
                          audit: AuditEntry | None = None) -> None:
        await self._write(directory.set_setting, key, value, audit=audit)

    # -- administration (issue 14): audit log, API tokens, TOTP, suspension ---
    async def append_audit(self, entry: AuditEntry) -> int:
        return await self._write(admin_sql.append_audit, entry)

    async def list_audit(
        self, *, domains: Sequence[str] | None, before: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        return await self._read(admin_sql.list_audit, domains, before, limit)

    async def add_api_token(self, admin: str, digest: str, *, label: str, created: float,
                            audit: Callable[[ApiToken], AuditEntry] | None = None) -> ApiToken:
        def job(conn: sqlite3.Connection, changes: list[Change]) -> ApiToken:
            made = admin_sql.add_api_token(conn, admin, digest, label, created)
            if audit is not None:
                admin_sql.append_audit(conn, audit(made))
            return made

        return await self._writer.run(job)

    async def find_api_token(self, digest: str) -> ApiToken | None:
        return admin_sql.find_api_token(self._db, digest)

    async def list_api_tokens(self, admin: str) -> list[ApiToken]:
        return admin_sql.list_api_tokens(self._db, admin)

    async def remove_api_token(self, admin: str, token_id: int, *,
                               audit: AuditEntry | None = None) -> None:
        await self._write(admin_sql.remove_api_token, admin, token_id, audit=audit)

    async def set_totp_secret(self, admin: str, secret: str | None, *,
                              audit: AuditEntry | None = None) -> None:
        await self._write(admin_sql.set_totp_secret, admin, secret, audit=audit)

    async def get_totp_secret(self, admin: str) -> str | None:
        return admin_sql.get_totp_secret(self._db, admin)

    async def claim_totp_step(self, admin: str, step: int) -> bool:
        return await self._write(admin_sql.claim_totp_step, admin, step)

    async def set_domain_suspended(self, name: str, suspended: bool, *,
                                   audit: AuditEntry | None = None) -> None:
        await self._write(admin_sql.set_domain_suspended, name, suspended, audit=audit)

    async def list_suspended_domains(self) -> list[str]:
        return admin_sql.list_suspended_domains(self._db)

    async def create_admin_session(self, admin: str, id_hash: str, csrf_token: str,
                                   now: float) -> AdminSession:
        return await self._write(admin_sql.create_admin_session, admin, id_hash, csrf_token, now)

    async def get_admin_session(self, id_hash: str) -> AdminSession | None:
        return admin_sql.get_admin_session(self._db, id_hash)

    async def touch_admin_session(self, id_hash: str, now: float) -> None:
        await self._write(admin_sql.touch_admin_session, id_hash, now)

    async def delete_admin_session(self, id_hash: str) -> None:
        await self._write(admin_sql.delete_admin_session, id_hash)

    # -- vacation auto-replies (issue 14) ---------------------------------------
    async def claim_vacation_reply(
        self, account_id: int, sender: str, now: float, interval: float
    ) -> bool:
        return await self._write(vacation.claim_reply, account_id, sender, now, interval)

    async def clear_vacation_replies(self, account_id: int) -> None:
        await self._write(vacation.clear_replies, account_id)

    async def claim_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        return await self._write(leases.claim, name, holder, now, ttl)

    async def swap_setting(self, key: str, expected: str | None, value: str | None) -> bool:
        return await self._write(directory.swap_setting, key, expected, value)

    # -- folders --------------------------------------------------------------
    async def list_mailboxes(self, account_id: int) -> list[Mailbox]:
        return folders.list_mailboxes(self._db, account_id)

    async def get_mailbox(self, account_id: int, name: str) -> Mailbox | None:
        return folders.get(self._db, account_id, name)

    async def get_mailbox_by_id(self, mailbox_id: int) -> Mailbox | None:
        return folders.get_by_id(self._db, mailbox_id)

    async def create_mailbox(
        self, account_id: int, name: str, *, special_use: str | None = None
    ) -> Mailbox:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> Mailbox:
            box = folders.create(conn, account_id, name, special_use)
            changes.append(Change(account_id, box.id, 0, "mailboxes"))
            return box

        return await self._writer.run(job)

    async def delete_mailbox(self, account_id: int, name: str) -> None:
        await self._write_changes(folders.delete, account_id, name)

    async def rename_mailbox(self, account_id: int, old: str, new: str) -> None:
        await self._write_changes(folders.rename, account_id, old, new)

    async def mailbox_status(self, mailbox_id: int) -> MailboxStatus:
        return folders.status(self._db, mailbox_id)

    async def find_mailbox_status(self, account_id: int, name: str) -> MailboxStatus | None:
        return folders.find_status(self._db, account_id, name)

    async def claim_recent(self, mailbox_id: int, *, claim: bool = True) -> tuple[int, int]:
        # A point read first: a SELECT of a folder with nothing new writes nothing.
        low, high = folders.claim_recent(self._db, mailbox_id, False)
        if not claim or high == low:
            return low, high
        return await self._write(folders.claim_recent, mailbox_id, True)

    async def recent_count(self, mailbox_id: int) -> int:
        return folders.recent_count(self._db, mailbox_id)

    async def list_subscriptions(self, account_id: int) -> list[str]:
        return folders.list_subscriptions(self._db, account_id)

    async def set_subscribed(self, account_id: int, name: str, subscribed: bool) -> None:
        await self._write_changes(folders.set_subscribed, account_id, name, subscribed)

    # -- blobs ----------------------------------------------------------------
    def blob_writer(self) -> EmbeddedBlobWriter:
        return self.blobs.writer()

    async def put_blob(self, data: bytes) -> BlobRef:
        return await self.blobs.put(data)

    async def read_blob(self, blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        return await self.blobs.read(blob_id, offset, length)

    # -- messages -------------------------------------------------------------
    async def append(
        self,
        mailbox_id: int,
        blob: BlobRef,
        parsed: Parsed,
        *,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
        check_quota: bool = True,
    ) -> Appended:
        flag_text = rows.flags_text(flags)
        when = time.time() if internal_date is None else internal_date

        def job(conn: sqlite3.Connection, changes: list[Any]) -> Appended:
            self.blobs.reference(conn, blob)
            meta = self._meta_id(conn, blob, parsed)
            return messages.insert(
                conn, mailbox_id, meta, blob.id, blob.size, flag_text, when, check_quota, changes
            )

        appended = await self._writer.run(job)
        self.blobs.stored(blob)
        return appended

    async def deliver(
        self,
        mailbox_ids: Sequence[int],
        blob: BlobRef,
        parsed: Parsed,
        *,
        internal_date: float | None = None,
        check_quota: bool = True,
    ) -> list[Appended | Exception]:
        when = time.time() if internal_date is None else internal_date

        def job(conn: sqlite3.Connection, changes: list[Any]) -> list[Appended | Exception]:
            self.blobs.reference(conn, blob)
            meta = self._meta_id(conn, blob, parsed)
            return messages.deliver(conn, mailbox_ids, meta, blob, when, check_quota, changes)

        results = await self._writer.run(job)
        self.blobs.stored(blob)
        return results

    async def deliver_message(
        self,
        mailbox_ids: Sequence[int],
        blob: BlobRef,
        parsed: Parsed,
        *,
        queue: Outbound | None = None,
        internal_date: float | None = None,
        check_quota: bool = True,
    ) -> Delivered:
        now = time.time()
        when = now if internal_date is None else internal_date

        def job(conn: sqlite3.Connection, changes: list[Any]) -> Delivered:
            self.blobs.reference(conn, blob)
            local = tuple(messages.deliver_message(
                conn, mailbox_ids, lambda: self._meta_id(conn, blob, parsed), blob, when,
                check_quota, changes))
            queue_id = None
            if queue is not None:
                queue_id = outbound.enqueue(conn, queue.sender, queue.recipients, blob,
                                            queue.envid, queue.ret, now, now)
            delivered = Delivered(local, queue_id)
            if not delivered.stored:
                raise _NothingStored(delivered)  # the writer rolls the job back
            return delivered

        try:
            delivered = await self._writer.run(job)
        except _NothingStored as nothing:
            return nothing.delivered
        self.blobs.stored(blob)
        return delivered

    async def list_messages(self, mailbox_id: int) -> list[MessageEntry]:
        return await self._read(messages.list_messages, mailbox_id)

    async def fetch_info(self, mailbox_id: int, uids: Sequence[int]) -> list[MessageInfo]:
        if len(uids) <= INLINE_FETCH_UIDS:
            return messages.fetch_info(self._db, mailbox_id, uids)
        return await self._read(messages.fetch_info, mailbox_id, uids)

    async def changes_since(self, mailbox_id: int, modseq: int) -> Changes:
        return messages.changes_since(self._db, mailbox_id, modseq)

    async def store_flags(
        self,
        mailbox_id: int,
        uids: Sequence[int],
        update: Callable[[frozenset[str]], frozenset[str]],
        *,
        unchanged_since: int | None = None,
    ) -> tuple[list[MessageEntry], list[int]]:
        return await self._write_changes(
            messages.store_flags, mailbox_id, uids, update, unchanged_since
        )

    async def expunge(self, mailbox_id: int, uids: Sequence[int]) -> list[int]:
        return await self._write_changes(messages.expunge, mailbox_id, uids)

    async def copy(
        self, src_mailbox_id: int, uids: Sequence[int], dst_mailbox_id: int, *, move: bool = False
    ) -> list[tuple[int, int]]:
        return await self._write_changes(
            messages.copy, src_mailbox_id, uids, dst_mailbox_id, move
        )

    async def search_text(self, mailbox_id: int, field: str, text: str) -> set[int] | None:
        if len(text) < search.MIN_QUERY:
            return None  # the trigram index cannot narrow shorter strings
        if field not in ("header", "body", "text"):
            raise ValueError(field)
        return await self._read(search.search, mailbox_id, field, text)

    async def search_backlog(self) -> int:
        """Parse-once records in use whose search text waits for the background
        indexer (not in the contract: for tests, benchmarks and monitoring)."""
        return int(self._db.execute(
            "SELECT count(*) FROM search_pending p"
            " WHERE EXISTS (SELECT 1 FROM messages m WHERE m.meta_id = p.meta_id)"
        ).fetchone()[0])

    # -- outbound queue ---------------------------------------------------------
    async def enqueue(
        self,
        sender: str,
        recipients: Sequence[QueueRecipient],
        blob: BlobRef,
        *,
        envid: str = "",
        ret: str = "",
        next_attempt: float | None = None,
    ) -> int:
        now = time.time()
        due = now if next_attempt is None else next_attempt

        def job(conn: sqlite3.Connection, changes: list[Any]) -> int:
            self.blobs.reference(conn, blob)
            return outbound.enqueue(conn, sender, recipients, blob, envid, ret, now, due)

        item_id = await self._writer.run(job)
        self.blobs.stored(blob)
        return item_id

    async def claim_queue(self, node: str, now: float, lease: float, limit: int) -> list[QueueItem]:
        return await self._write(outbound.claim, node, now, lease, limit)

    async def update_queue(
        self,
        item_id: int,
        recipients: Sequence[QueueRecipient],
        *,
        next_attempt: float | None,
        delay_notified: bool | None = None,
    ) -> None:
        await self._write(outbound.update, item_id, recipients, next_attempt, delay_notified)

    async def release_queue_claims(self, holders: Sequence[str]) -> int:
        return await self._write(outbound.release, list(holders))

    async def list_queue(self) -> list[QueueItem]:
        return outbound.list_queue(self._db)

    async def queue_stats(self) -> tuple[int, float | None]:
        return outbound.stats(self._db)

    async def get_queue_item(self, item_id: int) -> QueueItem | None:
        return outbound.get(self._db, item_id)

    async def delete_queue_item(self, item_id: int) -> None:
        await self._write(outbound.delete, item_id)

    async def retry_queue(self, item_id: int | None, now: float) -> int:
        return await self._write(outbound.retry, item_id, now)

    # -- webmail sessions (issue 13, web/webmail) --------------------------------
    async def create_web_session(self, session: WebSession) -> None:
        await self._write(websessions.create, session)

    async def get_web_session(self, id_hash: str) -> WebSession | None:
        return websessions.get(self._db, id_hash)

    async def update_web_session(self, id_hash: str, *, last_seen: float | None = None,
                                 language: str | None = None) -> None:
        await self._write(websessions.update, id_hash, last_seen, language)

    async def delete_web_session(self, id_hash: str) -> None:
        await self._write(websessions.delete, id_hash)

    async def delete_web_sessions(self, *, account_id: int | None = None,
                                  idle_before: float | None = None) -> int:
        return await self._write(websessions.delete_many, account_id, idle_before)

    # -- maintenance ------------------------------------------------------------
    async def account_bodies(self, account_id: int) -> list[str]:
        def read(conn: sqlite3.Connection) -> list[str]:
            return [r[0] for r in conn.execute(
                "SELECT DISTINCT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
                " WHERE b.account_id = ?", (account_id,))]
        return await self._read(read)

    async def collect_garbage(
        self, *, grace_seconds: float | None = None, bodies: Sequence[str] | None = None
    ) -> int:
        grace = blobs.GC_GRACE_SECONDS if grace_seconds is None else grace_seconds
        cutoff = time.time() - grace
        # Small writer jobs, so that deliveries interleave with the clean-up.
        while await self._writer.run(messages.drop_orphan_meta) == messages.GC_META_BATCH:
            pass
        removed = 0
        if bodies is not None:
            names = list(dict.fromkeys(bodies))
            for start in range(0, len(names), blobs.GC_FILE_BATCH):
                removed += await self._write(blobs.collect_listed, self.blobs.files,
                                             names[start:start + blobs.GC_FILE_BATCH], cutoff)
            return removed
        after = 0
        while after >= 0:
            count, after = await self._write(blobs.collect_inline, after, cutoff)
            removed += count
        # Files: candidates are found on a reader, then re-checked and removed in
        # small writer jobs, atomically with respect to every commit (blobs.py).
        files = self.blobs.files
        candidates = await self._read(blobs.unreferenced_files, files, cutoff)
        for start in range(0, len(candidates), blobs.GC_FILE_BATCH):
            batch = candidates[start:start + blobs.GC_FILE_BATCH]
            removed += await self._write(blobs.collect_files, files, batch, cutoff)
        return removed

    # -- large folders (issue 12, perf): stored SORT and SEARCH keys ------------
    async def set_message_keys(self, pairs: Sequence[tuple[str, MessageKeys]]) -> None:
        if pairs:
            await self._write(keys.set_keys, list(pairs))

    async def sort_uids(
        self, mailbox_id: int, sort: Sequence[tuple[str, bool]], version: int
    ) -> tuple[list[int], list[int]]:
        if any(f not in keys.SORT_EXPRESSIONS for f, _ in sort):
            raise ValueError(sort)
        return await self._read(keys.sort_uids, mailbox_id, list(sort), version)

    async def match_keys(
        self, mailbox_id: int, field: str, value: str, version: int
    ) -> tuple[set[int], set[int]]:
        if field not in keys.MATCH_COLUMNS:
            raise ValueError(field)
        return await self._read(keys.match_keys, mailbox_id, field, value, version)

    async def match_days(
        self, mailbox_id: int, field: str, op: str, day: int, version: int
    ) -> tuple[set[int], set[int]]:
        if field not in ("arrival", "saved", "sent") or op not in ("before", "on", "since"):
            raise ValueError((field, op))
        return await self._read(keys.match_days, mailbox_id, field, op, day, version)

    async def set_envelopes(self, envelopes: Sequence[tuple[str, bytes]]) -> None:
        if envelopes:
            await self._write(keys.set_envelopes, list(envelopes))

    async def envelopes(
        self, mailbox_id: int, uids: Sequence[int], version: int
    ) -> dict[int, bytes]:
        return await self._read(keys.envelopes, mailbox_id, list(uids), version)
