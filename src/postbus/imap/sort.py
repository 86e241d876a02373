"""IMAP SORT criteria (RFC 5256 §3, RFC 5957 §3) as the mailbox service's sort keys."""

from __future__ import annotations

from collections.abc import Sequence

from postbus.imap.proto.commands import SortCriterion
from postbus.mailbox.query import SortField, SortKey

_FIELDS: dict[str, SortField] = {
    "ARRIVAL": "arrival", "CC": "cc", "DATE": "date", "FROM": "from", "SIZE": "size",
    "SUBJECT": "subject", "TO": "to", "DISPLAYFROM": "display_from", "DISPLAYTO": "display_to",
}


def sort_keys(criteria: Sequence[SortCriterion]) -> tuple[SortKey, ...]:
    return tuple(SortKey(_FIELDS[c.key], c.reverse) for c in criteria)
