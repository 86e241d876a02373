"""Administration SQL of the PostgreSQL store (issue 14): the audit log, API
tokens, TOTP secrets and domain suspensions. Mirrors store/sqlite/admin.py."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from postbus.store import errors
from postbus.store.admin_model import AdminSession, ApiToken, AuditEntry
from postbus.store.postgres.db import Conn

_AUDIT_COLS = "id, at, actor, remote, action, target, domain, detail"
_TOKEN_COLS = "t.id, a.name, t.digest, t.label, t.created"


async def _admin_id(conn: Conn, name: str) -> int:
    admin_id = await conn.fetchval("SELECT id FROM admins WHERE name = $1", name)
    if admin_id is None:
        raise errors.NotFound(f"no administrator {name}")
    return int(admin_id)


async def append_audit(conn: Conn, e: AuditEntry) -> int:
    return int(await conn.fetchval(
        "INSERT INTO audit_log (at, actor, remote, action, target, domain, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        e.at, e.actor, e.remote, e.action, e.target, e.domain, e.detail,
    ))


async def list_audit(conn: Conn, domains: Sequence[str] | None, before: int | None,
                     limit: int) -> list[AuditEntry]:
    where: list[str] = []
    args: list[Any] = []
    if domains is not None:
        args.append(list(domains))
        where.append(f"domain = ANY(${len(args)}::text[])")
    if before is not None:
        args.append(before)
        where.append(f"id < ${len(args)}")
    sql = f"SELECT {_AUDIT_COLS} FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    args.append(limit)
    found = await conn.fetch(sql + f" ORDER BY id DESC LIMIT ${len(args)}", *args)
    return [AuditEntry(*r) for r in found]


async def add_api_token(conn: Conn, admin: str, digest: str, label: str,
                        created: float) -> ApiToken:
    admin_id = await _admin_id(conn, admin)
    token_id = await conn.fetchval(
        "INSERT INTO api_tokens (admin_id, digest, label, created) VALUES ($1, $2, $3, $4)"
        " RETURNING id", admin_id, digest, label, created)
    return ApiToken(token_id, admin, digest, label, created)


async def find_api_token(conn: Conn, digest: str) -> ApiToken | None:
    row = await conn.fetchrow(
        f"SELECT {_TOKEN_COLS} FROM api_tokens t JOIN admins a ON a.id = t.admin_id"
        " WHERE t.digest = $1", digest)
    return ApiToken(*row) if row else None


async def list_api_tokens(conn: Conn, admin: str) -> list[ApiToken]:
    found = await conn.fetch(
        f"SELECT {_TOKEN_COLS} FROM api_tokens t JOIN admins a ON a.id = t.admin_id"
        " WHERE a.name = $1 ORDER BY t.id", admin)
    return [ApiToken(*r) for r in found]


async def remove_api_token(conn: Conn, admin: str, token_id: int) -> None:
    done = await conn.execute(
        "DELETE FROM api_tokens WHERE id = $1"
        " AND admin_id = (SELECT id FROM admins WHERE name = $2)", token_id, admin)
    if done == "DELETE 0":
        raise errors.NotFound(f"administrator {admin} has no token {token_id}")


async def set_totp_secret(conn: Conn, admin: str, secret: str | None) -> None:
    admin_id = await _admin_id(conn, admin)
    if secret is None:
        await conn.execute("DELETE FROM admin_totp WHERE admin_id = $1", admin_id)
    else:
        await conn.execute(
            "INSERT INTO admin_totp (admin_id, secret, last_step) VALUES ($1, $2, 0)"
            " ON CONFLICT (admin_id) DO UPDATE SET secret = excluded.secret, last_step = 0",
            admin_id, secret)


async def get_totp_secret(conn: Conn, admin: str) -> str | None:
    value: str | None = await conn.fetchval(
        "SELECT t.secret FROM admin_totp t JOIN admins a ON a.id = t.admin_id WHERE a.name = $1",
        admin)
    return value


async def claim_totp_step(conn: Conn, admin: str, step: int) -> bool:
    done = await conn.execute(
        "UPDATE admin_totp SET last_step = $1 WHERE last_step < $1"
        " AND admin_id = (SELECT id FROM admins WHERE name = $2)", step, admin)
    return bool(done == "UPDATE 1")


async def set_domain_suspended(conn: Conn, name: str, suspended: bool) -> None:
    domain_id = await conn.fetchval("SELECT id FROM domains WHERE name = $1", name)
    if domain_id is None:
        raise errors.NotFound(f"no domain {name}")
    if suspended:
        await conn.execute("INSERT INTO domain_suspensions (domain_id, since) VALUES ($1, $2)"
                           " ON CONFLICT (domain_id) DO NOTHING", domain_id, time.time())
    else:
        await conn.execute("DELETE FROM domain_suspensions WHERE domain_id = $1", domain_id)


async def list_suspended_domains(conn: Conn) -> list[str]:
    return [r[0] for r in await conn.fetch(
        "SELECT d.name FROM domain_suspensions s JOIN domains d ON d.id = s.domain_id"
        ' ORDER BY d.name COLLATE "C"')]


async def create_admin_session(conn: Conn, admin: str, id_hash: str, csrf_token: str,
                               now: float) -> AdminSession:
    admin_id = await _admin_id(conn, admin)
    await conn.execute(
        "INSERT INTO admin_sessions (id_hash, admin_id, csrf_token, created, last_seen)"
        " VALUES ($1, $2, $3, $4, $4)", id_hash, admin_id, csrf_token, now)
    return AdminSession(id_hash, admin, csrf_token, now, now)


async def get_admin_session(conn: Conn, id_hash: str) -> AdminSession | None:
    row = await conn.fetchrow(
        "SELECT s.id_hash, a.name, s.csrf_token, s.created, s.last_seen FROM admin_sessions s"
        " JOIN admins a ON a.id = s.admin_id WHERE s.id_hash = $1", id_hash)
    return AdminSession(*row) if row else None


async def touch_admin_session(conn: Conn, id_hash: str, now: float) -> None:
    await conn.execute("UPDATE admin_sessions SET last_seen = $1 WHERE id_hash = $2", now, id_hash)


async def delete_admin_session(conn: Conn, id_hash: str) -> None:
    await conn.execute("DELETE FROM admin_sessions WHERE id_hash = $1", id_hash)
