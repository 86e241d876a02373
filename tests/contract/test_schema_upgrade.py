"""Upgrading a store made before issue 9: the subscribed folders become rows of
`subscriptions`, and every folder's counters are backfilled from its messages.
Both backends, each from its last schema without those."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

from postbus.store.contract import Store
from postbus.store.sqlite import db as sqlite_db
from postbus.store.sqlite.backend import SqliteStore

from .conftest import PG_DSN, _pg_database, _pg_drop, require_server

# (name, subscribed, [(size, flags)]) of alice's folders before the upgrade.
FOLDERS = [
    ("INBOX", True, [(100, ""), (200, "\\Seen"), (400, "\\Deleted \\Seen"), (800, "\\Deleted")]),
    ("Sent", True, []),
    ("Quiet", False, [(10, "$Work"), (20, "\\Seen $Work")]),
]
EXPECTED = {  # messages, unseen, size, deleted, deleted_size
    "INBOX": (4, 2, 1500, 2, 1200),
    "Sent": (0, 0, 0, 0, 0),
    "Quiet": (2, 1, 30, 0, 0),
}


def _script(package: str, number: int) -> str:
    for f in resources.files(package).iterdir():
        if f.name.startswith(f"{number:04d}_"):
            return f.read_text()
    raise AssertionError(f"no migration {number} in {package}")


async def _check(store: Store) -> None:
    account = await store.get_account("alice@example.test")
    assert account is not None
    assert await store.list_subscriptions(account.id) == ["INBOX", "Sent"]
    for box in await store.list_mailboxes(account.id):
        status = await store.mailbox_status(box.id)
        got = (status.messages, status.unseen, status.size, status.deleted, status.deleted_size)
        assert got == EXPECTED[box.name], box.name
    # Counters go on from the backfilled values.
    inbox = await store.get_mailbox(account.id, "INBOX")
    assert inbox is not None
    await store.expunge(inbox.id, [4])
    status = await store.mailbox_status(inbox.id)
    assert (status.messages, status.deleted, status.deleted_size) == (3, 1, 400)


async def test_sqlite_store_from_schema_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "postbus.sqlite3", isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
    for number in (1, 2):
        for statement in sqlite_db._statements(_script("postbus.store.migrations.sqlite", number)):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?)", (number,))
    conn.execute("INSERT INTO domains (id, name, created) VALUES (1, 'example.test', 0)")
    conn.execute("INSERT INTO accounts (id, address, domain_id, password_hash, quota_bytes,"
                 " used_bytes, used_messages, created)"
                 " VALUES (1, 'alice@example.test', 1, 'h', 0, 1530, 6, 0)")
    meta = 0
    for box_id, (name, subscribed, messages) in enumerate(FOLDERS, 1):
        conn.execute("INSERT INTO mailboxes (id, account_id, name, uid_validity, uid_next,"
                     " highest_modseq, subscribed) VALUES (?, 1, ?, ?, ?, 9, ?)",
                     (box_id, name, box_id, len(messages) + 1, int(subscribed)))
        for uid, (size, flags) in enumerate(messages, 1):
            meta += 1
            conn.execute("INSERT INTO message_meta (id, blob_id, meta) VALUES (?, ?, x'00')",
                         (meta, f"{meta:064x}"))
            conn.execute("INSERT INTO messages (mailbox_id, uid, meta_id, blob_id, size,"
                         " internal_date, flags, modseq) VALUES (?, ?, ?, ?, ?, 0, ?, 2)",
                         (box_id, uid, meta, f"{meta:064x}", size, flags))
    conn.close()
    store = SqliteStore(data)
    await store.open()
    try:
        await _check(store)
        columns = {r[1] for r in store._db.execute("PRAGMA table_info(mailboxes)")}
        assert "subscribed" not in columns
    finally:
        await store.close()


async def test_postgresql_store_from_schema_1(tmp_path: Path) -> None:
    import asyncpg

    from postbus.store.postgres.backend import PostgresStore

    await require_server()
    name = await _pg_database()
    url = PG_DSN.rsplit("/", 1)[0] + "/" + name
    try:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
            await conn.execute(_script("postbus.store.migrations.postgresql", 1))
            await conn.execute("INSERT INTO schema_migrations VALUES (1)")
            domain = await conn.fetchval(
                "INSERT INTO domains (name, created) VALUES ('example.test', 0) RETURNING id")
            account = await conn.fetchval(
                "INSERT INTO accounts (address, domain_id, password_hash, quota_bytes,"
                " used_bytes, used_messages, created)"
                " VALUES ('alice@example.test', $1, 'h', 0, 1530, 6, 0) RETURNING id", domain)
            meta = 0
            for box_name, subscribed, messages in FOLDERS:
                box = await conn.fetchval(
                    "INSERT INTO mailboxes (account_id, name, uid_validity, uid_next,"
                    " highest_modseq, subscribed) VALUES ($1, $2, $3, $4, 9, $5) RETURNING id",
                    account, box_name, len(box_name), len(messages) + 1, subscribed)
                for uid, (size, flags) in enumerate(messages, 1):
                    meta += 1
                    meta_id = await conn.fetchval(
                        "INSERT INTO message_meta (blob_id, meta) VALUES ($1, '\\x00')"
                        " RETURNING id", f"{meta:064x}")
                    await conn.execute(
                        "INSERT INTO messages (mailbox_id, uid, meta_id, blob_id, size,"
                        " internal_date, flags, modseq) VALUES ($1, $2, $3, $4, $5, 0, $6, 2)",
                        box, uid, meta_id, f"{meta:064x}", size, flags.split())
        finally:
            await conn.close()
        store = PostgresStore(url, tmp_path / "data")
        await store.open()
        try:
            await _check(store)
            assert not await store.pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns"
                " WHERE table_name = 'mailboxes' AND column_name = 'subscribed')")
        finally:
            await store.close()
    finally:
        await _pg_drop(name)
