"""The mailbox service's query model: search criteria, sort keys and fetch items.

Front ends translate their own syntax into these small frozen dataclasses
(IMAP's SEARCH/SORT/FETCH grammar in `imap/`, the webmail's search form in
`web/`); `mailbox.search`, `mailbox.sort` and `mailbox.fetch` evaluate them on
the parse-once record and the store. Nothing here knows a wire protocol:
messages are named by UID, never by a client's sequence number, and a
criterion tree is meant to be written by hand::

    And((Unseen, From("alice"), Since(dt.date(2025, 1, 1))))
    Or((Subject("invoice"), Body("invoice")))

Matching rules (RFC 9051 §6.4.4, which the webmail follows too): string
criteria are case-insensitive substring matches on decoded text; dates
disregard time and time zone; sizes are in octets.

Invariants: every class is a frozen, hashable dataclass (evaluators memoise
per criterion); `And` and `Or` take any number of criteria (`And(())` matches
everything, `Or(())` nothing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

# -- search criteria -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class All:
    """Every message."""


@dataclass(frozen=True, slots=True)
class And:
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class Or:
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class Not:
    criterion: Criterion


@dataclass(frozen=True, slots=True)
class Flag:
    """A system flag (``\\Seen``) or keyword (``$Label1``) is set, or with `present`
    False, unset. Flag names compare case-insensitively (RFC 9051 §2.3.2)."""

    name: str
    present: bool = True


@dataclass(frozen=True, slots=True)
class Recent:
    """The message arrived while this view was open (IMAP4rev1 \\Recent, RFC 3501 §2.3.2)."""

    present: bool = True


@dataclass(frozen=True, slots=True)
class Header:
    """A top-level header field `name` contains `value`; an empty value matches any
    message that has the field."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Subject:
    """The decoded Subject contains `value`."""

    value: str


#: Address fields of the ENVELOPE a criterion can name.
AddressField = Literal["from", "to", "cc", "bcc"]


@dataclass(frozen=True, slots=True)
class Address:
    """An address field contains `value`: display names and addresses alike,
    written as ``Decoded Name <mailbox@host>``."""

    field: AddressField
    value: str


def From(value: str) -> Address:
    return Address("from", value)


def To(value: str) -> Address:
    return Address("to", value)


def Cc(value: str) -> Address:
    return Address("cc", value)


def Bcc(value: str) -> Address:
    return Address("bcc", value)


@dataclass(frozen=True, slots=True)
class Body:
    """The decoded body text contains `value` (white space runs count as one space)."""

    value: str


@dataclass(frozen=True, slots=True)
class Text:
    """The decoded header or body text contains `value`."""

    value: str


DateOp = Literal["before", "on", "since"]


@dataclass(frozen=True, slots=True)
class Date:
    """The message's date compares to `day` (``since`` includes the day).

    `sent` False is the arrival (INTERNALDATE, its UTC day); True the Date
    header's day as written (a message without a usable Date matches none).
    `saved` is the save date's UTC day (RFC 8514), the arrival's for messages
    stored before save dates were kept.
    """

    op: DateOp
    day: dt.date
    sent: bool = False
    saved: bool = False


def Before(day: dt.date) -> Date:
    return Date("before", day)


def On(day: dt.date) -> Date:
    return Date("on", day)


def Since(day: dt.date) -> Date:
    return Date("since", day)


@dataclass(frozen=True, slots=True)
class Older:
    """The message arrived at least `seconds` ago (INTERNALDATE; RFC 5032 OLDER)."""

    seconds: int


@dataclass(frozen=True, slots=True)
class Younger:
    """The message arrived less than `seconds` ago (INTERNALDATE; RFC 5032 YOUNGER).
    ``Not(Older(n))`` and ``Younger(n)`` match the same messages."""

    seconds: int


@dataclass(frozen=True, slots=True)
class Larger:
    """The message is larger than `size` octets."""

    size: int


@dataclass(frozen=True, slots=True)
class Smaller:
    """The message is smaller than `size` octets."""

    size: int


@dataclass(frozen=True, slots=True)
class Uids:
    """The UID lies in one of the inclusive `ranges` ``(low, high)``."""

    ranges: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, uids: tuple[int, ...] | list[int] | set[int] | frozenset[int]) -> Uids:
        """The set of the given UIDs, as ranges."""
        ranges: list[tuple[int, int]] = []
        for uid in sorted(uids):
            if ranges and ranges[-1][1] + 1 == uid:
                ranges[-1] = (ranges[-1][0], uid)
            else:
                ranges.append((uid, uid))
        return cls(tuple(ranges))

    def __contains__(self, uid: object) -> bool:
        return isinstance(uid, int) and any(lo <= uid <= hi for lo, hi in self.ranges)


@dataclass(frozen=True, slots=True)
class ModSeq:
    """The message's mod-sequence is at least `modseq` (RFC 7162 §3.1.5)."""

    modseq: int


@dataclass(frozen=True, slots=True)
class BodyId:
    """The message's stored body (its SHA-256, lowercase hex) starts with `prefix`:
    IMAP's EMAILID names a message by its body (RFC 8474 §5.1)."""

    prefix: str


Criterion = (All | And | Or | Not | Flag | Recent | Header | Subject | Address | Body | Text
             | Date | Older | Younger | Larger | Smaller | Uids | ModSeq | BodyId)

#: Criteria that match substrings of a message's text.
StringCriterion = Header | Subject | Address | Body | Text

Seen = Flag("\\Seen")
Unseen = Flag("\\Seen", present=False)
Flagged = Flag("\\Flagged")
Deleted = Flag("\\Deleted")
Answered = Flag("\\Answered")
Draft = Flag("\\Draft")


# -- sort keys (RFC 5256 §3, RFC 5957 §3) --------------------------------------------------

SortField = Literal["arrival", "cc", "date", "from", "size", "subject", "to",
                    "display_from", "display_to"]


@dataclass(frozen=True, slots=True)
class SortKey:
    """One sort criterion; ties fall to the next key and finally to ascending UID.

    ``arrival`` is the INTERNALDATE; ``date`` the Date header, or the arrival
    when there is none; ``from``/``to``/``cc`` the first address's mailbox;
    ``subject`` the base subject (RFC 5256 §2.1); ``display_*`` the display
    name, or the address without one (RFC 5957 §3).
    """

    field: SortField
    reverse: bool = False


# -- fetch items -------------------------------------------------------------------------------

SectionText = Literal["", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"]


@dataclass(frozen=True, slots=True)
class Section:
    """Octets of a message: the part at `part` (``()`` the whole message, ``(2, 1)``
    the first part of the second, RFC 9051 §6.4.5), narrowed to `text`.

    ``HEADER.FIELDS`` keeps only the fields named in `fields` (``.NOT`` all
    others); `partial` is ``(origin, length)``; `decode` removes the part's
    Content-Transfer-Encoding (IMAP BINARY, RFC 3516; the whole message is
    never decoded).
    """

    part: tuple[int, ...] = ()
    text: SectionText = ""
    fields: tuple[str, ...] = ()
    partial: tuple[int, int] | None = None
    decode: bool = False

    @property
    def header_only(self) -> bool:
        """Whether the octets lie in the top-level header."""
        return not self.part and self.text.startswith("HEADER")


@dataclass(frozen=True, slots=True)
class FetchItems:
    """What a fetch reads of each message, beyond its UID, flags and mod-sequence
    (which the view holds).

    `info`: size and arrival date (the stored row); `record`: the parse-once
    record (envelope, body structure, preview); `sections`: message octets.
    `mark_seen` sets \\Seen on the messages before they are read (RFC 9051 §6.4.5).
    """

    info: bool = False
    record: bool = False
    sections: tuple[Section, ...] = ()
    mark_seen: bool = False


__all__ = [
    "Address", "AddressField", "All", "And", "Answered", "Bcc", "Before", "Body", "BodyId", "Cc",
    "Criterion", "Date", "DateOp", "Deleted", "Draft", "FetchItems", "Flag", "Flagged", "From",
    "Header", "Larger", "ModSeq", "Not", "Older", "On", "Or", "Recent", "Section", "SectionText", "Seen",
    "Since", "Smaller", "SortField", "SortKey", "StringCriterion", "Subject", "Text", "To",
    "Uids", "Unseen", "Younger",
]
