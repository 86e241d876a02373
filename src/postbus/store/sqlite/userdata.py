"""Address book, preferences and written-to addresses in the embedded store.

A mixin of `SqliteStore`: point reads run on the event loop's connection
(the lists are bounded by the service, a few thousand rows at most), writes
on the writer thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from postbus.store import errors
from postbus.store.userdata import Contact, NewContact, WrittenTo

T = TypeVar("T")

_CONTACT_COLS = "id, account_id, name, email, notes, updated"


class UserDataMixin:
    if TYPE_CHECKING:  # provided by SqliteStore
        @property
        def _db(self) -> sqlite3.Connection: ...

        async def _write(self, fn: Callable[..., T], *args: Any) -> T: ...

        async def _read(self, fn: Callable[..., T], *args: Any) -> T: ...

    # -- contacts ---------------------------------------------------------------------
    async def list_contacts(self, account_id: int) -> list[Contact]:
        def read(conn: sqlite3.Connection) -> list[Contact]:
            return [Contact(*r) for r in conn.execute(
                f"SELECT {_CONTACT_COLS} FROM contacts WHERE account_id = ?"
                " ORDER BY lower(name), lower(email), id", (account_id,))]

        return await self._read(read)

    async def get_contact(self, account_id: int, contact_id: int) -> Contact | None:
        row = self._db.execute(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE account_id = ? AND id = ?",
            (account_id, contact_id)).fetchone()
        return Contact(*row) if row else None

    async def add_contacts(self, account_id: int, contacts: Sequence[NewContact]
                           ) -> list[Contact]:
        now = time.time()

        def job(conn: sqlite3.Connection) -> list[Contact]:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise errors.NotFound("the account no longer exists")
            made = []
            for c in contacts:
                cur = conn.execute(
                    "INSERT INTO contacts (account_id, name, email, notes, updated)"
                    " VALUES (?, ?, ?, ?, ?)", (account_id, c.name, c.email, c.notes, now))
                assert cur.lastrowid is not None
                made.append(Contact(cur.lastrowid, account_id, c.name, c.email, c.notes, now))
            return made

        return await self._write(job)

    async def update_contact(self, account_id: int, contact_id: int, contact: NewContact
                             ) -> Contact:
        now = time.time()

        def job(conn: sqlite3.Connection) -> Contact:
            cur = conn.execute(
                "UPDATE contacts SET name = ?, email = ?, notes = ?, updated = ?"
                " WHERE account_id = ? AND id = ?",
                (contact.name, contact.email, contact.notes, now, account_id, contact_id))
            if cur.rowcount == 0:
                raise errors.NotFound(f"no contact {contact_id}")
            return Contact(contact_id, account_id, contact.name, contact.email, contact.notes, now)

        return await self._write(job)

    async def remove_contacts(self, account_id: int, contact_ids: Sequence[int]) -> int:
        def job(conn: sqlite3.Connection) -> int:
            removed = 0
            for contact_id in contact_ids:
                removed += conn.execute("DELETE FROM contacts WHERE account_id = ? AND id = ?",
                                        (account_id, contact_id)).rowcount
            return removed

        return await self._write(job)

    # -- preferences -----------------------------------------------------------------
    async def get_user_settings(self, account_id: int) -> str | None:
        row = self._db.execute("SELECT data FROM user_settings WHERE account_id = ?",
                               (account_id,)).fetchone()
        return row[0] if row else None

    async def set_user_settings(self, account_id: int, data: str) -> None:
        def job(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise errors.NotFound("the account no longer exists")
            conn.execute("INSERT INTO user_settings (account_id, data) VALUES (?, ?)"
                         " ON CONFLICT (account_id) DO UPDATE SET data = excluded.data",
                         (account_id, data))

        await self._write(job)

    # -- addresses written to --------------------------------------------------------
    async def record_written_to(self, account_id: int, addresses: Sequence[tuple[str, str]],
                                now: float, keep: int) -> None:
        def job(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                return  # removed meanwhile: nothing to remember
            for address, name in addresses:
                conn.execute(
                    "INSERT INTO written_to (account_id, address, name, last_used) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (account_id, address) DO UPDATE SET last_used = excluded.last_used,"
                    " uses = uses + 1,"
                    " name = CASE WHEN excluded.name = '' THEN name ELSE excluded.name END",
                    (account_id, address, name, now))
            conn.execute(
                "DELETE FROM written_to WHERE account_id = ? AND address NOT IN"
                " (SELECT address FROM written_to WHERE account_id = ?"
                "  ORDER BY last_used DESC, address LIMIT ?)", (account_id, account_id, keep))

        await self._write(job)

    async def list_written_to(self, account_id: int) -> list[WrittenTo]:
        def read(conn: sqlite3.Connection) -> list[WrittenTo]:
            return [WrittenTo(*r) for r in conn.execute(
                "SELECT address, name, last_used, uses FROM written_to WHERE account_id = ?"
                " ORDER BY last_used DESC, address", (account_id,))]

        return await self._read(read)
