"""Address book, preferences and written-to addresses in PostgreSQL.

A mixin of `PostgresStore`: reads on the pool, writes in `_write` transactions.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from postbus.store import errors
from postbus.store.model import Change
from postbus.store.postgres.db import Conn
from postbus.store.userdata import Contact, NewContact, WrittenTo

T = TypeVar("T")

_CONTACT_COLS = "id, account_id, name, email, notes, updated"


async def _account_exists(conn: Conn, account_id: int) -> bool:
    # FOR KEY SHARE: the account cannot be removed before this transaction ends
    found = await conn.fetchval("SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE", account_id)
    return found is not None


class UserDataMixin:
    if TYPE_CHECKING:  # provided by PostgresStore
        @property
        def pool(self) -> Any: ...

        async def _write(self, fn: Callable[[Conn, list[Change]], Awaitable[T]]) -> T: ...

    # -- contacts ---------------------------------------------------------------------
    async def list_contacts(self, account_id: int) -> list[Contact]:
        found = await self.pool.fetch(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE account_id = $1"
            " ORDER BY lower(name), lower(email), id", account_id)
        return [Contact(*r) for r in found]

    async def get_contact(self, account_id: int, contact_id: int) -> Contact | None:
        row = await self.pool.fetchrow(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE account_id = $1 AND id = $2",
            account_id, contact_id)
        return Contact(*row) if row else None

    async def add_contacts(self, account_id: int, contacts: Sequence[NewContact]
                           ) -> list[Contact]:
        now = time.time()

        async def job(conn: Conn, _: list[Change]) -> list[Contact]:
            if not await _account_exists(conn, account_id):
                raise errors.NotFound("the account no longer exists")
            made = []
            for c in contacts:
                contact_id = await conn.fetchval(
                    "INSERT INTO contacts (account_id, name, email, notes, updated)"
                    " VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    account_id, c.name, c.email, c.notes, now)
                made.append(Contact(contact_id, account_id, c.name, c.email, c.notes, now))
            return made

        return await self._write(job)

    async def update_contact(self, account_id: int, contact_id: int, contact: NewContact
                             ) -> Contact:
        now = time.time()

        async def job(conn: Conn, _: list[Change]) -> Contact:
            found = await conn.fetchval(
                "UPDATE contacts SET name = $3, email = $4, notes = $5, updated = $6"
                " WHERE account_id = $1 AND id = $2 RETURNING id",
                account_id, contact_id, contact.name, contact.email, contact.notes, now)
            if found is None:
                raise errors.NotFound(f"no contact {contact_id}")
            return Contact(contact_id, account_id, contact.name, contact.email, contact.notes, now)

        return await self._write(job)

    async def remove_contacts(self, account_id: int, contact_ids: Sequence[int]) -> int:
        async def job(conn: Conn, _: list[Change]) -> int:
            removed: int = await conn.fetchval(
                "WITH gone AS (DELETE FROM contacts WHERE account_id = $1 AND id = ANY($2::bigint[])"
                " RETURNING 1) SELECT count(*) FROM gone", account_id, list(contact_ids))
            return removed

        return await self._write(job)

    # -- preferences -----------------------------------------------------------------
    async def get_user_settings(self, account_id: int) -> str | None:
        data: str | None = await self.pool.fetchval(
            "SELECT data FROM user_settings WHERE account_id = $1", account_id)
        return data

    async def set_user_settings(self, account_id: int, data: str) -> None:
        async def job(conn: Conn, _: list[Change]) -> None:
            if not await _account_exists(conn, account_id):
                raise errors.NotFound("the account no longer exists")
            await conn.execute(
                "INSERT INTO user_settings (account_id, data) VALUES ($1, $2)"
                " ON CONFLICT (account_id) DO UPDATE SET data = EXCLUDED.data", account_id, data)

        await self._write(job)

    # -- addresses written to --------------------------------------------------------
    async def record_written_to(self, account_id: int, addresses: Sequence[tuple[str, str]],
                                now: float, keep: int) -> None:
        async def job(conn: Conn, _: list[Change]) -> None:
            if not await _account_exists(conn, account_id):
                return  # removed meanwhile: nothing to remember
            for address, name in addresses:
                await conn.execute(
                    "INSERT INTO written_to (account_id, address, name, last_used)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, address) DO UPDATE SET"
                    " last_used = EXCLUDED.last_used, uses = written_to.uses + 1,"
                    " name = CASE WHEN EXCLUDED.name = '' THEN written_to.name"
                    " ELSE EXCLUDED.name END", account_id, address, name, now)
            await conn.execute(
                "DELETE FROM written_to WHERE account_id = $1 AND address NOT IN"
                " (SELECT address FROM written_to WHERE account_id = $1"
                "  ORDER BY last_used DESC, address LIMIT $2)", account_id, keep)

        await self._write(job)

    async def list_written_to(self, account_id: int) -> list[WrittenTo]:
        found = await self.pool.fetch(
            "SELECT address, name, last_used, uses FROM written_to WHERE account_id = $1"
            " ORDER BY last_used DESC, address", account_id)
        return [WrittenTo(*r) for r in found]
