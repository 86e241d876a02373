"""A mailbox user's webmail preferences (issue 13 item 9): identities, signature,
language, messages per page and time zone, one document per account in the store.

Invariants: every identity's address is one the account owns
(`accounts.ownership.owns`, checked here on every save, and again when a
message is sent, since an alias can be removed after it was chosen); every
value is bounded (`limits`); a stored document that no longer passes the checks
is read back with the failing values replaced by defaults, never refused.
"""

from postbus.preferences.service import (
    LANGUAGES,
    Identity,
    InvalidPreference,
    Preferences,
    PreferencesService,
)

__all__ = ["LANGUAGES", "Identity", "InvalidPreference", "Preferences", "PreferencesService"]
