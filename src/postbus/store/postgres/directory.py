"""Directory writes in SQL: domains, accounts, aliases, administrators.

Lists are ordered by code point (`COLLATE "C"`), as the embedded store orders
them, whatever the database's default collation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import asyncpg

from postbus.store import errors
from postbus.store.model import SPECIAL_USE_FOLDERS, Account, Admin, Alias, Domain
from postbus.store.postgres import folders, rows
from postbus.store.postgres.db import Conn


async def add_domain(conn: Conn, name: str, dkim_selector: str, dkim_private_key: str) -> Domain:
    try:
        domain_id = await conn.fetchval(
            "INSERT INTO domains (name, dkim_selector, dkim_private_key, created)"
            " VALUES ($1, $2, $3, $4) RETURNING id",
            name, dkim_selector, dkim_private_key, time.time(),
        )
    except asyncpg.exceptions.UniqueViolationError:
        raise errors.AlreadyExists(f"domain {name} exists") from None
    return Domain(domain_id, name, dkim_selector, dkim_private_key)


async def remove_domain(conn: Conn, name: str) -> None:
    domain_id = await conn.fetchval("SELECT id FROM domains WHERE name = $1 FOR UPDATE", name)
    if domain_id is None:
        raise errors.NotFound(f"no domain {name}")
    for (address,) in await conn.fetch(
        "SELECT address FROM accounts WHERE domain_id = $1 ORDER BY id", domain_id
    ):
        await remove_account(conn, address)
    await conn.execute("DELETE FROM aliases WHERE domain_id = $1", domain_id)
    await conn.execute("DELETE FROM domains WHERE id = $1", domain_id)


async def add_account(
    conn: Conn, address: str, password_hash: str, quota_bytes: int, enabled: bool
) -> Account:
    domain = address.rpartition("@")[2]
    domain_id = await conn.fetchval("SELECT id FROM domains WHERE name = $1", domain)
    if domain_id is None:
        raise errors.NotFound(f"no domain {domain}")
    try:
        async with conn.transaction():
            account_id = await conn.fetchval(
                "INSERT INTO accounts (address, domain_id, password_hash, quota_bytes, enabled,"
                " created) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                address, domain_id, password_hash, quota_bytes, enabled, time.time(),
            )
    except asyncpg.exceptions.UniqueViolationError:
        raise errors.AlreadyExists(f"mailbox {address} exists") from None
    except asyncpg.exceptions.ForeignKeyViolationError:
        raise errors.NotFound(f"no domain {domain}") from None
    for folder, use in SPECIAL_USE_FOLDERS:
        await folders.create(conn, account_id, folder, use)
    await conn.execute(
        "INSERT INTO subscriptions (account_id, name) SELECT $1, unnest($2::text[])",
        account_id, [folder for folder, _ in SPECIAL_USE_FOLDERS],
    )
    return Account(account_id, address, domain_id, password_hash, quota_bytes, enabled, 0, 0)


async def remove_account(conn: Conn, address: str) -> None:
    account_id = await conn.fetchval(
        "SELECT id FROM accounts WHERE address = $1 FOR NO KEY UPDATE", address
    )
    if account_id is None:
        raise errors.NotFound(f"no mailbox {address}")
    for (mailbox_id,) in await conn.fetch(
        "SELECT id FROM mailboxes WHERE account_id = $1 ORDER BY id", account_id
    ):
        await folders.drop(conn, mailbox_id)
    await conn.execute("DELETE FROM subscriptions WHERE account_id = $1", account_id)
    await conn.execute("DELETE FROM accounts WHERE id = $1", account_id)


async def update_account(
    conn: Conn,
    address: str,
    password_hash: str | None,
    quota_bytes: int | None,
    enabled: bool | None,
) -> Account:
    row = await conn.fetchrow(
        "UPDATE accounts SET password_hash = COALESCE($2, password_hash),"
        " quota_bytes = COALESCE($3, quota_bytes), enabled = COALESCE($4, enabled)"
        f" WHERE address = $1 RETURNING {rows.ACCOUNT_COLS}",
        address, password_hash, quota_bytes, enabled,
    )
    if row is None:
        raise errors.NotFound(f"no mailbox {address}")
    return rows.account(row)


async def record_login(conn: Conn, account_id: int, at: float) -> None:
    await conn.execute(
        "UPDATE accounts SET last_login = $2 WHERE id = $1"
        " AND (last_login IS NULL OR last_login < $2)",
        account_id, at,
    )


async def set_alias(conn: Conn, source: str, targets: Sequence[str]) -> Alias:
    domain = source.rpartition("@")[2]
    domain_id = await conn.fetchval("SELECT id FROM domains WHERE name = $1", domain)
    if domain_id is None:
        raise errors.NotFound(f"no domain {domain}")
    await conn.execute(
        "INSERT INTO aliases (source, domain_id, targets) VALUES ($1, $2, $3)"
        " ON CONFLICT (source) DO UPDATE SET targets = EXCLUDED.targets",
        source, domain_id, list(targets),
    )
    return Alias(source, tuple(targets))


async def add_admin(
    conn: Conn, name: str, password_hash: str, operator: bool, domains: Sequence[str]
) -> Admin:
    try:
        admin_id = await conn.fetchval(
            "INSERT INTO admins (name, password_hash, operator, domains) VALUES ($1, $2, $3, $4)"
            " RETURNING id",
            name, password_hash, operator, list(domains),
        )
    except asyncpg.exceptions.UniqueViolationError:
        raise errors.AlreadyExists(f"administrator {name} exists") from None
    return Admin(admin_id, name, password_hash, operator, tuple(domains))
