"""The scale-out store: PostgreSQL for metadata and message bodies.

Any number of nodes open the same database and serve any account; a node
keeps no state of its own but a few temporary files. Writes are transactions
on a pooled connection (`db.in_transaction`); the SQL lives in one module per
concern (`directory`, `folders`, `messages`, `outbound`, `blobs`). After each
commit the node publishes its changes on its own `ChangeHub`, and the same
transaction carried a NOTIFY that `notify.ChangeListener` turns into the same
events on every other node.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from postbus import metrics
from postbus.security import files
from postbus.store import errors
from postbus.store.admin_model import AdminSession, ApiToken, AuditEntry
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
from postbus.store.postgres import admin as admin_sql
from postbus.store.postgres import (
    blobs,
    db,
    directory,
    folders,
    keys,
    leases,
    messages,
    notify,
    outbound,
    rows,
    vacation,
    websessions,
)
from postbus.store.postgres.db import Conn
from postbus.store.postgres.security import SecurityMixin
from postbus.store.postgres.userdata import UserDataMixin

T = TypeVar("T")

WriteFn = Callable[[Conn, list[Change]], Awaitable[T]]


class _NothingStored(Exception):
    """Rolls back a `deliver_message` transaction that found no folder and had no queue item."""

    def __init__(self, delivered: Delivered) -> None:
        super().__init__("nothing stored")
        self.delivered = delivered


class PostgresStore(SecurityMixin, UserDataMixin):  # store/*/security.py, store/*/userdata.py
    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.data_dir = Path(data_dir)
        self.tmp = self.data_dir / "tmp"
        self.changes = ChangeHub()
        self.node = secrets.token_hex(8)  # tells this store's notifications from others'
        self._pool: Any = None
        self._listener = notify.ChangeListener(url, self.node, self.changes)

    # -- life cycle -----------------------------------------------------------
    async def open(self) -> None:
        files.private_dir(self.tmp)
        for leftover in self.tmp.iterdir():
            leftover.unlink(missing_ok=True)
        pool = await db.create_pool(self.url)
        try:
            async with pool.acquire() as conn:
                await db.migrate(conn)
            await self._listener.start()
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        await self._listener.stop()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @property
    def listener(self) -> notify.ChangeListener:
        return self._listener

    @property
    def pool(self) -> Any:
        assert self._pool is not None, "store is not open"
        return self._pool

    async def _write(self, fn: WriteFn[T], *, audit: AuditEntry | None = None) -> T:
        """Runs `fn` in a transaction (appending `audit` to the audit log in the
        same one), then publishes the changes it recorded."""
        changes: list[Change] = []

        async def transaction(conn: Conn) -> T:
            changes.clear()  # a retried transaction starts over
            result = await fn(conn, changes)
            if audit is not None:
                await admin_sql.append_audit(conn, audit)
            if changes:
                # Delivered to listeners only if the transaction commits.
                await conn.execute(
                    "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
                    notify.CHANNEL, [notify.encode(self.node, c) for c in changes],
                )
            return result

        started = time.perf_counter()
        result = await db.in_transaction(self.pool, transaction)
        metrics.store_done("postgresql", started)
        for change in changes:
            self.changes.publish(change, local_only=True)
        return result

    # -- domains --------------------------------------------------------------
    async def add_domain(
        self, name: str, *, dkim_selector: str = "", dkim_private_key: str = "",
        audit: AuditEntry | None = None,
    ) -> Domain:
        return await self._write(
            lambda conn, _: directory.add_domain(conn, name, dkim_selector, dkim_private_key),
            audit=audit,
        )

    async def get_domain(self, name: str) -> Domain | None:
        row = await self.pool.fetchrow(
            "SELECT id, name, dkim_selector, dkim_private_key FROM domains WHERE name = $1", name
        )
        return Domain(*row) if row else None

    async def list_domains(self) -> list[Domain]:
        found = await self.pool.fetch(
            "SELECT id, name, dkim_selector, dkim_private_key FROM domains"
            ' ORDER BY name COLLATE "C"'
        )
        return [Domain(*r) for r in found]

    async def remove_domain(self, name: str, *, audit: AuditEntry | None = None) -> None:
        await self._write(lambda conn, _: directory.remove_domain(conn, name), audit=audit)

    # -- accounts -------------------------------------------------------------
    async def add_account(
        self, address: str, password_hash: str, *, quota_bytes: int, enabled: bool = True,
        audit: AuditEntry | None = None,
    ) -> Account:
        return await self._write(lambda conn, _: directory.add_account(
            conn, address, password_hash, quota_bytes, enabled
        ), audit=audit)

    async def get_account(self, address: str) -> Account | None:
        row = await self.pool.fetchrow(
            f"SELECT {rows.ACCOUNT_COLS} FROM accounts WHERE address = $1", address
        )
        return rows.account(row) if row else None

    async def get_account_by_id(self, account_id: int) -> Account | None:
        row = await self.pool.fetchrow(
            f"SELECT {rows.ACCOUNT_COLS} FROM accounts WHERE id = $1", account_id
        )
        return rows.account(row) if row else None

    async def list_accounts(self, domain: str | None = None) -> list[Account]:
        found = await self.pool.fetch(
            f"SELECT {rows.ACCOUNT_COLS} FROM accounts WHERE $1::text IS NULL"
            " OR domain_id = (SELECT id FROM domains WHERE name = $1)"
            ' ORDER BY address COLLATE "C"',
            domain,
        )
        return [rows.account(r) for r in found]

    async def remove_account(self, address: str, *, audit: AuditEntry | None = None) -> None:
        await self._write(lambda conn, _: directory.remove_account(conn, address), audit=audit)

    async def update_account(
        self,
        address: str,
        *,
        password_hash: str | None = None,
        quota_bytes: int | None = None,
        enabled: bool | None = None,
        audit: AuditEntry | None = None,
    ) -> Account:
        return await self._write(lambda conn, _: directory.update_account(
            conn, address, password_hash, quota_bytes, enabled
        ), audit=audit)

    async def record_login(self, account_id: int, at: float) -> None:
        await self._write(lambda conn, _: directory.record_login(conn, account_id, at))

    # -- aliases --------------------------------------------------------------
    async def set_alias(self, source: str, targets: Sequence[str], *,
                        audit: AuditEntry | None = None) -> Alias:
        return await self._write(lambda conn, _: directory.set_alias(conn, source, targets),
                                 audit=audit)

    async def get_alias(self, source: str) -> Alias | None:
        row = await self.pool.fetchrow(
            "SELECT source, targets FROM aliases WHERE source = $1", source
        )
        return Alias(row[0], tuple(row[1])) if row else None

    async def list_aliases(self, domain: str | None = None) -> list[Alias]:
        found = await self.pool.fetch(
            "SELECT source, targets FROM aliases WHERE $1::text IS NULL"
            " OR domain_id = (SELECT id FROM domains WHERE name = $1)"
            ' ORDER BY source COLLATE "C"',
            domain,
        )
        return [Alias(r[0], tuple(r[1])) for r in found]

    async def remove_alias(self, source: str, *, audit: AuditEntry | None = None) -> None:
        async def job(conn: Conn, _: list[Change]) -> None:
            if await conn.execute("DELETE FROM aliases WHERE source = $1", source) == "DELETE 0":
                raise errors.NotFound(f"no alias {source}")

        await self._write(job, audit=audit)

    # -- administrators -------------------------------------------------------
    async def add_admin(
        self, name: str, password_hash: str, *, operator: bool, domains: Sequence[str] = (),
        audit: AuditEntry | None = None,
    ) -> Admin:
        return await self._write(
            lambda conn, _: directory.add_admin(conn, name, password_hash, operator, domains),
            audit=audit,
        )

    async def get_admin(self, name: str) -> Admin | None:
        row = await self.pool.fetchrow(
            "SELECT id, name, password_hash, operator, domains FROM admins WHERE name = $1", name
        )
        return Admin(row[0], row[1], row[2], row[3], tuple(row[4])) if row else None

    async def list_admins(self) -> list[Admin]:
        found = await self.pool.fetch(
            "SELECT id, name, password_hash, operator, domains FROM admins"
            ' ORDER BY name COLLATE "C"'
        )
        return [Admin(r[0], r[1], r[2], r[3], tuple(r[4])) for r in found]

    async def remove_admin(self, name: str, *, audit: AuditEntry | None = None) -> None:
        async def job(conn: Conn, _: list[Change]) -> None:
            if await conn.execute("DELETE FROM admins WHERE name = $1", name) == "DELETE 0":
                raise errors.NotFound(f"no administrator {name}")

        await self._write(job, audit=audit)

    async def update_admin(self, name: str, *, password_hash: str,
                           audit: AuditEntry | None = None) -> Admin:
        async def job(conn: Conn, _: list[Change]) -> Admin:
            row = await conn.fetchrow(
                "UPDATE admins SET password_hash = $2 WHERE name = $1"
                " RETURNING id, name, password_hash, operator, domains",
                name, password_hash,
            )
            if row is None:
                raise errors.NotFound(f"no administrator {name}")
            return Admin(row[0], row[1], row[2], row[3], tuple(row[4]))

        return await self._write(job, audit=audit)

    # -- settings -------------------------------------------------------------
    async def get_setting(self, key: str) -> str | None:
        value: str | None = await self.pool.fetchval(
            "SELECT value FROM settings WHERE key = $1", key
        )
        return value

    async def set_setting(self, key: str, value: str | None, *,
                          audit: AuditEntry | None = None) -> None:
        async def job(conn: Conn, _: list[Change]) -> None:
            if value is None:
                await conn.execute("DELETE FROM settings WHERE key = $1", key)
            else:
                await conn.execute(
                    "INSERT INTO settings (key, value) VALUES ($1, $2)"
                    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    key, value,
                )

        await self._write(job, audit=audit)

    # -- administration (issue 14): audit log, API tokens, TOTP, suspension ---
    async def append_audit(self, entry: AuditEntry) -> int:
        return await self._write(lambda conn, _: admin_sql.append_audit(conn, entry))

    async def list_audit(
        self, *, domains: Sequence[str] | None, before: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        return await admin_sql.list_audit(self.pool, domains, before, limit)

    async def add_api_token(self, admin: str, digest: str, *, label: str, created: float,
                            audit: Callable[[ApiToken], AuditEntry] | None = None) -> ApiToken:
        async def job(conn: Conn, _: list[Change]) -> ApiToken:
            made = await admin_sql.add_api_token(conn, admin, digest, label, created)
            if audit is not None:
                await admin_sql.append_audit(conn, audit(made))
            return made

        return await self._write(job)

    async def find_api_token(self, digest: str) -> ApiToken | None:
        return await admin_sql.find_api_token(self.pool, digest)

    async def list_api_tokens(self, admin: str) -> list[ApiToken]:
        return await admin_sql.list_api_tokens(self.pool, admin)

    async def remove_api_token(self, admin: str, token_id: int, *,
                               audit: AuditEntry | None = None) -> None:
        await self._write(lambda conn, _: admin_sql.remove_api_token(conn, admin, token_id),
                          audit=audit)

    async def set_totp_secret(self, admin: str, secret: str | None, *,
                              audit: AuditEntry | None = None) -> None:
        await self._write(lambda conn, _: admin_sql.set_totp_secret(conn, admin, secret),
                          audit=audit)

    async def get_totp_secret(self, admin: str) -> str | None:
        return await admin_sql.get_totp_secret(self.pool, admin)

    async def claim_totp_step(self, admin: str, step: int) -> bool:
        return await self._write(lambda conn, _: admin_sql.claim_totp_step(conn, admin, step))

    async def set_domain_suspended(self, name: str, suspended: bool, *,
                                   audit: AuditEntry | None = None) -> None:
        await self._write(
            lambda conn, _: admin_sql.set_domain_suspended(conn, name, suspended), audit=audit)

    async def list_suspended_domains(self) -> list[str]:
        return await admin_sql.list_suspended_domains(self.pool)

    async def create_admin_session(self, admin: str, id_hash: str, csrf_token: str,
                                   now: float) -> AdminSession:
        return await self._write(lambda conn, _: admin_sql.create_admin_session(
            conn, admin, id_hash, csrf_token, now))

    async def get_admin_session(self, id_hash: str) -> AdminSession | None:
        return await admin_sql.get_admin_session(self.pool, id_hash)

    async def touch_admin_session(self, id_hash: str, now: float) -> None:
        await self._write(lambda conn, _: admin_sql.touch_admin_session(conn, id_hash, now))

    async def delete_admin_session(self, id_hash: str) -> None:
        await self._write(lambda conn, _: admin_sql.delete_admin_session(conn, id_hash))

    # -- vacation auto-replies (issue 14) ---------------------------------------
    async def claim_vacation_reply(
        self, account_id: int, sender: str, now: float, interval: float
    ) -> bool:
        async def job(conn: Conn, _: list[Change]) -> bool:
            return await vacation.claim_reply(conn, account_id, sender, now, interval)

        return await self._write(job)

    async def clear_vacation_replies(self, account_id: int) -> None:
        async def job(conn: Conn, _: list[Change]) -> None:
            await vacation.clear_replies(conn, account_id)

        await self._write(job)

    async def claim_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        return await leases.claim(self.pool, name, holder, now, ttl)

    async def swap_setting(self, key: str, expected: str | None, value: str | None) -> bool:
        # One statement each: the row lock (or the unique key, for an insert)
        # makes a concurrent swap of the same key see this one's result.
        if expected is None and value is None:
            return await self.get_setting(key) is None
        if expected is None:
            status = await self.pool.execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                key, value)
        elif value is None:
            status = await self.pool.execute(
                "DELETE FROM settings WHERE key = $1 AND value = $2", key, expected)
        else:
            status = await self.pool.execute(
                "UPDATE settings SET value = $3 WHERE key = $1 AND value = $2", key, expected, value)
        return bool(status.rsplit(" ", 1)[-1] != "0")

    # -- folders --------------------------------------------------------------
    async def list_mailboxes(self, account_id: int) -> list[Mailbox]:
        found = await self.pool.fetch(
            f"SELECT {rows.MAILBOX_COLS} FROM mailboxes WHERE account_id = $1"
            ' ORDER BY name COLLATE "C"',
            account_id,
        )
        return [rows.mailbox(r) for r in found]

    async def get_mailbox(self, account_id: int, name: str) -> Mailbox | None:
        row = await self.pool.fetchrow(
            f"SELECT {rows.MAILBOX_COLS} FROM mailboxes WHERE account_id = $1 AND name = $2",
            account_id, name,
        )
        return rows.mailbox(row) if row else None

    async def get_mailbox_by_id(self, mailbox_id: int) -> Mailbox | None:
        row = await self.pool.fetchrow(
            f"SELECT {rows.MAILBOX_COLS} FROM mailboxes WHERE id = $1", mailbox_id
        )
        return rows.mailbox(row) if row else None

    async def create_mailbox(
        self, account_id: int, name: str, *, special_use: str | None = None
    ) -> Mailbox:
        async def job(conn: Conn, changes: list[Change]) -> Mailbox:
            box = await folders.create(conn, account_id, name, special_use)
            changes.append(Change(account_id, box.id, 0, "mailboxes"))
            return box

        return await self._write(job)

    async def delete_mailbox(self, account_id: int, name: str) -> None:
        await self._write(lambda conn, changes: folders.delete(conn, account_id, name, changes))

    async def rename_mailbox(self, account_id: int, old: str, new: str) -> None:
        await self._write(
            lambda conn, changes: folders.rename(conn, account_id, old, new, changes)
        )

    async def claim_recent(self, mailbox_id: int, *, claim: bool = True) -> tuple[int, int]:
        # A point read first: a SELECT of a folder with nothing new writes nothing.
        row = await self.pool.fetchrow(
            "SELECT recent_uid, GREATEST(recent_uid, uid_next - 1) FROM mailboxes"
            " WHERE id = $1", mailbox_id,
        )
        if row is None:
            raise errors.NotFound("no such folder")
        if not claim or row[0] == row[1]:
            return int(row[0]), int(row[1])
        # One statement: the row lock serialises claims of every node (and the
        # appends that move uid_next), so each UID is claimed once (RFC 3501 §2.3.2).
        row = await self.pool.fetchrow(
            "WITH old AS (SELECT id, recent_uid FROM mailboxes WHERE id = $1"
            " FOR NO KEY UPDATE)"
            " UPDATE mailboxes m SET recent_uid = GREATEST(m.recent_uid, m.uid_next - 1)"
            " FROM old WHERE m.id = old.id RETURNING old.recent_uid, m.recent_uid",
            mailbox_id,
        )
        if row is None:
            raise errors.NotFound("no such folder")
        return int(row[0]), int(row[1])

    async def recent_count(self, mailbox_id: int) -> int:
        count = await self.pool.fetchval(
            "SELECT count(*) FROM messages WHERE mailbox_id = $1"
            " AND uid > (SELECT recent_uid FROM mailboxes WHERE id = $1)", mailbox_id,
        )
        return int(count)

    async def list_subscriptions(self, account_id: int) -> list[str]:
        found = await self.pool.fetch(
            'SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name COLLATE "C"',
            account_id,
        )
        return [r[0] for r in found]

    async def set_subscribed(self, account_id: int, name: str, subscribed: bool) -> None:
        name = folders.storable_name(name)

        async def job(conn: Conn, changes: list[Change]) -> None:
            changes.append(Change(account_id, 0, 0, "subscriptions"))  # NOTIFY, RFC 5465 §5.5
            if subscribed:
                await conn.execute(
                    "INSERT INTO subscriptions (account_id, name) VALUES ($1, $2)"
                    " ON CONFLICT DO NOTHING",
                    account_id, name,
                )
            else:
                await conn.execute(
                    "DELETE FROM subscriptions WHERE account_id = $1 AND name = $2",
                    account_id, name,
                )

        await self._write(job)

    async def mailbox_status(self, mailbox_id: int) -> MailboxStatus:
        row = await self.pool.fetchrow(
            f"SELECT {rows.MAILBOX_COLS}, {rows.COUNTER_COLS} FROM mailboxes WHERE id = $1",
            mailbox_id,
        )
        if row is None:
            raise errors.NotFound("no such folder")
        return MailboxStatus(rows.mailbox(row), *row[8:])

    async def find_mailbox_status(self, account_id: int, name: str) -> MailboxStatus | None:
        row = await self.pool.fetchrow(
            f"SELECT {rows.MAILBOX_COLS}, {rows.COUNTER_COLS} FROM mailboxes"
            " WHERE account_id = $1 AND name = $2",
            account_id, name,
        )
        return MailboxStatus(rows.mailbox(row), *row[8:]) if row else None

    # -- blobs ----------------------------------------------------------------
    def blob_writer(self) -> blobs.PgBlobWriter:
        return blobs.PgBlobWriter(self.pool, self.tmp)

    async def put_blob(self, data: bytes) -> BlobRef:
        w = self.blob_writer()
        w.write(data)
        return await w.finish()

    async def read_blob(self, blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        return await blobs.read(self.pool, blob_id, offset, length)

    async def blob_exists(self, blob_id: str) -> bool:
        """Whether the body is stored (not part of the contract; for checks and tests)."""
        return await blobs.exists(self.pool, blob_id)

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
        flag_list = rows.flags_list(flags)
        when = time.time() if internal_date is None else internal_date

        async def job(conn: Conn, changes: list[Change]) -> Appended:
            await blobs.reference(conn, blob)
            meta = await messages.meta_id(conn, blob, parsed)
            return await messages.insert_message(
                conn, mailbox_id, meta, blob, flag_list, when, check_quota, changes
            )

        return await self._write(job)

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
        return await self._write(lambda conn, changes: messages.deliver(
            conn, mailbox_ids, blob, parsed, when, check_quota, changes
        ))

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

        async def job(conn: Conn, changes: list[Change]) -> Delivered:
            local = tuple(await messages.deliver_message(
                conn, mailbox_ids, blob, parsed, when, check_quota, changes))
            queue_id = None
            if queue is not None:
                queue_id = await outbound.enqueue(conn, queue.sender, queue.recipients, blob,
                                                  queue.envid, queue.ret, now, now)
            delivered = Delivered(local, queue_id)
            if not delivered.stored:
                raise _NothingStored(delivered)  # rolls the transaction back
            return delivered

        try:
            return await self._write(job)
        except _NothingStored as nothing:
            return nothing.delivered

    async def list_messages(self, mailbox_id: int) -> list[MessageEntry]:
        # Flags as one text per row (IMAP flags are atoms: no spaces) and one
        # frozenset per distinct set, shared by the entries: a folder has few
        # distinct sets, and decoding an array per row doubled the time.
        found = await self.pool.fetch(
            "SELECT uid, array_to_string(flags, ' '), modseq FROM messages WHERE mailbox_id = $1"
            " ORDER BY uid",
            mailbox_id,
        )
        flagsets = {text: frozenset(text.split()) for text in {r[1] for r in found}}
        return [MessageEntry(uid, flagsets[text], modseq) for uid, text, modseq in found]

    async def fetch_info(self, mailbox_id: int, uids: Sequence[int]) -> list[MessageInfo]:
        found = await self.pool.fetch(
            "SELECT m.uid, m.flags, m.modseq, m.size, m.internal_date, m.blob_id, mm.meta, m.saved"
            " FROM messages m JOIN message_meta mm ON mm.id = m.meta_id"
            " WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[]) ORDER BY m.uid",
            mailbox_id, sorted(set(uids)),
        )
        return [MessageInfo(r[0], frozenset(r[1]), r[2], r[3], r[4], r[5], r[6], r[7])
                for r in found]

    async def changes_since(self, mailbox_id: int, modseq: int) -> Changes:
        # One statement, so one snapshot and one round trip: every IMAP command
        # that follows another session's change, and every SELECT of a folder
        # opened before (mailbox/entries.py), asks this.
        row = await self.pool.fetchrow(_CHANGES_SINCE, mailbox_id, modseq)
        if row is None:
            raise errors.NotFound("no such folder")
        highest, uids, flags, modseqs, gone = row
        sets: dict[str, frozenset[str]] = {}  # one frozenset per distinct set of flags
        changed = []
        for uid, text, seq in zip(uids or (), flags or (), modseqs or (), strict=True):
            flagset = sets.get(text)
            if flagset is None:
                flagset = sets[text] = frozenset(text.split())
            changed.append(MessageEntry(uid, flagset, seq))
        return Changes(highest, tuple(changed), tuple(gone))

    async def store_flags(
        self,
        mailbox_id: int,
        uids: Sequence[int],
        update: Callable[[frozenset[str]], frozenset[str]],
        *,
        unchanged_since: int | None = None,
    ) -> tuple[list[MessageEntry], list[int]]:
        return await self._write(lambda conn, changes: messages.store_flags(
            conn, mailbox_id, uids, update, unchanged_since, changes
        ))

    async def expunge(self, mailbox_id: int, uids: Sequence[int]) -> list[int]:
        return await self._write(
            lambda conn, changes: messages.expunge(conn, mailbox_id, uids, changes)
        )

    async def copy(
        self, src_mailbox_id: int, uids: Sequence[int], dst_mailbox_id: int, *, move: bool = False
    ) -> list[tuple[int, int]]:
        return await self._write(lambda conn, changes: messages.copy(
            conn, src_mailbox_id, uids, dst_mailbox_id, move, changes
        ))

    async def search_text(self, mailbox_id: int, field: str, text: str) -> set[int] | None:
        if len(text) < 3:
            return None  # the trigram index cannot narrow shorter strings
        condition = {
            "header": "mm.header_text LIKE $2",
            "body": "mm.body_text LIKE $2",
            "text": "(mm.header_text LIKE $2 OR mm.body_text LIKE $2)",
        }[field]
        found = await self.pool.fetch(
            "SELECT m.uid FROM messages m JOIN message_meta mm ON mm.id = m.meta_id"
            f" WHERE m.mailbox_id = $1 AND {condition}",
            mailbox_id, rows.like_contains(rows.search_text(text)),
        )
        return {r[0] for r in found}

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
        return await self._write(lambda conn, _: outbound.enqueue(
            conn, sender, recipients, blob, envid, ret, now, due
        ))

    async def claim_queue(self, node: str, now: float, lease: float, limit: int) -> list[QueueItem]:
        return await self._write(lambda conn, _: outbound.claim(conn, node, now, lease, limit))

    async def update_queue(
        self,
        item_id: int,
        recipients: Sequence[QueueRecipient],
        *,
        next_attempt: float | None,
        delay_notified: bool | None = None,
    ) -> None:
        await self._write(lambda conn, _: outbound.update(
            conn, item_id, recipients, next_attempt, delay_notified
        ))

    async def release_queue_claims(self, holders: Sequence[str]) -> int:
        return await self._write(lambda conn, _: outbound.release(conn, list(holders)))

    async def list_queue(self) -> list[QueueItem]:
        found = await self.pool.fetch(f"SELECT {rows.QUEUE_COLS} FROM queue ORDER BY id")
        return [rows.queue_item(r) for r in found]

    async def queue_stats(self) -> tuple[int, float | None]:
        row = await self.pool.fetchrow("SELECT COUNT(*), MIN(created) FROM queue")
        assert row is not None
        return int(row[0]), row[1]

    async def get_queue_item(self, item_id: int) -> QueueItem | None:
        row = await self.pool.fetchrow(
            f"SELECT {rows.QUEUE_COLS} FROM queue WHERE id = $1", item_id
        )
        return rows.queue_item(row) if row else None

    async def delete_queue_item(self, item_id: int) -> None:
        async def job(conn: Conn, _: list[Change]) -> None:
            if await conn.execute("DELETE FROM queue WHERE id = $1", item_id) == "DELETE 0":
                raise errors.NotFound(f"no queue item {item_id}")

        await self._write(job)

    async def retry_queue(self, item_id: int | None, now: float) -> int:
        return await self._write(lambda conn, _: outbound.retry(conn, item_id, now))

    # -- webmail sessions (issue 13, web/webmail) --------------------------------
    async def create_web_session(self, session: WebSession) -> None:
        await self._write(lambda conn, _: websessions.create(conn, session))

    async def get_web_session(self, id_hash: str) -> WebSession | None:
        return await websessions.get(self.pool, id_hash)

    async def update_web_session(self, id_hash: str, *, last_seen: float | None = None,
                                 language: str | None = None) -> None:
        await self._write(lambda conn, _: websessions.update(conn, id_hash, last_seen, language))

    async def delete_web_session(self, id_hash: str) -> None:
        await self._write(lambda conn, _: websessions.delete(conn, id_hash))

    async def delete_web_sessions(self, *, account_id: int | None = None,
                                  idle_before: float | None = None) -> int:
        return await self._write(
            lambda conn, _: websessions.delete_many(conn, account_id, idle_before))

    # -- maintenance ------------------------------------------------------------
    async def account_bodies(self, account_id: int) -> list[str]:
        return [r[0] for r in await self.pool.fetch(
            "SELECT DISTINCT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
            " WHERE b.account_id = $1", account_id)]

    async def collect_garbage(
        self, *, grace_seconds: float | None = None, bodies: Sequence[str] | None = None
    ) -> int:
        grace = blobs.GC_GRACE_SECONDS if grace_seconds is None else grace_seconds
        cutoff = time.time() - grace

        removed = await blobs.collect(self.pool, cutoff, bodies)

        async def job(conn: Conn, _: list[Change]) -> None:
            orphans = await conn.fetch(
                "SELECT mm.id FROM message_meta mm"
                " WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.meta_id = mm.id)"
            )
            await rows.drop_unused_meta(conn, (r[0] for r in orphans))

        await self._write(job)
        return removed


    # -- large folders (issue 12, perf): stored SORT and SEARCH keys ------------
    async def set_message_keys(self, pairs: Sequence[tuple[str, MessageKeys]]) -> None:
        if pairs:
            listed = list(pairs)
            await self._write(lambda conn, _: keys.set_keys(conn, listed))

    async def sort_uids(
        self, mailbox_id: int, sort: Sequence[tuple[str, bool]], version: int
    ) -> tuple[list[int], list[int]]:
        if any(f not in keys.SORT_EXPRESSIONS for f, _ in sort):
            raise ValueError(sort)
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                                 readonly=True):
            return await keys.sort_uids(conn, mailbox_id, list(sort), version)

    async def match_keys(
        self, mailbox_id: int, field: str, value: str, version: int
    ) -> tuple[set[int], set[int]]:
        if field not in keys.MATCH_COLUMNS:
            raise ValueError(field)
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                                 readonly=True):
            return await keys.match_keys(conn, mailbox_id, field, value, version)

    async def match_days(
        self, mailbox_id: int, field: str, op: str, day: int, version: int
    ) -> tuple[set[int], set[int]]:
        if field not in ("arrival", "saved", "sent") or op not in ("before", "on", "since"):
            raise ValueError((field, op))
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                                 readonly=True):
            return await keys.match_days(conn, mailbox_id, field, op, day, version)


    async def set_envelopes(self, envelopes: Sequence[tuple[str, bytes]]) -> None:
        if envelopes:
            listed = list(envelopes)
            await self._write(lambda conn, _: keys.set_envelopes(conn, listed))

    async def envelopes(
        self, mailbox_id: int, uids: Sequence[int], version: int
    ) -> dict[int, bytes]:
        return await keys.envelopes(self.pool, mailbox_id, uids, version)

# What changed in a folder since a mod-sequence (see `changes_since`): the
# folder's highest mod-sequence, the changed messages as three parallel arrays
# (flags as one text each: IMAP flags are atoms, without spaces), and the
# expunged UIDs, all ascending by UID.
_CHANGES_SINCE = """
SELECT b.highest_modseq, c.uids, c.flags, c.modseqs,
       ARRAY(SELECT e.uid FROM expunged e WHERE e.mailbox_id = b.id AND e.modseq > $2
             ORDER BY e.uid)
FROM mailboxes b
LEFT JOIN LATERAL (
    SELECT array_agg(m.uid ORDER BY m.uid) AS uids,
           array_agg(array_to_string(m.flags, ' ') ORDER BY m.uid) AS flags,
           array_agg(m.modseq ORDER BY m.uid) AS modseqs
    FROM messages m WHERE m.mailbox_id = b.id AND m.modseq > $2
) c ON true
WHERE b.id = $1
"""
