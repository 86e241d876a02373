"""How mail is shown: folder names, addresses, dates and sizes in the user's language.

Pure functions of the parse-once record and the user's language; no I/O."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal

from postbus.message import Address, decode_header_value
from postbus.web.webmail.i18n import Gettext

#: special-use attribute (RFC 6154) → CSS class of its icon
SPECIAL_ICONS = {
    None: "folder", "\\Sent": "sent", "\\Drafts": "drafts", "\\Trash": "trash",
    "\\Junk": "junk", "\\Archive": "archive",
}


def folder_label(name: str, special_use: str | None, _: Gettext) -> str:
    """The name a user reads: INBOX and the special-use folders in their language
    when they keep their usual names; any other folder as named."""
    leaf = name.rsplit("/", 1)[-1]
    if name == "INBOX":
        return _("Inbox")
    standard = {"\\Sent": ("Sent", _("Sent")), "\\Drafts": ("Drafts", _("Drafts")),
                "\\Trash": ("Trash", _("Trash")), "\\Junk": ("Junk", _("Junk")),
                "\\Archive": ("Archive", _("Archive"))}
    if special_use in standard and leaf == standard[special_use][0] and "/" not in name:
        return standard[special_use][1]
    return leaf


def address_text(address: Address) -> str:
    """``Name <mailbox@host>``, or the bare address without a name."""
    name, _adl, mailbox, host = address
    email = f"{mailbox}@{host}" if mailbox and host else (mailbox or "")
    shown = decode_header_value(name) if name else ""
    return f"{shown} <{email}>" if shown and email else (shown or email)


def address_email(address: Address) -> str:
    _name, _adl, mailbox, host = address
    return f"{mailbox}@{host}" if mailbox and host else (mailbox or "")


def sender_name(addresses: Sequence[Address]) -> str:
    """What the list shows of From: the first display name, else the address."""
    for name, _adl, mailbox, host in addresses:
        if mailbox is None:
            continue
        if name:
            return decode_header_value(name)
        return f"{mailbox}@{host}" if host else mailbox
    return ""


def addresses_text(addresses: Sequence[Address]) -> str:
    return ", ".join(address_text(a) for a in addresses if a[2] is not None)


def subject_text(subject: str | None) -> str:
    return decode_header_value(subject) if subject else ""


def _zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def when(timestamp: float, language: str, now: dt.datetime | None = None,
         zone: str = "UTC") -> str:
    """A time today, else a date, in the language's format and the user's time zone
    (the settings' `timezone`)."""
    tz = _zone(zone)
    moment = dt.datetime.fromtimestamp(timestamp, tz)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(tz)
    if moment.date() == now.date():
        return format_time(moment, format="short", locale=language)
    return format_date(moment.date(), format="medium", locale=language)


def full_when(timestamp: float, language: str, zone: str = "UTC") -> str:
    moment = dt.datetime.fromtimestamp(timestamp, _zone(zone))
    return format_datetime(moment, format="medium", locale=language) + " " + zone


def size_text(size: int, language: str) -> str:
    """Octets in binary units, as the quota is (1 MB = 2^20 bytes, DESIGN.md)."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            return f"{format_decimal(round(size / factor, 1), locale=language)} {unit}"
    return f"{size} B"
