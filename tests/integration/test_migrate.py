"""`postbus migrate --to postgresql://...` round-trips an embedded store of
10,000 messages: the same ids, UIDs, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ,
flags, internal dates, mod-sequences, expunged records, quota counters,
aliases, administrators, settings, queue and bodies; new writes on PostgreSQL
carry on past the copied ids. It refuses a non-empty target, a store a running
server holds, and a store with a missing body, leaving the target empty.

The store is built fast: a few hundred distinct bodies are ingested once and
appended again and again through the store API (as one message delivered to
many folders shares its body), with varied flags, dates and folders.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import random
import sqlite3
from pathlib import Path

import asyncpg

from postbus import config as config_mod
from postbus.admin import CLI
from postbus.app import App
from postbus.delivery.ingest import Ingested, ingest_bytes
from postbus.store.migrate import redact
from postbus.store.model import BlobRef, Parsed, QueueItem, QueueRecipient
from postbus.store.postgres.backend import PostgresStore
from postbus.store.postgres.rows import search_text
from postbus.store.sqlite.backend import SqliteStore
from tests.support.pg import throwaway_database
from tests.support.server import postbus, running_server, write_config

DOMAIN = "example.test"
PASSWORD = "Tq7#mZ2v!pLx"
USERS = (f"anna@{DOMAIN}", f"bob@{DOMAIN}", f"carl@{DOMAIN}")
EXTRA_FOLDERS = ("Work", "Work/Projects", "Lists/python")
MESSAGES = 10_300  # 10,000 and more remain after the expunges
DISTINCT = 300
APPEND_CHUNK = 500
FLAG_CHOICES = ((), ("\\Seen",), ("\\Seen", "\\Answered"), ("\\Flagged",),
                ("\\Seen", "$Label1"), ("\\Draft", "\\Seen"))
BASE_DATE = 1_700_000_000.0


def make_message(n: int, rng: random.Random) -> bytes:
    words = "budget meeting agenda report deadline invoice travel release draft".split()
    body = " ".join(rng.choice(words) for _ in range(rng.randint(20, 300)))
    if n % 50 == 3:
        body += " see you in zanzibar"
    subject = f"Überblick {n}" if n % 7 == 0 else f"report {n}"
    header = (f"From: Sender {n} <s{n}@remote.test>\r\nTo: anna@{DOMAIN}\r\n"
              f"Subject: {subject}\r\nMessage-ID: <{n}@remote.test>\r\n"
              f"Date: Tue, 1 Jul 2025 10:{n % 60:02d}:00 +0000\r\nMIME-Version: 1.0\r\n")
    if n % 10 == 9:  # some bodies of a few hundred KB
        blob = rng.randbytes(rng.randint(50_000, 300_000)).hex()
        return (header + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n--b\r\n"
                "Content-Type: application/octet-stream\r\n\r\n" + blob + "\r\n--b--\r\n").encode()
    return (header + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()


async def build_store(config: Path) -> None:
    app = App(config_mod.load(config))
    await app.open()
    try:
        await app.accounts.add_domain(DOMAIN)
        accounts = [await app.accounts.add_user(a, PASSWORD) for a in USERS]
        await app.accounts.add_alias(f"info@{DOMAIN}", [USERS[0], USERS[1]])
        await app.accounts.add_admin("ops", PASSWORD, operator=True)
        await app.accounts.add_admin("webmaster", PASSWORD, operator=False, domains=[DOMAIN])
        await app.admin.create_token(CLI, "ops")
        await app.admin.enrol_totp(CLI, "webmaster")
        await app.admin.add_domain(CLI, "quiet.test")
        await app.admin.suspend_domain(CLI, "quiet.test", True)
        await app.admin.open_session(await app.admin.login("ops", PASSWORD, None, "192.0.2.1"))
        store = app.store
        for folder in EXTRA_FOLDERS:
            await store.create_mailbox(accounts[0].id, folder)
        boxes = [b.id for a in accounts for b in await store.list_mailboxes(a.id)]
        rng = random.Random(20250701)
        bodies: list[Ingested] = [
            await ingest_bytes(store, make_message(n, rng)) for n in range(DISTINCT)
        ]
        jobs = [(rng.choice(boxes), bodies[i % DISTINCT], rng.choice(FLAG_CHOICES),
                 BASE_DATE + rng.randint(0, 86400 * 365) + rng.random())
                for i in range(MESSAGES)]
        for start in range(0, MESSAGES, APPEND_CHUNK):
            await asyncio.gather(*(
                store.append(box, body.blob, body.parsed, flags=flags, internal_date=when)
                for box, body, flags, when in jobs[start:start + APPEND_CHUNK]
            ))
        for box in boxes:  # later changes: flags, expunges, a copy, a move
            uids = [e.uid for e in await store.list_messages(box)]
            await store.store_flags(box, uids[::5], lambda f: f | {"$Later"})
            await store.expunge(box, uids[1::17])
            await store.copy(box, uids[2::29], boxes[0])
            await store.copy(box, uids[3::31], boxes[-1], move=True)
        await store.set_subscribed(accounts[0].id, "Lists/python", False)
        await store.set_subscribed(accounts[0].id, "Gone/folder", True)  # no such folder
        await store.set_setting(f"vacation:{USERS[1]}", '{"subject": "away"}')
        await store.record_login(accounts[0].id, 1_800_000_000.25)
        await store.enqueue(USERS[0], [QueueRecipient("x@remote.test", notify="FAILURE")],
                            bodies[0].blob, envid="env-1", ret="HDRS")
        await store.enqueue(USERS[1], [QueueRecipient("y@remote.test")], bodies[1].blob,
                            next_attempt=BASE_DATE)
        await store.claim_queue("node-a", BASE_DATE + 1, 600.0, 10)
    finally:
        await app.close()
    # SqliteStore.close() leaves its reader threads' connections to the garbage
    # collector; migrate would rightly see them as a server holding the store.
    gc.collect()
    unindex_some(config)


def unindex_some(config: Path) -> None:
    """Puts half the records that mention "zanzibar" back in `search_pending`, as
    a store stopped before its writer indexed them would have them (schema 2)."""
    conn = sqlite3.connect(config.parent / "var" / "postbus.sqlite3", isolation_level=None)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_pending'").fetchone():
            return
        ids = [r[0] for r in conn.execute(
            "SELECT rowid FROM message_search WHERE message_search MATCH '\"zanzibar\"'")][::2]
        if not ids:
            return  # the writer indexed none of them yet: all are pending already
        marks = ",".join("?" * len(ids))
        conn.execute("BEGIN")
        conn.execute("INSERT INTO search_pending (meta_id, header, body) SELECT rowid, header,"
                     f" body FROM message_search WHERE rowid IN ({marks})", ids)
        conn.execute(f"DELETE FROM message_search WHERE rowid IN ({marks})", ids)
        conn.execute("COMMIT")
    finally:
        conn.close()


def source_search_text(data_dir: Path) -> list[tuple[int, str, str]]:
    """(meta id, header text, body text) wherever the embedded store keeps them."""
    conn = sqlite3.connect(f"file:{data_dir / 'postbus.sqlite3'}?mode=ro", uri=True)
    try:
        pending = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'search_pending'").fetchone()
        found = conn.execute(
            "SELECT id, COALESCE(s.header, p.header), COALESCE(s.body, p.body)"
            " FROM message_meta mm LEFT JOIN message_search s ON s.rowid = mm.id"
            " LEFT JOIN search_pending p ON p.meta_id = mm.id ORDER BY mm.id"
            if pending else
            "SELECT id, s.header, s.body FROM message_meta mm"
            " LEFT JOIN message_search s ON s.rowid = mm.id ORDER BY mm.id").fetchall()
    finally:
        conn.close()
    return [(i, search_text(h), search_text(b)) for i, h, b in found]


def unclaimed(items: list[QueueItem]) -> list[tuple[object, ...]]:
    return [(i.id, i.sender, i.blob_id, i.size, i.created, i.next_attempt, i.attempts,
             i.recipients, i.envid, i.ret, i.delay_notified) for i in items]


async def compare(data_dir: Path, url: str, scratch: Path) -> None:
    old, new = SqliteStore(data_dir), PostgresStore(url, scratch)
    await old.open()
    await new.open()
    try:
        assert await new.list_domains() == await old.list_domains()
        assert await new.list_accounts() == await old.list_accounts()
        assert [a.used_messages for a in await new.list_accounts()] != [0, 0, 0]
        assert [a.last_login for a in await new.list_accounts()] == [1_800_000_000.25, None, None]
        assert await new.list_aliases() == await old.list_aliases()
        assert await new.list_admins() == await old.list_admins()
        conn = sqlite3.connect(f"file:{data_dir / 'postbus.sqlite3'}?mode=ro", uri=True)
        settings = conn.execute("SELECT key, value FROM settings ORDER BY key").fetchall()
        conn.close()
        assert [tuple(r) for r in await new.pool.fetch(
            'SELECT key, value FROM settings ORDER BY key COLLATE "C"')] == settings
        assert len(settings) >= 2  # UIDVALIDITY counter, vacation
        assert await new.list_api_tokens("ops") == await old.list_api_tokens("ops") != []
        assert await new.list_audit(domains=None) == await old.list_audit(domains=None) != []
        assert await new.get_totp_secret("webmaster") == await old.get_totp_secret("webmaster")
        assert await new.list_suspended_domains() == ["quiet.test"]
        assert await new.pool.fetchval("SELECT count(*) FROM admin_sessions") == 1
        assert [tuple(r) for r in await new.pool.fetch(
            "SELECT id, header_text, body_text FROM message_meta ORDER BY id"
        )] == source_search_text(data_dir)
        queued = await new.list_queue()
        assert unclaimed(queued) == unclaimed(await old.list_queue())
        assert {(i.claimed_by, i.claimed_until) for i in queued} == {("", 0.0)}
        total = expunged = 0
        blob_ids: set[str] = set()
        for account in await old.list_accounts():
            boxes = await old.list_mailboxes(account.id)
            assert await new.list_mailboxes(account.id) == boxes
            subscriptions = await old.list_subscriptions(account.id)
            assert await new.list_subscriptions(account.id) == subscriptions
            for box in boxes:
                entries = await old.list_messages(box.id)
                assert await new.list_messages(box.id) == entries
                uids = [e.uid for e in entries]
                infos = await old.fetch_info(box.id, uids)
                assert await new.fetch_info(box.id, uids) == infos
                changes = await old.changes_since(box.id, 0)
                assert await new.changes_since(box.id, 0) == changes
                assert await new.mailbox_status(box.id) == await old.mailbox_status(box.id)
                found = await old.search_text(box.id, "text", "zanzibar")
                assert await new.search_text(box.id, "text", "zanzibar") == found
                total += len(infos)
                expunged += len(changes.expunged)
                blob_ids.update(i.blob_id for i in infos)
        assert total >= 10_000 and expunged > 100
        assert len(blob_ids) == DISTINCT
        for blob_id in blob_ids:
            assert hashlib.sha256(await new.read_blob(blob_id)).hexdigest() == blob_id

        # New writes carry on past the copied ids and counters.
        top = source_max_ids(data_dir)
        anna = await new.get_account(USERS[0])
        assert anna is not None
        inbox = await new.get_mailbox(anna.id, "INBOX")
        assert inbox is not None
        [first] = await new.fetch_info(inbox.id, [(await new.list_messages(inbox.id))[0].uid])
        blob = BlobRef(first.blob_id, first.size)
        appended = await new.append(inbox.id, blob, Parsed(first.meta, "", ""), flags=["\\Seen"])
        assert (appended.uid, appended.modseq) == (inbox.uid_next, inbox.highest_modseq + 1)
        assert await new.pool.fetchval(
            "SELECT id FROM messages WHERE mailbox_id = $1 AND uid = $2", inbox.id, appended.uid
        ) > top["messages"]
        made = await new.create_mailbox(anna.id, "After migration")
        assert made.id > top["mailboxes"]
        assert made.uid_validity > max(b.uid_validity for b in await old.list_mailboxes(anna.id))
        assert (await new.add_domain("new.test")).id > top["domains"]
        assert await new.enqueue("", [QueueRecipient("z@remote.test")], blob) > top["queue"]
    finally:
        await old.close()
        await new.close()
        gc.collect()  # see build_store


def source_max_ids(data_dir: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{data_dir / 'postbus.sqlite3'}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT max(id) FROM {t}").fetchone()[0]
                for t in ("domains", "mailboxes", "messages", "queue")}
    finally:
        conn.close()


async def table_counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        tables = [r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'schema_migrations'")]
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}
    finally:
        await conn.close()


async def test_migrate_round_trips_ten_thousand_messages(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"storage": {"backend": "sqlite"}})  # the source is embedded
    await build_store(config)
    with throwaway_database() as url:
        result = postbus(config, "migrate", "--to", url)
        assert "row counts verified" in result.stdout, result.stdout
        assert "  messages: " in result.stdout  # progress lines
        await compare(tmp_path / "var", url, tmp_path / "pg")

        again = postbus(config, "migrate", "--to", url, check=False)
        assert again.returncode == 1
        assert "already has data" in again.stderr


async def test_migrate_refuses_a_store_a_running_server_holds(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"storage": {"backend": "sqlite"}})  # the source is embedded
    postbus(config, "domain", "add", DOMAIN)
    with throwaway_database() as url:
        with running_server(config):
            refused = postbus(config, "migrate", "--to", url, check=False)
        assert refused.returncode == 1
        assert "in use: stop `postbus serve`" in refused.stderr
        assert await table_counts(url) == {}  # not even the schema was made
        done = postbus(config, "migrate", "--to", url)  # once stopped, it goes ahead
        assert "migrated 1 domains" in done.stdout


async def test_migrate_refuses_a_missing_body_and_leaves_the_target_empty(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"storage": {"backend": "sqlite"}})  # the source is embedded
    app = App(config_mod.load(config))
    await app.open()
    try:
        await app.accounts.add_domain(DOMAIN)
        anna = await app.accounts.add_user(USERS[0], PASSWORD)
        inbox = await app.store.get_mailbox(anna.id, "INBOX")
        assert inbox is not None
        made = await ingest_bytes(app.store, make_message(1, random.Random(1)))
        await app.store.append(inbox.id, made.blob, made.parsed)
    finally:
        await app.close()
    path = tmp_path / "var" / "blobs" / made.blob.id[:2] / made.blob.id[2:4] / made.blob.id
    if path.exists():
        path.unlink()
    else:  # a small body lives in the database (schema 2)
        gc.collect()
        conn = sqlite3.connect(tmp_path / "var" / "postbus.sqlite3", isolation_level=None)
        conn.execute("DELETE FROM blobs_inline WHERE id = ?", (made.blob.id,))
        conn.close()
    with throwaway_database() as url:
        refused = postbus(config, "migrate", "--to", url, check=False)
        assert refused.returncode == 1
        assert "1 message bodies are missing" in refused.stderr
        assert await table_counts(url) == {}  # refused before the schema was made


def test_redact_hides_the_password() -> None:
    assert redact("postgresql://pb:secret@db.example:5433/mail") == (
        "postgresql://pb:***@db.example:5433/mail")
    assert redact("postgresql://postgres@127.0.0.1/x") == "postgresql://postgres@127.0.0.1/x"
