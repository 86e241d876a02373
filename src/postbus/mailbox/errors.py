"""The mailbox service's refusals; front ends turn them into replies in one place.

The store's own refusals are re-exported: a front end catches these names and
never imports `postbus.store`. `code` is the RFC 5530 response code a refusal
carries in IMAP (POP3 and the webmail show the text).
"""

from postbus.store.errors import (
    AlreadyExists,
    Conflict,
    InvalidName,
    NotFound,
    OverQuota,
    StoreError,
)


class LimitReached(StoreError):
    """A named limit of the service was reached (folder depth, count, name length)."""


#: Refusal → RFC 5530 response code.
CODES: tuple[tuple[type[StoreError], str], ...] = (
    (NotFound, "NONEXISTENT"),
    (AlreadyExists, "ALREADYEXISTS"),
    (OverQuota, "OVERQUOTA"),
    (LimitReached, "LIMIT"),
    (InvalidName, "CANNOT"),
    (Conflict, "CANNOT"),
)


def code_for(exc: StoreError) -> str | None:
    for kind, code in CODES:
        if isinstance(exc, kind):
            return code
    return None


__all__ = [
    "CODES", "AlreadyExists", "Conflict", "InvalidName", "LimitReached", "NotFound",
    "OverQuota", "StoreError", "code_for",
]
