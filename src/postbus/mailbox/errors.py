"""The mailbox service's refusals; front ends turn them into replies in one place.

The store's own refusals are re-exported: a front end catches these names and
never imports `postbus.store`. `code_for` gives the RFC 5530 response code a
refusal carries in IMAP.

What a client may read: the refusals the service raises itself are `Worded`,
their text written for the user (a folder name, a limit). Any other text (the
store's) can hold internal detail, a body's blob id for one, so a client gets
`client_text`'s fixed wording for its kind and the detail goes to the log.
"""

from postbus.store.errors import (
    AlreadyExists,
    Conflict,
    InvalidName,
    NotFound,
    OverQuota,
    StoreError,
)


class Worded:
    """Mixed into the refusals whose text is written for the user (see the docstring)."""


class FolderNotFound(Worded, NotFound):
    pass


class MessageNotFound(Worded, NotFound):
    """A message, or a part of one, that a reference names does not exist (CATENATE URLs)."""


class FolderExists(Worded, AlreadyExists):
    pass


class Refused(Worded, Conflict):
    """The service refuses an operation that the folder or message does not allow."""


class BadName(Worded, InvalidName):
    pass


class LimitReached(Worded, StoreError):
    """A named limit of the service was reached (folder depth, count, name length)."""


class SpecialUseRefused(Worded, StoreError):
    """A special-use attribute a folder cannot be given (RFC 6154 §3, USEATTR)."""


class TooBig(Worded, StoreError):
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


#: What a client reads for a refusal that is not `Worded`, by kind; stable texts.
GENERIC_TEXTS: tuple[tuple[type[StoreError], str], ...] = (
    (NotFound, "No such folder or message"),
    (AlreadyExists, "It already exists"),
    (OverQuota, "Quota exceeded"),
    (InvalidName, "Invalid name"),
    (Conflict, "Not possible in the current state"),
)
GENERIC_TEXT = "Refused"


def code_for(exc: StoreError) -> str | None:
    for kind, code in CODES:
        if isinstance(exc, kind):
            return code
    return None


def client_text(exc: StoreError) -> str:
    """The text a client may read for `exc` (see the module docstring)."""
    if isinstance(exc, Worded):
        return str(exc) or GENERIC_TEXT
    for kind, text in GENERIC_TEXTS:
        if isinstance(exc, kind):
            return text
    return GENERIC_TEXT


__all__ = [
    "CODES", "GENERIC_TEXT", "GENERIC_TEXTS", "AlreadyExists", "BadName", "Conflict",
    "FolderExists", "FolderNotFound", "InvalidName", "LimitReached", "NotFound", "OverQuota",
    "Refused", "SpecialUseRefused", "StoreError", "TooBig", "Worded", "client_text", "code_for",
]
