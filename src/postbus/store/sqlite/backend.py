"""The embedded store: SQLite (WAL) for metadata and small bodies, files for big bodies.

Writes go through the group-committing writer thread (`db.Writer`); point
reads run on the event loop's connection (7 µs each); reads that grow with a
folder's size run on reader threads. A body is durable no later than the
transaction that first references it (`blobs.EmbeddedBlobs`: a small body is
stored by that very transaction, a big one is a file fsync'd before it); the
search text of a message is indexed in the background (`search`).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from postbus.store import blobs, counters, errors
from postbus.store.blobs import EmbeddedBlobs, EmbeddedBlobWriter, executor_runner
from postbus.store.events import ChangeHub
from postbus.store.model import (
    DELIMITER,
    SPECIAL_USE_FOLDERS,
    Account,
    Admin,
    Alias,
    Appended,
    BlobRef,
    Change,
    Changes,
    Domain,
    Mailbox,
    MailboxStatus,
    MessageEntry,
    MessageInfo,
    Parsed,
    QueueItem,
    QueueRecipient,
    exceeds_quota,
)
from postbus.store.sqlite import search
from postbus.store.sqlite.db import Writer, connect, migrate

T = TypeVar("T")

READER_THREADS = 2
GC_META_BATCH = 50
IO_THREADS = 4

_ACCOUNT_COLS = "id, address, domain_id, password_hash, quota_bytes, enabled, used_bytes, used_messages"
_MAILBOX_COLS = "id, account_id, name, special_use, uid_validity, uid_next, highest_modseq"
_COUNTER_COLS = "messages, unseen, size, deleted, deleted_size"
# Adds a `counters.Counts` delta (its `values()`) to a folder row.
_ADD_COUNTS = (
    "messages = messages + ?, unseen = unseen + ?, size = size + ?, deleted = deleted + ?,"
    " deleted_size = deleted_size + ?"
)
_QUEUE_COLS = (
    "id, sender, blob_id, size, created, next_attempt, attempts, recipients, envid, ret,"
    " delay_notified, claimed_by, claimed_until"
)


def _flags_text(flags: Iterable[str]) -> str:
    return " ".join(sorted(set(flags)))


def _flags_set(text: str) -> frozenset[str]:
    return frozenset(text.split()) if text else frozenset()


def _account(row: Sequence[Any]) -> Account:
    return Account(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7])


def _mailbox(row: Sequence[Any]) -> Mailbox:
    return Mailbox(row[0], row[1], row[2], row[3], row[4], row[5], row[6])


def _queue_item(row: Sequence[Any]) -> QueueItem:
    recipients = tuple(QueueRecipient(**r) for r in json.loads(row[7]))
    return QueueItem(
        id=row[0], sender=row[1], blob_id=row[2], size=row[3], created=row[4],
        next_attempt=row[5], attempts=row[6], recipients=recipients, envid=row[8], ret=row[9],
        delay_notified=bool(row[10]), claimed_by=row[11], claimed_until=row[12],
    )


def _recipients_json(recipients: Sequence[QueueRecipient]) -> str:
    return json.dumps([
        {"address": r.address, "status": r.status, "attempts": r.attempts,
         "last_reply": r.last_reply, "notify": r.notify, "orcpt": r.orcpt}
        for r in recipients
    ])


class SqliteStore:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / "postbus.sqlite3"
        self.changes = ChangeHub()
        self._writer = Writer(self.db_path)
        self._writer.after_commit = self._publish
        self._io = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="postbus-io")
        self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="postbus-reader")
        self._local = threading.local()
        self._reader_lock = threading.Lock()
        self._reader_conns: list[sqlite3.Connection] = []
        self.blobs = EmbeddedBlobs(
            self.data_dir / "blobs", executor_runner(self._io), lambda: self._db
        )
        self._conn: sqlite3.Connection | None = None

    # -- life cycle -----------------------------------------------------------
    async def open(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
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
        self._writer.start()

    async def close(self) -> None:
        self._writer.stop()
        self._io.shutdown(wait=True)
        self._readers.shutdown(wait=True)
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

    async def _read(self, fn: Any, *args: Any) -> Any:
        def job() -> Any:
            return fn(self._reader_conn(), *args)

        return await asyncio.get_running_loop().run_in_executor(self._readers, job)

    # -- domains --------------------------------------------------------------
    async def add_domain(
        self, name: str, *, dkim_selector: str = "", dkim_private_key: str = ""
    ) -> Domain:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> Domain:
            try:
                cur = conn.execute(
                    "INSERT INTO domains (name, dkim_selector, dkim_private_key, created)"
                    " VALUES (?, ?, ?, ?)",
                    (name, dkim_selector, dkim_private_key, time.time()),
                )
            except sqlite3.IntegrityError:
                raise errors.AlreadyExists(f"domain {name} exists") from None
            assert cur.lastrowid is not None
            return Domain(cur.lastrowid, name, dkim_selector, dkim_private_key)

        return await self._writer.run(job)

    async def get_domain(self, name: str) -> Domain | None:
        row = self._db.execute(
            "SELECT id, name, dkim_selector, dkim_private_key FROM domains WHERE name = ?", (name,)
        ).fetchone()
        return Domain(*row) if row else None

    async def list_domains(self) -> list[Domain]:
        rows = self._db.execute(
            "SELECT id, name, dkim_selector, dkim_private_key FROM domains ORDER BY name"
        ).fetchall()
        return [Domain(*r) for r in rows]

    async def remove_domain(self, name: str) -> None:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> None:
            row = conn.execute("SELECT id FROM domains WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise errors.NotFound(f"no domain {name}")
            for (address,) in conn.execute(
                "SELECT address FROM accounts WHERE domain_id = ?", (row[0],)
            ).fetchall():
                self._remove_account(conn, address)
            conn.execute("DELETE FROM aliases WHERE domain_id = ?", (row[0],))
            conn.execute("DELETE FROM domains WHERE id = ?", (row[0],))

        await self._writer.run(job)

    # -- accounts -------------------------------------------------------------
    async def add_account(
        self, address: str, password_hash: str, *, quota_bytes: int, enabled: bool = True
    ) -> Account:
        domain = address.rpartition("@")[2]

        def job(conn: sqlite3.Connection, changes: list[Any]) -> Account:
            row = conn.execute("SELECT id FROM domains WHERE name = ?", (domain,)).fetchone()
            if row is None:
                raise errors.NotFound(f"no domain {domain}")
            try:
                cur = conn.execute(
                    "INSERT INTO accounts (address, domain_id, password_hash, quota_bytes,"
                    " enabled, created) VALUES (?, ?, ?, ?, ?, ?)",
                    (address, row[0], password_hash, quota_bytes, int(enabled), time.time()),
                )
            except sqlite3.IntegrityError:
                raise errors.AlreadyExists(f"mailbox {address} exists") from None
            account_id = cur.lastrowid
            assert account_id is not None
            for folder, use in SPECIAL_USE_FOLDERS:
                self._create_mailbox(conn, account_id, folder, use)
            conn.executemany(
                "INSERT INTO subscriptions (account_id, name) VALUES (?, ?)",
                [(account_id, folder) for folder, _ in SPECIAL_USE_FOLDERS],
            )
            return Account(account_id, address, row[0], password_hash, quota_bytes, enabled, 0, 0)

        return await self._writer.run(job)

    async def get_account(self, address: str) -> Account | None:
        row = self._db.execute(
            f"SELECT {_ACCOUNT_COLS} FROM accounts WHERE address = ?", (address,)
        ).fetchone()
        return _account(row) if row else None

    async def get_account_by_id(self, account_id: int) -> Account | None:
        row = self._db.execute(
            f"SELECT {_ACCOUNT_COLS} FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return _account(row) if row else None

    async def list_accounts(self, domain: str | None = None) -> list[Account]:
        if domain is None:
            rows = self._db.execute(
                f"SELECT {_ACCOUNT_COLS} FROM accounts ORDER BY address"
            ).fetchall()
        else:
            rows = self._db.execute(
                f"SELECT {_ACCOUNT_COLS} FROM accounts WHERE domain_id ="
                " (SELECT id FROM domains WHERE name = ?) ORDER BY address",
                (domain,),
            ).fetchall()
        return [_account(r) for r in rows]

    def _remove_account(self, conn: sqlite3.Connection, address: str) -> None:
        row = conn.execute("SELECT id FROM accounts WHERE address = ?", (address,)).fetchone()
        if row is None:
            raise errors.NotFound(f"no mailbox {address}")
        account_id = row[0]
        for (mailbox_id,) in conn.execute(
            "SELECT id FROM mailboxes WHERE account_id = ?", (account_id,)
        ).fetchall():
            self._drop_mailbox_rows(conn, mailbox_id)
        conn.execute("DELETE FROM subscriptions WHERE account_id = ?", (account_id,))
        conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,))

    async def remove_account(self, address: str) -> None:
        await self._writer.run(lambda conn, changes: self._remove_account(conn, address))

    async def update_account(
        self,
        address: str,
        *,
        password_hash: str | None = None,
        quota_bytes: int | None = None,
        enabled: bool | None = None,
    ) -> Account:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> Account:
            sets: list[str] = []
            args: list[Any] = []
            for column, value in (
                ("password_hash", password_hash),
                ("quota_bytes", quota_bytes),
                ("enabled", None if enabled is None else int(enabled)),
            ):
                if value is not None:
                    sets.append(f"{column} = ?")
                    args.append(value)
            if sets:
                conn.execute(
                    f"UPDATE accounts SET {', '.join(sets)} WHERE address = ?", (*args, address)
                )
            row = conn.execute(
                f"SELECT {_ACCOUNT_COLS} FROM accounts WHERE address = ?", (address,)
            ).fetchone()
            if row is None:
                raise errors.NotFound(f"no mailbox {address}")
            return _account(row)

        return await self._writer.run(job)

    # -- aliases --------------------------------------------------------------
    async def set_alias(self, source: str, targets: Sequence[str]) -> Alias:
        domain = source.rpartition("@")[2]

        def job(conn: sqlite3.Connection, changes: list[Any]) -> Alias:
            row = conn.execute("SELECT id FROM domains WHERE name = ?", (domain,)).fetchone()
            if row is None:
                raise errors.NotFound(f"no domain {domain}")
            conn.execute(
                "INSERT INTO aliases (source, domain_id, targets) VALUES (?, ?, ?)"
                " ON CONFLICT (source) DO UPDATE SET targets = excluded.targets",
                (source, row[0], json.dumps(list(targets))),
            )
            return Alias(source, tuple(targets))

        return await self._writer.run(job)

    async def get_alias(self, source: str) -> Alias | None:
        row = self._db.execute(
            "SELECT source, targets FROM aliases WHERE source = ?", (source,)
        ).fetchone()
        return Alias(row[0], tuple(json.loads(row[1]))) if row else None

    async def list_aliases(self, domain: str | None = None) -> list[Alias]:
        if domain is None:
            rows = self._db.execute("SELECT source, targets FROM aliases ORDER BY source").fetchall()
        else:
            rows = self._db.execute(
                "SELECT source, targets FROM aliases WHERE domain_id ="
                " (SELECT id FROM domains WHERE name = ?) ORDER BY source",
                (domain,),
            ).fetchall()
        return [Alias(r[0], tuple(json.loads(r[1]))) for r in rows]

    async def remove_alias(self, source: str) -> None:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> None:
            if conn.execute("DELETE FROM aliases WHERE source = ?", (source,)).rowcount == 0:
                raise errors.NotFound(f"no alias {source}")

        await self._writer.run(job)

    # -- administrators -------------------------------------------------------
    async def add_admin(
        self, name: str, password_hash: str, *, operator: bool, domains: Sequence[str] = ()
    ) -> Admin:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> Admin:
            try:
                cur = conn.execute(
                    "INSERT INTO admins (name, password_hash, operator, domains) VALUES (?, ?, ?, ?)",
                    (name, password_hash, int(operator), json.dumps(list(domains))),
                )
            except sqlite3.IntegrityError:
                raise errors.AlreadyExists(f"administrator {name} exists") from None
            assert cur.lastrowid is not None
            return Admin(cur.lastrowid, name, password_hash, operator, tuple(domains))

        return await self._writer.run(job)

    async def get_admin(self, name: str) -> Admin | None:
        row = self._db.execute(
            "SELECT id, name, password_hash, operator, domains FROM admins WHERE name = ?", (name,)
        ).fetchone()
        return Admin(row[0], row[1], row[2], bool(row[3]), tuple(json.loads(row[4]))) if row else None

    async def list_admins(self) -> list[Admin]:
        rows = self._db.execute(
            "SELECT id, name, password_hash, operator, domains FROM admins ORDER BY name"
        ).fetchall()
        return [Admin(r[0], r[1], r[2], bool(r[3]), tuple(json.loads(r[4]))) for r in rows]

    async def remove_admin(self, name: str) -> None:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> None:
            if conn.execute("DELETE FROM admins WHERE name = ?", (name,)).rowcount == 0:
                raise errors.NotFound(f"no administrator {name}")

        await self._writer.run(job)

    async def update_admin(self, name: str, *, password_hash: str) -> Admin:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> None:
            if conn.execute(
                "UPDATE admins SET password_hash = ? WHERE name = ?", (password_hash, name)
            ).rowcount == 0:
                raise errors.NotFound(f"no administrator {name}")

        await self._writer.run(job)
        admin = await self.get_admin(name)
        assert admin is not None
        return admin

    # -- settings -------------------------------------------------------------
    async def get_setting(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    async def set_setting(self, key: str, value: str | None) -> None:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> None:
            if value is None:
                conn.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

        await self._writer.run(job)

    # -- folders --------------------------------------------------------------
    def _next_uid_validity(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM settings WHERE key = 'uid_validity_last'").fetchone()
        last = int(row[0]) if row else 0
        value = max(int(time.time()), last + 1)
        conn.execute(
            "INSERT INTO settings (key, value) VALUES ('uid_validity_last', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(value),),
        )
        return value

    def _create_mailbox(
        self, conn: sqlite3.Connection, account_id: int, name: str, special_use: str | None
    ) -> Mailbox:
        uid_validity = self._next_uid_validity(conn)
        try:
            cur = conn.execute(
                "INSERT INTO mailboxes (account_id, name, special_use, uid_validity)"
                " VALUES (?, ?, ?, ?)",
                (account_id, name, special_use, uid_validity),
            )
        except sqlite3.IntegrityError:
            raise errors.AlreadyExists(f"folder {name} exists") from None
        assert cur.lastrowid is not None
        return Mailbox(cur.lastrowid, account_id, name, special_use, uid_validity, 1, 1)

    async def list_mailboxes(self, account_id: int) -> list[Mailbox]:
        rows = self._db.execute(
            f"SELECT {_MAILBOX_COLS} FROM mailboxes WHERE account_id = ? ORDER BY name",
            (account_id,),
        ).fetchall()
        return [_mailbox(r) for r in rows]

    async def get_mailbox(self, account_id: int, name: str) -> Mailbox | None:
        row = self._db.execute(
            f"SELECT {_MAILBOX_COLS} FROM mailboxes WHERE account_id = ? AND name = ?",
            (account_id, name),
        ).fetchone()
        return _mailbox(row) if row else None

    async def get_mailbox_by_id(self, mailbox_id: int) -> Mailbox | None:
        row = self._db.execute(
            f"SELECT {_MAILBOX_COLS} FROM mailboxes WHERE id = ?", (mailbox_id,)
        ).fetchone()
        return _mailbox(row) if row else None

    async def create_mailbox(
        self, account_id: int, name: str, *, special_use: str | None = None
    ) -> Mailbox:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> Mailbox:
            box = self._create_mailbox(conn, account_id, name, special_use)
            changes.append(Change(account_id, box.id, 0, "mailboxes"))
            return box

        return await self._writer.run(job)

    def _drop_mailbox_rows(self, conn: sqlite3.Connection, mailbox_id: int) -> None:
        row = conn.execute(
            "SELECT account_id, size, messages FROM mailboxes WHERE id = ?", (mailbox_id,)
        ).fetchone()
        if row is None:
            return
        conn.execute("DELETE FROM messages WHERE mailbox_id = ?", (mailbox_id,))
        conn.execute("DELETE FROM expunged WHERE mailbox_id = ?", (mailbox_id,))
        conn.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox_id,))
        conn.execute(
            "UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ?"
            " WHERE id = ?",
            (row[1], row[2], row[0]),
        )

    # Parse-once records and their search-index rows outlive their last message
    # until `collect_garbage`: removing a message from the trigram index costs
    # ~2 ms (FTS5 re-tokenises the text), which inside an EXPUNGE of 2,000
    # messages held the single writer for seconds. Searches join through
    # `messages`, so an orphaned record is never found. A record expunged before
    # it was indexed is never indexed: its text leaves `search_pending` here.
    def _drop_orphan_meta(self, conn: sqlite3.Connection, changes: list[Any]) -> int:
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM message_meta WHERE NOT EXISTS"
            " (SELECT 1 FROM messages WHERE messages.meta_id = message_meta.id) LIMIT ?",
            (GC_META_BATCH,),
        )]
        for meta_id in ids:
            search.drop(conn, meta_id)
            conn.execute("DELETE FROM message_meta WHERE id = ?", (meta_id,))
        return len(ids)

    async def delete_mailbox(self, account_id: int, name: str) -> None:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> None:
            row = conn.execute(
                "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", (account_id, name)
            ).fetchone()
            if row is None:
                raise errors.NotFound(f"no folder {name}")
            self._drop_mailbox_rows(conn, row[0])
            changes.append(Change(account_id, row[0], 0, "mailboxes"))

        await self._writer.run(job)

    async def rename_mailbox(self, account_id: int, old: str, new: str) -> None:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> None:
            src = conn.execute(
                "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", (account_id, old)
            ).fetchone()
            if src is None:
                raise errors.NotFound(f"no folder {old}")
            children = conn.execute(
                "SELECT id, name FROM mailboxes WHERE account_id = ? AND name LIKE ? ESCAPE '\\'",
                (account_id, _like_prefix(old + DELIMITER)),
            ).fetchall()
            renames = [(src[0], new), *((i, new + n[len(old):]) for i, n in children)]
            for _, renamed in renames:
                if conn.execute(
                    "SELECT 1 FROM mailboxes WHERE account_id = ? AND name = ?",
                    (account_id, renamed),
                ).fetchone():
                    raise errors.AlreadyExists(f"folder {renamed} exists")
            for folder_id, renamed in renames:
                # A new name is a new folder to clients: it gets a new UIDVALIDITY.
                conn.execute(
                    "UPDATE mailboxes SET name = ?, uid_validity = ? WHERE id = ?",
                    (renamed, self._next_uid_validity(conn), folder_id),
                )
            changes.append(Change(account_id, src[0], 0, "mailboxes"))

        await self._writer.run(job)

    async def list_subscriptions(self, account_id: int) -> list[str]:
        rows = self._db.execute(
            "SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name", (account_id,)
        ).fetchall()
        return [r[0] for r in rows]

    async def set_subscribed(self, account_id: int, name: str, subscribed: bool) -> None:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> None:
            if subscribed:
                conn.execute(
                    "INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)",
                    (account_id, name),
                )
            else:
                conn.execute(
                    "DELETE FROM subscriptions WHERE account_id = ? AND name = ?",
                    (account_id, name),
                )

        await self._writer.run(job)

    async def mailbox_status(self, mailbox_id: int) -> MailboxStatus:
        row = self._db.execute(
            f"SELECT {_MAILBOX_COLS}, {_COUNTER_COLS} FROM mailboxes WHERE id = ?", (mailbox_id,)
        ).fetchone()
        if row is None:
            raise errors.NotFound("no such folder")
        return MailboxStatus(_mailbox(row), *row[7:])

    # -- blobs ----------------------------------------------------------------
    def blob_writer(self) -> EmbeddedBlobWriter:
        return self.blobs.writer()

    async def put_blob(self, data: bytes) -> BlobRef:
        return await self.blobs.put(data)

    async def read_blob(self, blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        return await self.blobs.read(blob_id, offset, length)

    # -- messages -------------------------------------------------------------
    def _meta_id(self, conn: sqlite3.Connection, blob: BlobRef, parsed: Parsed) -> int:
        row = conn.execute("SELECT id FROM message_meta WHERE blob_id = ?", (blob.id,)).fetchone()
        if row:
            return int(row[0])
        cur = conn.execute(
            "INSERT INTO message_meta (blob_id, meta) VALUES (?, ?)", (blob.id, parsed.meta)
        )
        meta_id = cur.lastrowid
        assert meta_id is not None
        # Indexed later by the writer's idle work, off the delivery's path (search.py).
        search.add(conn, meta_id, parsed.header_text, parsed.body_text)
        self._writer.schedule_idle()
        return meta_id

    def _insert_message(
        self,
        conn: sqlite3.Connection,
        mailbox_id: int,
        meta_id: int,
        blob_id: str,
        size: int,
        flags: str,
        internal_date: float,
        check_quota: bool,
    ) -> tuple[int, int, int, int]:
        """Returns (account_id, uid_validity, uid, modseq)."""
        box = conn.execute(
            "SELECT b.account_id, b.uid_validity, a.quota_bytes, a.used_bytes FROM mailboxes b"
            " JOIN accounts a ON a.id = b.account_id WHERE b.id = ?",
            (mailbox_id,),
        ).fetchone()
        if box is None:
            raise errors.NotFound("no such folder")
        account_id, uid_validity, quota, used = box
        if check_quota and exceeds_quota(quota, used, size):
            raise errors.OverQuota("quota exceeded")
        row = conn.execute(
            "UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1,"
            f" {_ADD_COUNTS} WHERE id = ? RETURNING uid_next - 1, highest_modseq",
            (*counters.of_message(size, flags.split()).values(), mailbox_id),
        ).fetchone()
        uid, modseq = int(row[0]), int(row[1])
        conn.execute(
            "INSERT INTO messages (mailbox_id, uid, meta_id, blob_id, size, internal_date, flags,"
            " modseq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (mailbox_id, uid, meta_id, blob_id, size, internal_date, flags, modseq),
        )
        conn.execute(
            "UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + 1"
            " WHERE id = ?",
            (size, account_id),
        )
        return account_id, uid_validity, uid, modseq

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
        flag_text = _flags_text(flags)
        when = time.time() if internal_date is None else internal_date

        def job(conn: sqlite3.Connection, changes: list[Any]) -> Appended:
            self.blobs.reference(conn, blob)
            meta_id = self._meta_id(conn, blob, parsed)
            account_id, validity, uid, modseq = self._insert_message(
                conn, mailbox_id, meta_id, blob.id, blob.size, flag_text, when, check_quota
            )
            changes.append(Change(account_id, mailbox_id, modseq))
            return Appended(mailbox_id, validity, uid, modseq)

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
            meta_id = self._meta_id(conn, blob, parsed)
            results: list[Appended | Exception] = []
            for mailbox_id in mailbox_ids:
                conn.execute("SAVEPOINT one")
                try:
                    account_id, validity, uid, modseq = self._insert_message(
                        conn, mailbox_id, meta_id, blob.id, blob.size, "", when, check_quota
                    )
                except errors.StoreError as exc:
                    conn.execute("ROLLBACK TO one")
                    results.append(exc)
                else:
                    changes.append(Change(account_id, mailbox_id, modseq))
                    results.append(Appended(mailbox_id, validity, uid, modseq))
                conn.execute("RELEASE one")
            return results

        results = await self._writer.run(job)
        self.blobs.stored(blob)
        return results

    async def list_messages(self, mailbox_id: int) -> list[MessageEntry]:
        def read(conn: sqlite3.Connection) -> list[MessageEntry]:
            rows = conn.execute(
                "SELECT uid, flags, modseq FROM messages WHERE mailbox_id = ? ORDER BY uid",
                (mailbox_id,),
            ).fetchall()
            return [MessageEntry(r[0], _flags_set(r[1]), r[2]) for r in rows]

        result: list[MessageEntry] = await self._read(read)
        return result

    async def fetch_info(self, mailbox_id: int, uids: Sequence[int]) -> list[MessageInfo]:
        def read(conn: sqlite3.Connection) -> list[MessageInfo]:
            out: list[MessageInfo] = []
            ordered = sorted(set(uids))
            for start in range(0, len(ordered), 500):
                chunk = ordered[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    "SELECT m.uid, m.flags, m.modseq, m.size, m.internal_date, m.blob_id, mm.meta"
                    " FROM messages m JOIN message_meta mm ON mm.id = m.meta_id"
                    f" WHERE m.mailbox_id = ? AND m.uid IN ({marks}) ORDER BY m.uid",
                    (mailbox_id, *chunk),
                ).fetchall()
                out.extend(
                    MessageInfo(r[0], _flags_set(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows
                )
            return out

        if len(uids) <= 8:
            return read(self._db)
        result: list[MessageInfo] = await self._read(read)
        return result

    async def changes_since(self, mailbox_id: int, modseq: int) -> Changes:
        def read(conn: sqlite3.Connection) -> Changes:
            conn.execute("BEGIN")
            try:
                row = conn.execute(
                    "SELECT highest_modseq FROM mailboxes WHERE id = ?", (mailbox_id,)
                ).fetchone()
                if row is None:
                    raise errors.NotFound("no such folder")
                changed = conn.execute(
                    "SELECT uid, flags, modseq FROM messages WHERE mailbox_id = ? AND modseq > ?"
                    " ORDER BY uid",
                    (mailbox_id, modseq),
                ).fetchall()
                gone = conn.execute(
                    "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
                    (mailbox_id, modseq),
                ).fetchall()
            finally:
                conn.execute("COMMIT")
            return Changes(
                int(row[0]),
                tuple(MessageEntry(r[0], _flags_set(r[1]), r[2]) for r in changed),
                tuple(r[0] for r in gone),
            )

        return read(self._db)

    async def store_flags(
        self,
        mailbox_id: int,
        uids: Sequence[int],
        update: Callable[[frozenset[str]], frozenset[str]],
        *,
        unchanged_since: int | None = None,
    ) -> tuple[list[MessageEntry], list[int]]:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> tuple[list[MessageEntry], list[int]]:
            updates: list[tuple[int, frozenset[str]]] = []
            failed: list[int] = []
            delta = counters.Counts()
            ordered = sorted(set(uids))
            for start in range(0, len(ordered), 500):
                chunk = ordered[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for uid, text, modseq, size in conn.execute(
                    "SELECT uid, flags, modseq, size FROM messages"
                    f" WHERE mailbox_id = ? AND uid IN ({marks})",
                    (mailbox_id, *chunk),
                ).fetchall():
                    if unchanged_since is not None and modseq > unchanged_since:
                        failed.append(uid)  # RFC 7162 §3.1.3
                        continue
                    current = _flags_set(text)
                    new = frozenset(update(current))
                    if new != current:
                        updates.append((uid, new))
                        delta += counters.flag_change(size, current, new)
            if not updates:
                return [], failed
            row = conn.execute(
                f"UPDATE mailboxes SET highest_modseq = highest_modseq + 1, {_ADD_COUNTS}"
                " WHERE id = ? RETURNING highest_modseq, account_id",
                (*delta.values(), mailbox_id),
            ).fetchone()
            if row is None:
                raise errors.NotFound("no such folder")
            modseq, account_id = row
            conn.executemany(
                "UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
                [(_flags_text(new), modseq, mailbox_id, uid) for uid, new in updates],
            )
            changes.append(Change(account_id, mailbox_id, modseq))
            return [MessageEntry(uid, new, modseq) for uid, new in updates], failed

        return await self._writer.run(job)

    def _expunge_rows(
        self, conn: sqlite3.Connection, mailbox_id: int, uids: Sequence[int]
    ) -> tuple[list[int], int, int]:
        """Returns (removed uids, modseq, account_id)."""
        removed: list[tuple[int, int, str]] = []
        ordered = sorted(set(uids))
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            marks = ",".join("?" * len(chunk))
            removed.extend(conn.execute(
                f"SELECT uid, size, flags FROM messages WHERE mailbox_id = ? AND uid IN ({marks})",
                (mailbox_id, *chunk),
            ).fetchall())
        account_id = conn.execute(
            "SELECT account_id FROM mailboxes WHERE id = ?", (mailbox_id,)
        ).fetchone()
        if account_id is None:
            raise errors.NotFound("no such folder")
        if not removed:
            return [], 0, account_id[0]
        gone = counters.of_messages((size, text.split()) for _, size, text in removed)
        modseq = conn.execute(
            f"UPDATE mailboxes SET highest_modseq = highest_modseq + 1, {_ADD_COUNTS}"
            " WHERE id = ? RETURNING highest_modseq",
            (*(-gone).values(), mailbox_id),
        ).fetchone()[0]
        conn.executemany(
            "DELETE FROM messages WHERE mailbox_id = ? AND uid = ?",
            [(mailbox_id, uid) for uid, _, _ in removed],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)",
            [(mailbox_id, uid, modseq) for uid, _, _ in removed],
        )
        conn.execute(
            "UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ?"
            " WHERE id = ?",
            (gone.size, gone.messages, account_id[0]),
        )
        return [uid for uid, _, _ in removed], modseq, account_id[0]

    async def expunge(self, mailbox_id: int, uids: Sequence[int]) -> list[int]:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> list[int]:
            removed, modseq, account_id = self._expunge_rows(conn, mailbox_id, uids)
            if removed:
                changes.append(Change(account_id, mailbox_id, modseq))
            return removed

        return await self._writer.run(job)

    def _copy_rows(
        self, conn: sqlite3.Connection, src: int, uids: Sequence[int], dst: int, *, move: bool
    ) -> tuple[list[tuple[int, int]], list[Change]]:
        rows: list[tuple[int, int, str, int, float, str]] = []
        ordered = sorted(set(uids))
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows.extend(conn.execute(
                "SELECT uid, meta_id, blob_id, size, internal_date, flags FROM messages"
                f" WHERE mailbox_id = ? AND uid IN ({marks}) ORDER BY uid",
                (src, *chunk),
            ).fetchall())
        accounts = dict(conn.execute(
            "SELECT id, account_id FROM mailboxes WHERE id IN (?, ?)", (src, dst)
        ).fetchall())
        if src not in accounts or dst not in accounts:
            raise errors.NotFound("no such folder")
        same_account = accounts[src] == accounts[dst]
        if not rows:
            return [], []
        if not (move and same_account):
            total = sum(r[3] for r in rows)
            quota, used = conn.execute(
                "SELECT quota_bytes, used_bytes FROM accounts WHERE id = ?", (accounts[dst],)
            ).fetchone()
            if exceeds_quota(quota, used, total):
                raise errors.OverQuota("quota exceeded")
        mapping: list[tuple[int, int]] = []
        modseq = 0
        for uid, meta_id, blob_id, size, internal_date, flags in rows:
            _, _, new_uid, modseq = self._insert_message(
                conn, dst, meta_id, blob_id, size, flags, internal_date, check_quota=False
            )
            mapping.append((uid, new_uid))
        changes = [Change(accounts[dst], dst, modseq)]
        if move:
            _, src_modseq, _ = self._expunge_rows(conn, src, [uid for uid, *_ in rows])
            changes.append(Change(accounts[src], src, src_modseq))
        return mapping, changes

    async def copy(
        self, src_mailbox_id: int, uids: Sequence[int], dst_mailbox_id: int, *, move: bool = False
    ) -> list[tuple[int, int]]:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> list[tuple[int, int]]:
            mapping, made = self._copy_rows(conn, src_mailbox_id, uids, dst_mailbox_id, move=move)
            changes.extend(made)
            return mapping

        return await self._writer.run(job)

    async def search_text(self, mailbox_id: int, field: str, text: str) -> set[int] | None:
        if len(text) < search.MIN_QUERY:
            return None  # the trigram index cannot narrow shorter strings
        if field not in ("header", "body", "text"):
            raise ValueError(field)
        result: set[int] = await self._read(search.search, mailbox_id, field, text)
        return result

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

        def job(conn: sqlite3.Connection, changes: list[Any]) -> int:
            self.blobs.reference(conn, blob)
            cur = conn.execute(
                "INSERT INTO queue (sender, blob_id, size, created, next_attempt, envid, ret,"
                " recipients) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sender, blob.id, blob.size, now, now if next_attempt is None else next_attempt,
                 envid, ret, _recipients_json(recipients)),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

        item_id = await self._writer.run(job)
        self.blobs.stored(blob)
        return item_id

    async def claim_queue(self, node: str, now: float, lease: float, limit: int) -> list[QueueItem]:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> list[QueueItem]:
            rows = conn.execute(
                f"SELECT {_QUEUE_COLS} FROM queue WHERE next_attempt <= ? AND claimed_until < ?"
                " ORDER BY next_attempt LIMIT ?",
                (now, now, limit),
            ).fetchall()
            items = []
            for row in rows:
                conn.execute(
                    "UPDATE queue SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1"
                    " WHERE id = ?",
                    (node, now + lease, row[0]),
                )
                item = _queue_item(row)
                items.append(QueueItem(**{
                    **{f: getattr(item, f) for f in item.__dataclass_fields__},
                    "claimed_by": node, "claimed_until": now + lease,
                    "attempts": item.attempts + 1,
                }))
            return items

        return await self._writer.run(job)

    async def update_queue(
        self,
        item_id: int,
        recipients: Sequence[QueueRecipient],
        *,
        next_attempt: float | None,
        delay_notified: bool | None = None,
    ) -> None:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> None:
            if next_attempt is None:
                conn.execute("DELETE FROM queue WHERE id = ?", (item_id,))
                return
            conn.execute(
                "UPDATE queue SET recipients = ?, next_attempt = ?, claimed_by = '',"
                " claimed_until = 0, delay_notified = COALESCE(?, delay_notified) WHERE id = ?",
                (_recipients_json(recipients), next_attempt,
                 None if delay_notified is None else int(delay_notified), item_id),
            )

        await self._writer.run(job)

    async def list_queue(self) -> list[QueueItem]:
        rows = self._db.execute(f"SELECT {_QUEUE_COLS} FROM queue ORDER BY id").fetchall()
        return [_queue_item(r) for r in rows]

    async def get_queue_item(self, item_id: int) -> QueueItem | None:
        row = self._db.execute(f"SELECT {_QUEUE_COLS} FROM queue WHERE id = ?", (item_id,)).fetchone()
        return _queue_item(row) if row else None

    async def delete_queue_item(self, item_id: int) -> None:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> None:
            if conn.execute("DELETE FROM queue WHERE id = ?", (item_id,)).rowcount == 0:
                raise errors.NotFound(f"no queue item {item_id}")

        await self._writer.run(job)

    async def retry_queue(self, item_id: int | None, now: float) -> int:
        def job(conn: sqlite3.Connection, changes: list[Any]) -> int:
            if item_id is None:
                return conn.execute("UPDATE queue SET next_attempt = ?", (now,)).rowcount
            count = conn.execute(
                "UPDATE queue SET next_attempt = ? WHERE id = ?", (now, item_id)
            ).rowcount
            if count == 0:
                raise errors.NotFound(f"no queue item {item_id}")
            return count

        return await self._writer.run(job)

    # -- maintenance ------------------------------------------------------------
    async def collect_garbage(self) -> int:
        # Small writer jobs, so that deliveries interleave with the clean-up.
        while await self._writer.run(self._drop_orphan_meta) == GC_META_BATCH:
            pass
        removed = 0
        after = 0
        while after >= 0:
            def collect(conn: sqlite3.Connection, changes: list[Any], start: int = after
                        ) -> tuple[int, int]:
                return blobs.collect_inline(conn, start)

            count, after = await self._writer.run(collect)
            removed += count

        def referenced(blob_id: str) -> bool:
            conn = self._reader_conn()
            return bool(
                conn.execute("SELECT 1 FROM messages WHERE blob_id = ? LIMIT 1", (blob_id,)).fetchone()
                or conn.execute("SELECT 1 FROM queue WHERE blob_id = ? LIMIT 1", (blob_id,)).fetchone()
            )

        removed += await asyncio.get_running_loop().run_in_executor(
            self._readers, self.blobs.files.sweep, referenced
        )
        return removed


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
