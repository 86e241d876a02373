"""The administration service (issue 14): one layer under the CLI, the JSON API
and the admin panel.

Invariants: every operation takes an `Actor` and is authorised in one place
(`permissions.authorize`, a table of operations) before anything is read or
changed; every change writes an audit entry; a domain administrator can learn
nothing of a domain that is not theirs (such names are `NotFound`); secrets
(passwords, API tokens, TOTP secrets) are returned at most once, at creation,
and stored only hashed (tokens, passwords) or where the store keeps them
(TOTP secrets, which must be read back to check a code).
"""

from postbus.admin.actor import CLI, NOBODY, Actor
from postbus.admin.errors import (
    AdminError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Throttled,
    Unauthenticated,
)
from postbus.admin.service import Administration

__all__ = ["CLI", "NOBODY", "Actor", "AdminError", "Administration", "Conflict", "Forbidden",
           "Invalid", "NotFound", "Throttled", "Unauthenticated"]
