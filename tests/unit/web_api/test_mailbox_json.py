"""A mailbox as the API shows it: the last login in ISO 8601 UTC, or null."""

from __future__ import annotations

from postbus.admin.views import MailboxView
from postbus.web.api.openapi import SCHEMAS
from postbus.web.api.routes import _mailbox


def test_last_login_is_iso_8601_utc_or_null() -> None:
    never = MailboxView("alice@a.test", "a.test", 0, 0, 0, True)
    assert _mailbox(never)["last_login"] is None
    seen = MailboxView("alice@a.test", "a.test", 0, 0, 0, True, last_login=1_800_000_000.9)
    assert _mailbox(seen)["last_login"] == "2027-01-15T08:00:00Z"
    assert set(_mailbox(seen)) == set(SCHEMAS["Mailbox"]["required"])
