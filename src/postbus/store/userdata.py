"""Records of a user's own data beside the mail (issue 13, webmail writing):
address book entries, the preferences document and the addresses written to.

The store keeps them; every rule (lengths, counts, what a preference may
hold) is the service's (`postbus.addressbook`, `postbus.preferences`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NewContact:
    name: str
    email: str
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    account_id: int
    name: str
    email: str
    notes: str
    updated: float  # seconds since the epoch


@dataclass(frozen=True, slots=True)
class WrittenTo:
    """An address the user sent a message to, most recent use first in lists."""

    address: str
    name: str
    last_used: float
    uses: int
