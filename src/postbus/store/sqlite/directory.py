"""Directory SQL of the embedded store: domains, accounts, aliases,
administrators and settings.

Writes run on the writer thread's connection inside its transaction (the
caller passes it); reads are point or list reads on any connection. Removing
an account removes its folders, their messages and its subscriptions.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from postbus.store import errors
from postbus.store.model import SPECIAL_USE_FOLDERS, Account, Admin, Alias, Domain
from postbus.store.sqlite import folders, rows

_DOMAIN_COLS = "id, name, dkim_selector, dkim_private_key"
_ADMIN_COLS = "id, name, password_hash, operator, domains"


def _admin(row: Sequence[Any]) -> Admin:
    return Admin(row[0], row[1], row[2], bool(row[3]), tuple(json.loads(row[4])))


# -- domains --------------------------------------------------------------------

def add_domain(
    conn: sqlite3.Connection, name: str, dkim_selector: str, dkim_private_key: str
) -> Domain:
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


def get_domain(conn: sqlite3.Connection, name: str) -> Domain | None:
    row = conn.execute(f"SELECT {_DOMAIN_COLS} FROM domains WHERE name = ?", (name,)).fetchone()
    return Domain(*row) if row else None


def list_domains(conn: sqlite3.Connection) -> list[Domain]:
    return [Domain(*r) for r in conn.execute(f"SELECT {_DOMAIN_COLS} FROM domains ORDER BY name")]


def remove_domain(conn: sqlite3.Connection, name: str) -> None:
    row = conn.execute("SELECT id FROM domains WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise errors.NotFound(f"no domain {name}")
    for (address,) in conn.execute(
        "SELECT address FROM accounts WHERE domain_id = ?", (row[0],)
    ).fetchall():
        remove_account(conn, address)
    conn.execute("DELETE FROM aliases WHERE domain_id = ?", (row[0],))
    conn.execute("DELETE FROM domains WHERE id = ?", (row[0],))


# -- accounts -------------------------------------------------------------------

def add_account(
    conn: sqlite3.Connection, address: str, password_hash: str, quota_bytes: int, enabled: bool
) -> Account:
    domain = address.rpartition("@")[2]
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
        folders.create(conn, account_id, folder, use)
    conn.executemany(
        "INSERT INTO subscriptions (account_id, name) VALUES (?, ?)",
        [(account_id, folder) for folder, _ in SPECIAL_USE_FOLDERS],
    )
    return Account(account_id, address, row[0], password_hash, quota_bytes, enabled, 0, 0)


def get_account(conn: sqlite3.Connection, address: str) -> Account | None:
    row = conn.execute(
        f"SELECT {rows.ACCOUNT_COLS} FROM accounts WHERE address = ?", (address,)
    ).fetchone()
    return rows.account(row) if row else None


def get_account_by_id(conn: sqlite3.Connection, account_id: int) -> Account | None:
    row = conn.execute(
        f"SELECT {rows.ACCOUNT_COLS} FROM accounts WHERE id = ?", (account_id,)
    ).fetchone()
    return rows.account(row) if row else None


def list_accounts(conn: sqlite3.Connection, domain: str | None) -> list[Account]:
    if domain is None:
        found = conn.execute(f"SELECT {rows.ACCOUNT_COLS} FROM accounts ORDER BY address")
    else:
        found = conn.execute(
            f"SELECT {rows.ACCOUNT_COLS} FROM accounts WHERE domain_id ="
            " (SELECT id FROM domains WHERE name = ?) ORDER BY address",
            (domain,),
        )
    return [rows.account(r) for r in found]


def remove_account(conn: sqlite3.Connection, address: str) -> None:
    row = conn.execute("SELECT id FROM accounts WHERE address = ?", (address,)).fetchone()
    if row is None:
        raise errors.NotFound(f"no mailbox {address}")
    account_id = row[0]
    for (mailbox_id,) in conn.execute(
        "SELECT id FROM mailboxes WHERE account_id = ?", (account_id,)
    ).fetchall():
        folders.drop(conn, mailbox_id)
    conn.execute("DELETE FROM subscriptions WHERE account_id = ?", (account_id,))
    conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,))


def update_account(
    conn: sqlite3.Connection,
    address: str,
    password_hash: str | None,
    quota_bytes: int | None,
    enabled: bool | None,
) -> Account:
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
        conn.execute(f"UPDATE accounts SET {', '.join(sets)} WHERE address = ?", (*args, address))
    found = get_account(conn, address)
    if found is None:
        raise errors.NotFound(f"no mailbox {address}")
    return found


def record_login(conn: sqlite3.Connection, account_id: int, at: float) -> None:
    conn.execute(
        "UPDATE accounts SET last_login = ? WHERE id = ? AND (last_login IS NULL OR last_login < ?)",
        (at, account_id, at),
    )


# -- aliases --------------------------------------------------------------------

def set_alias(conn: sqlite3.Connection, source: str, targets: Sequence[str]) -> Alias:
    domain = source.rpartition("@")[2]
    row = conn.execute("SELECT id FROM domains WHERE name = ?", (domain,)).fetchone()
    if row is None:
        raise errors.NotFound(f"no domain {domain}")
    conn.execute(
        "INSERT INTO aliases (source, domain_id, targets) VALUES (?, ?, ?)"
        " ON CONFLICT (source) DO UPDATE SET targets = excluded.targets",
        (source, row[0], json.dumps(list(targets))),
    )
    return Alias(source, tuple(targets))


def get_alias(conn: sqlite3.Connection, source: str) -> Alias | None:
    row = conn.execute("SELECT source, targets FROM aliases WHERE source = ?", (source,)).fetchone()
    return Alias(row[0], tuple(json.loads(row[1]))) if row else None


def list_aliases(conn: sqlite3.Connection, domain: str | None) -> list[Alias]:
    if domain is None:
        found = conn.execute("SELECT source, targets FROM aliases ORDER BY source")
    else:
        found = conn.execute(
            "SELECT source, targets FROM aliases WHERE domain_id ="
            " (SELECT id FROM domains WHERE name = ?) ORDER BY source",
            (domain,),
        )
    return [Alias(r[0], tuple(json.loads(r[1]))) for r in found]


def remove_alias(conn: sqlite3.Connection, source: str) -> None:
    if conn.execute("DELETE FROM aliases WHERE source = ?", (source,)).rowcount == 0:
        raise errors.NotFound(f"no alias {source}")


# -- administrators -------------------------------------------------------------

def add_admin(
    conn: sqlite3.Connection, name: str, password_hash: str, operator: bool, domains: Sequence[str]
) -> Admin:
    try:
        cur = conn.execute(
            "INSERT INTO admins (name, password_hash, operator, domains) VALUES (?, ?, ?, ?)",
            (name, password_hash, int(operator), json.dumps(list(domains))),
        )
    except sqlite3.IntegrityError:
        raise errors.AlreadyExists(f"administrator {name} exists") from None
    assert cur.lastrowid is not None
    return Admin(cur.lastrowid, name, password_hash, operator, tuple(domains))


def get_admin(conn: sqlite3.Connection, name: str) -> Admin | None:
    row = conn.execute(f"SELECT {_ADMIN_COLS} FROM admins WHERE name = ?", (name,)).fetchone()
    return _admin(row) if row else None


def list_admins(conn: sqlite3.Connection) -> list[Admin]:
    return [_admin(r) for r in conn.execute(f"SELECT {_ADMIN_COLS} FROM admins ORDER BY name")]


def remove_admin(conn: sqlite3.Connection, name: str) -> None:
    if conn.execute("DELETE FROM admins WHERE name = ?", (name,)).rowcount == 0:
        raise errors.NotFound(f"no administrator {name}")


def update_admin(conn: sqlite3.Connection, name: str, password_hash: str) -> Admin:
    if conn.execute(
        "UPDATE admins SET password_hash = ? WHERE name = ?", (password_hash, name)
    ).rowcount == 0:
        raise errors.NotFound(f"no administrator {name}")
    found = get_admin(conn, name)
    assert found is not None
    return found


# -- settings -------------------------------------------------------------------

def get_setting(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def swap_setting(conn: sqlite3.Connection, key: str, expected: str | None,
                 value: str | None) -> bool:
    """Compare-and-set inside the writer's transaction (whose write lock excludes
    every other process's writer)."""
    if get_setting(conn, key) != expected:
        return False
    set_setting(conn, key, value)
    return True


def set_setting(conn: sqlite3.Connection, key: str, value: str | None) -> None:
    if value is None:
        conn.execute("DELETE FROM settings WHERE key = ?", (key,))
    else:
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
