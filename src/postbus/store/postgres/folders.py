"""Folder writes in SQL: create, delete (with its messages), rename, and the
UIDVALIDITY counter. Names are stored as given: the naming rules (INBOX,
hierarchy, what may be deleted or renamed) are the mailbox service's.

A folder's UIDVALIDITY is max(now, last + 1) from one counter row in
`settings`, as in the embedded store; its row lock makes the values unique
across nodes.
"""

from __future__ import annotations

import time

import asyncpg

from postbus.store import errors
from postbus.store.model import DELIMITER, Change, Mailbox
from postbus.store.postgres import rows
from postbus.store.postgres.db import Conn


def storable_name(name: str) -> str:
    """The name as given, or InvalidName when PostgreSQL text cannot hold it (NUL).
    This is a limit of the storage, not a naming rule: those are the service's."""
    if "\x00" in name:
        raise errors.InvalidName("a folder name cannot contain NUL")
    return name


async def next_uid_validity(conn: Conn) -> int:
    value: str = await conn.fetchval(
        "INSERT INTO settings (key, value) VALUES ('uid_validity_last', $1::bigint::text)"
        " ON CONFLICT (key) DO UPDATE"
        " SET value = GREATEST($1::bigint, settings.value::bigint + 1)::text RETURNING value",
        int(time.time()),
    )
    return int(value)


async def create(conn: Conn, account_id: int, name: str, special_use: str | None) -> Mailbox:
    name = storable_name(name)
    uid_validity = await next_uid_validity(conn)
    try:
        async with conn.transaction():  # a savepoint, so that the caller may go on
            mailbox_id = await conn.fetchval(
                "INSERT INTO mailboxes (account_id, name, special_use, uid_validity, object_id)"
                " VALUES ($1, $2, $3, $4, $4) RETURNING id",
                account_id, name, special_use, uid_validity,
            )
    except asyncpg.exceptions.UniqueViolationError:
        raise errors.AlreadyExists(f"folder {name} exists") from None
    except asyncpg.exceptions.ForeignKeyViolationError:
        raise errors.NotFound("no such account") from None
    return Mailbox(mailbox_id, account_id, name, special_use, uid_validity, 1, 1, uid_validity)


async def drop(conn: Conn, mailbox_id: int) -> None:
    """Deletes a folder with its messages and gives their quota back."""
    account_id = await conn.fetchval("SELECT account_id FROM mailboxes WHERE id = $1", mailbox_id)
    if account_id is None:
        return
    await rows.lock_rows(conn, [account_id], [mailbox_id])
    removed = await conn.fetch(
        "DELETE FROM messages WHERE mailbox_id = $1 RETURNING size, meta_id", mailbox_id
    )
    await conn.execute("DELETE FROM expunged WHERE mailbox_id = $1", mailbox_id)
    await conn.execute("DELETE FROM mailboxes WHERE id = $1", mailbox_id)
    if removed:
        await conn.execute(
            "UPDATE accounts SET used_bytes = used_bytes - $2,"
            " used_messages = used_messages - $3 WHERE id = $1",
            account_id, sum(r[0] for r in removed), len(removed),
        )
        await rows.drop_unused_meta(conn, (r[1] for r in removed))


async def delete(conn: Conn, account_id: int, name: str, changes: list[Change]) -> None:
    mailbox_id = await conn.fetchval(
        "SELECT id FROM mailboxes WHERE account_id = $1 AND name = $2", account_id, name
    )
    if mailbox_id is None:
        raise errors.NotFound(f"no folder {name}")
    await drop(conn, mailbox_id)
    changes.append(Change(account_id, mailbox_id, 0, "mailboxes"))


async def rename(
    conn: Conn, account_id: int, old: str, new: str, changes: list[Change]
) -> None:
    src = await conn.fetchval(
        "SELECT id FROM mailboxes WHERE account_id = $1 AND name = $2", account_id, old
    )
    if src is None:
        raise errors.NotFound(f"no folder {old}")
    new = storable_name(new)
    children = await conn.fetch(
        "SELECT id, name FROM mailboxes WHERE account_id = $1 AND starts_with(name, $2)"
        " ORDER BY id",
        account_id, old + DELIMITER,
    )
    for child_id, child_name in [(src, old), *children]:
        renamed = new + child_name[len(old):]
        # A new name is a new folder to clients: it gets a new UIDVALIDITY.
        try:
            async with conn.transaction():
                await conn.execute(
                    "UPDATE mailboxes SET name = $2, uid_validity = $3 WHERE id = $1",
                    child_id, renamed, await next_uid_validity(conn),
                )
        except asyncpg.exceptions.UniqueViolationError:
            raise errors.AlreadyExists(f"folder {renamed} exists") from None
    changes.append(Change(account_id, src, 0, "mailboxes"))
