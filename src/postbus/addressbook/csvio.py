"""Contacts as CSV (RFC 4180): a header row naming the columns, then one contact
per row. On import the columns are found by name, case-insensitively, in the
spellings address books export: name ("Name", "Display Name", "Full Name", or
"First Name" + "Last Name"), address ("E-mail", "Email", "E-mail Address",
"Email Address", "Primary Email", "E-mail 1 - Value"), notes ("Notes", "Note").
Limits as for vCard: the file's size, a field's length, the number of rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from postbus.addressbook.errors import ContactRefused
from postbus.addressbook.limits import MAX_IMPORT_CONTACTS, MAX_IMPORT_LINE_CHARS
from postbus.store.userdata import NewContact

NAME_COLUMNS = ("name", "display name", "full name", "fn")
FIRST_COLUMNS = ("first name", "given name")
LAST_COLUMNS = ("last name", "family name", "surname")
EMAIL_COLUMNS = ("e-mail", "email", "e-mail address", "email address", "primary email",
                 "e-mail 1 - value", "mail")
NOTES_COLUMNS = ("notes", "note")
HEADER = ("Name", "E-mail", "Notes")


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def parse(text: str) -> list[NewContact]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader, None)
        if header is None:
            return []
        email = _find(header, EMAIL_COLUMNS)
        if email is None:
            raise ContactRefused("format", "no e-mail column")
        name, first, last = (_find(header, NAME_COLUMNS), _find(header, FIRST_COLUMNS),
                             _find(header, LAST_COLUMNS))
        notes = _find(header, NOTES_COLUMNS)
        found: list[NewContact] = []
        for row in reader:
            if any(len(value) > MAX_IMPORT_LINE_CHARS for value in row):
                raise ContactRefused("line_too_long", str(MAX_IMPORT_LINE_CHARS))

            def cell(i: int | None, row: list[str] = row) -> str:
                return row[i].strip() if i is not None and i < len(row) else ""

            address = cell(email)
            if not address:
                continue
            full = cell(name) or " ".join(p for p in (cell(first), cell(last)) if p)
            found.append(NewContact(full, address, cell(notes)))
            if len(found) > MAX_IMPORT_CONTACTS:
                raise ContactRefused("too_many", str(MAX_IMPORT_CONTACTS))
        return found
    except csv.Error as exc:
        raise ContactRefused("format", str(exc)) from None


def export(contacts: Iterable[NewContact]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for c in contacts:
        # a leading = + - @ would be a formula in a spreadsheet (CSV injection)
        writer.writerow([_inert(c.name), c.email, _inert(c.notes)])
    return out.getvalue()


def _inert(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
