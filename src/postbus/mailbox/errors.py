"""The mailbox service's refusals; front ends turn them into replies in one place.

The store's own refusals are re-exported: a front end catches these names and
never imports `postbus.store`. `code` is the RFC 5530 response code a refusal
carries in IMAP (POP3 and the webmail show the text, which always says what
was refused and why).
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


class SpecialUseRefused(StoreError):
    """A special-use attribute a folder cannot be given (RFC 6154 §3, USEATTR)."""


class TooBig(StoreError):
    """A message over the house maximum size (RFC 7889 APPENDLIMIT, TOOBIG)."""


#: Refusal → RFC 5530 response code; the first match wins.
CODES: tuple[tuple[type[StoreError], str], ...] = (
    (NotFound, "NONEXISTENT"),
    (AlreadyExists, "ALREADYEXISTS"),
    (OverQuota, "OVERQUOTA"),
    (LimitReached, "LIMIT"),
    (SpecialUseRefused, "USEATTR"),  # RFC 6154 §5.3
    (TooBig, "TOOBIG"),  # RFC 4469 / RFC 7889
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
    "OverQuota", "SpecialUseRefused", "StoreError", "TooBig", "code_for",
]
