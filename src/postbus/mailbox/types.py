"""The records front ends see, re-exported so that they never import the store."""

from postbus.store.events import Subscription
from postbus.store.model import (
    DELIMITER,
    INBOX,
    SPECIAL_USE_FOLDERS,
    Account,
    Appended,
    Change,
    Changes,
    Mailbox,
    MailboxStatus,
    MessageEntry,
    MessageInfo,
)

__all__ = [
    "DELIMITER", "INBOX", "SPECIAL_USE_FOLDERS", "Account", "Appended", "Change", "Changes", "Mailbox",
    "MailboxStatus", "MessageEntry", "MessageInfo", "Subscription",
]
