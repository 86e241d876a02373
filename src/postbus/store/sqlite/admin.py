"""Administration SQL of the embedded store (issue 14): the audit log, API
tokens, TOTP secrets and domain suspensions. Writes run on the writer's
connection inside its transaction; reads on any connection."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from postbus.store import errors
from postbus.store.admin_model import AdminSession, ApiToken, AuditEntry

_AUDIT_COLS = "id, at, actor, remote, action, target, domain, detail"
_TOKEN_COLS = "t.id, a.name, t.digest, t.label, t.created"


def _admin_id(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT id FROM admins WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise errors.NotFound(f"no administrator {name}")
    return int(row[0])


def append_audit(conn: sqlite3.Connection, e: AuditEntry) -> int:
    cur = conn.execute(
        "INSERT INTO audit_log (at, actor, remote, action, target, domain, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (e.at, e.actor, e.remote, e.action, e.target, e.domain, e.detail),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def list_audit(conn: sqlite3.Connection, domains: Sequence[str] | None, before: int | None,
               limit: int) -> list[AuditEntry]:
    where: list[str] = []
    args: list[Any] = []
    if domains is not None:
        where.append(f"domain IN ({', '.join('?' * len(domains))})" if domains else "0")
        args += list(domains)
    if before is not None:
        where.append("id < ?")
        args.append(before)
    sql = f"SELECT {_AUDIT_COLS} FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    found = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
    return [AuditEntry(*r) for r in found]


def add_api_token(conn: sqlite3.Connection, admin: str, digest: str, label: str,
                  created: float) -> ApiToken:
    admin_id = _admin_id(conn, admin)
    cur = conn.execute(
        "INSERT INTO api_tokens (admin_id, digest, label, created) VALUES (?, ?, ?, ?)",
        (admin_id, digest, label, created),
    )
    assert cur.lastrowid is not None
    return ApiToken(cur.lastrowid, admin, digest, label, created)


def find_api_token(conn: sqlite3.Connection, digest: str) -> ApiToken | None:
    row = conn.execute(
        f"SELECT {_TOKEN_COLS} FROM api_tokens t JOIN admins a ON a.id = t.admin_id"
        " WHERE t.digest = ?", (digest,)).fetchone()
    return ApiToken(*row) if row else None


def list_api_tokens(conn: sqlite3.Connection, admin: str) -> list[ApiToken]:
    found = conn.execute(
        f"SELECT {_TOKEN_COLS} FROM api_tokens t JOIN admins a ON a.id = t.admin_id"
        " WHERE a.name = ? ORDER BY t.id", (admin,))
    return [ApiToken(*r) for r in found]


def remove_api_token(conn: sqlite3.Connection, admin: str, token_id: int) -> None:
    if conn.execute(
        "DELETE FROM api_tokens WHERE id = ? AND admin_id = (SELECT id FROM admins WHERE name = ?)",
        (token_id, admin),
    ).rowcount == 0:
        raise errors.NotFound(f"administrator {admin} has no token {token_id}")


def set_totp_secret(conn: sqlite3.Connection, admin: str, secret: str | None) -> None:
    admin_id = _admin_id(conn, admin)
    if secret is None:
        conn.execute("DELETE FROM admin_totp WHERE admin_id = ?", (admin_id,))
    else:
        conn.execute(
            "INSERT INTO admin_totp (admin_id, secret, last_step) VALUES (?, ?, 0)"
            " ON CONFLICT (admin_id) DO UPDATE SET secret = excluded.secret, last_step = 0",
            (admin_id, secret),
        )


def get_totp_secret(conn: sqlite3.Connection, admin: str) -> str | None:
    row = conn.execute(
        "SELECT t.secret FROM admin_totp t JOIN admins a ON a.id = t.admin_id WHERE a.name = ?",
        (admin,)).fetchone()
    return row[0] if row else None


def claim_totp_step(conn: sqlite3.Connection, admin: str, step: int) -> bool:
    return conn.execute(
        "UPDATE admin_totp SET last_step = ? WHERE last_step < ?"
        " AND admin_id = (SELECT id FROM admins WHERE name = ?)",
        (step, step, admin),
    ).rowcount == 1


def set_domain_suspended(conn: sqlite3.Connection, name: str, suspended: bool) -> None:
    row = conn.execute("SELECT id FROM domains WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise errors.NotFound(f"no domain {name}")
    if suspended:
        conn.execute("INSERT INTO domain_suspensions (domain_id, since) VALUES (?, ?)"
                     " ON CONFLICT (domain_id) DO NOTHING", (row[0], time.time()))
    else:
        conn.execute("DELETE FROM domain_suspensions WHERE domain_id = ?", (row[0],))


def list_suspended_domains(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT d.name FROM domain_suspensions s JOIN domains d ON d.id = s.domain_id"
        " ORDER BY d.name")]


def create_admin_session(conn: sqlite3.Connection, admin: str, id_hash: str, csrf_token: str,
                         now: float) -> AdminSession:
    admin_id = _admin_id(conn, admin)
    conn.execute("INSERT INTO admin_sessions (id_hash, admin_id, csrf_token, created, last_seen)"
                 " VALUES (?, ?, ?, ?, ?)", (id_hash, admin_id, csrf_token, now, now))
    return AdminSession(id_hash, admin, csrf_token, now, now)


def get_admin_session(conn: sqlite3.Connection, id_hash: str) -> AdminSession | None:
    row = conn.execute(
        "SELECT s.id_hash, a.name, s.csrf_token, s.created, s.last_seen FROM admin_sessions s"
        " JOIN admins a ON a.id = s.admin_id WHERE s.id_hash = ?", (id_hash,)).fetchone()
    return AdminSession(*row) if row else None


def touch_admin_session(conn: sqlite3.Connection, id_hash: str, now: float) -> None:
    conn.execute("UPDATE admin_sessions SET last_seen = ? WHERE id_hash = ?", (now, id_hash))


def delete_admin_session(conn: sqlite3.Connection, id_hash: str) -> None:
    conn.execute("DELETE FROM admin_sessions WHERE id_hash = ?", (id_hash,))
