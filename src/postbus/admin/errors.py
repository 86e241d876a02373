"""The refusals of the administration service, one per outcome a front end shows.

The API maps them to statuses in one place (`web/api/errors.py`), the CLI to a
one-line reason and exit 1 (`cli/common.py`)."""

from __future__ import annotations


class AdminError(Exception):
    """A refusal: the request was understood and is not carried out."""


class Unauthenticated(AdminError):
    """No valid administrator credentials (HTTP 401)."""


class Forbidden(AdminError):
    """The administrator may not do this at all (HTTP 403): an operator-only operation."""


class NotFound(AdminError):
    """No such thing, or not one this administrator may know of (HTTP 404): a
    domain administrator cannot tell another domain's mailbox from a missing one."""


class Conflict(AdminError):
    """It exists already (HTTP 409)."""


class Invalid(AdminError):
    """The values are refused: a malformed address, a weak password (HTTP 422)."""


class Throttled(AdminError):
    """Too many failed logins from the client's address (HTTP 429): a current
    password asked again is throttled as a login is (`security.throttle`)."""

    def __init__(self, message: str, until: float) -> None:
        super().__init__(message)
        self.until = until
