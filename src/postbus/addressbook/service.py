"""The address book service: contacts, their import and export, and address
completion from the contacts and the addresses the user wrote to."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from postbus.accounts.address import AddressError, normalize_domain
from postbus.addressbook import csvio, vcard
from postbus.addressbook.errors import ContactRefused
from postbus.addressbook.limits import (
    MAX_CONTACT_EMAIL_CHARS,
    MAX_CONTACT_NAME_CHARS,
    MAX_CONTACTS,
    MAX_IMPORT_BYTES,
    MAX_NOTES_CHARS,
    MAX_QUERY_CHARS,
    MAX_SUGGESTIONS,
    MAX_WRITTEN_TO,
)
from postbus.store import NotFound, Store
from postbus.store.userdata import Contact, NewContact

_LOCAL = re.compile(r"[!-~]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # notes keep \t and \n


@dataclass(frozen=True, slots=True)
class Suggestion:
    name: str
    address: str
    source: str  # "contact" | "written"

    def display(self) -> str:
        if not self.name:
            return self.address
        if re.search(r'[,;:<>@()\[\]"\\.]', self.name):
            escaped = self.name.replace("\\", "\\\\").replace('"', '\\"')
            return f'"{escaped}" <{self.address}>'
        return f"{self.name} <{self.address}>"


def check_contact(contact: NewContact) -> NewContact:
    """The contact with its values cleaned, or ContactRefused."""
    name = _CONTROL.sub(" ", contact.name.replace("\n", " ")).strip()
    email = contact.email.strip()
    notes = _CONTROL.sub(" ", contact.notes.replace("\r\n", "\n")).strip()
    if len(name) > MAX_CONTACT_NAME_CHARS:
        raise ContactRefused("name", str(MAX_CONTACT_NAME_CHARS))
    if len(notes) > MAX_NOTES_CHARS:
        raise ContactRefused("notes", str(MAX_NOTES_CHARS))
    local, at, domain = email.rpartition("@")
    if not at or not local or len(email) > MAX_CONTACT_EMAIL_CHARS or not _LOCAL.fullmatch(local):
        raise ContactRefused("email", email[:MAX_CONTACT_EMAIL_CHARS])
    try:
        normalize_domain(domain)
    except AddressError:
        raise ContactRefused("email", email[:MAX_CONTACT_EMAIL_CHARS]) from None
    return NewContact(name, email, notes)


def _matches(query: str, *values: str) -> bool:
    return any(query in v.lower() for v in values)


class AddressBook:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def contacts(self, account_id: int, query: str = "") -> list[Contact]:
        """The contacts, those whose name, address or notes hold `query` when given."""
        contacts = await self._store.list_contacts(account_id)
        q = query.strip().lower()[:MAX_QUERY_CHARS]
        return [c for c in contacts if _matches(q, c.name, c.email, c.notes)] if q else contacts

    async def get(self, account_id: int, contact_id: int) -> Contact:
        found = await self._store.get_contact(account_id, contact_id)
        if found is None:
            raise ContactRefused("not_found", str(contact_id))
        return found

    async def add(self, account_id: int, contact: NewContact) -> Contact:
        [made] = await self.add_many(account_id, [contact])
        return made

    async def add_many(self, account_id: int, contacts: Sequence[NewContact]) -> list[Contact]:
        checked = [check_contact(c) for c in contacts]
        count = len(await self._store.list_contacts(account_id))
        if count + len(checked) > MAX_CONTACTS:
            raise ContactRefused("limit", str(MAX_CONTACTS))
        return await self._store.add_contacts(account_id, checked)

    async def update(self, account_id: int, contact_id: int, contact: NewContact) -> Contact:
        try:
            return await self._store.update_contact(account_id, contact_id, check_contact(contact))
        except NotFound:
            raise ContactRefused("not_found", str(contact_id)) from None

    async def remove(self, account_id: int, contact_ids: Sequence[int]) -> int:
        return await self._store.remove_contacts(account_id, contact_ids[:MAX_CONTACTS])

    # -- import and export ---------------------------------------------------------
    async def import_file(self, account_id: int, data: bytes, filename: str = "") -> list[Contact]:
        """vCard or CSV (told apart by the content); contacts already in the book
        (same address) are left out. All or nothing."""
        if len(data) > MAX_IMPORT_BYTES:
            raise ContactRefused("too_big", str(MAX_IMPORT_BYTES))
        text = data.decode("utf-8-sig", "replace") if _utf8(data) else data.decode("cp1252", "replace")
        if "BEGIN:VCARD" in text[:4096].upper():
            parsed = vcard.parse(text)
        elif filename.lower().endswith((".vcf", ".vcard")):
            raise ContactRefused("format", "no vCard in the file")
        else:
            parsed = csvio.parse(text)
        known = {c.email.lower() for c in await self._store.list_contacts(account_id)}
        fresh: list[NewContact] = []
        for contact in parsed:
            checked = check_contact(contact)
            if checked.email.lower() not in known:
                known.add(checked.email.lower())
                fresh.append(checked)
        return await self.add_many(account_id, fresh) if fresh else []

    async def export(self, account_id: int, kind: str) -> str:
        contacts = [NewContact(c.name, c.email, c.notes)
                    for c in await self._store.list_contacts(account_id)]
        if kind == "csv":
            return csvio.export(contacts)
        return vcard.export(contacts, version="3.0" if kind == "vcard3" else "4.0")

    # -- written to, and completion ---------------------------------------------------
    async def remember(self, account_id: int, addresses: Sequence[tuple[str, str]]) -> None:
        """Records the addresses a message was sent to (bounded, MAX_WRITTEN_TO)."""
        if addresses:
            await self._store.record_written_to(account_id, addresses[:MAX_WRITTEN_TO],
                                                time.time(), MAX_WRITTEN_TO)

    async def complete(self, account_id: int, query: str) -> list[Suggestion]:
        """Contacts, then addresses written to (most recent first), whose name or
        address holds `query`; each address once, at most MAX_SUGGESTIONS."""
        q = query.strip().lower()[:MAX_QUERY_CHARS]
        if not q:
            return []
        found: list[Suggestion] = []
        seen: set[str] = set()
        for c in await self._store.list_contacts(account_id):
            if _matches(q, c.name, c.email) and c.email.lower() not in seen:
                seen.add(c.email.lower())
                found.append(Suggestion(c.name, c.email, "contact"))
        for w in await self._store.list_written_to(account_id):
            if _matches(q, w.name, w.address) and w.address.lower() not in seen:
                seen.add(w.address.lower())
                found.append(Suggestion(w.name, w.address, "written"))
        return found[:MAX_SUGGESTIONS]


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
