"""CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and STATUS (RFC 9051 §6.3).

Folder names arrive decoded (Unicode) from the parser; the rules (INBOX,
names, limits, subscriptions) are the mailbox service's (`postbus.mailbox`),
whose refusals the session turns into ``NO [code]``.  SUBSCRIBE needs an
existing folder (``NO [NONEXISTENT]``); UNSUBSCRIBE of any name succeeds.
CREATE answers ``OK [MAILBOXID (id)]`` and STATUS has MAILBOXID (RFC 8474 §4):
the id is the store's `object_id`, which RENAME keeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import (
    Command,
    CreateArgs,
    ImapNo,
    MailboxArgs,
    RenameArgs,
    StatusArgs,
    responses,
)
from postbus.mailbox.types import Mailbox, MailboxStatus

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


def _account_id(session: ImapSession) -> int:
    assert session.account is not None
    return session.account.id


async def get_mailbox(session: ImapSession, name: str) -> Mailbox:
    """The folder ``name`` of the logged-in account, or ``NO [NONEXISTENT]``."""
    return await session.mailboxes.get(_account_id(session), name)


async def create(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, CreateArgs)
    if len(args.special_use) > 1:  # RFC 6154 §3
        raise ImapNo("Only one special-use attribute per folder", "USEATTR")
    special_use = args.special_use[0] if args.special_use else None
    box = await session.mailboxes.create(_account_id(session), args.mailbox,
                                         special_use=special_use)
    return Done(code=f"MAILBOXID ({mailbox_id(box)})")  # RFC 8474 §4.1


async def delete(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, MailboxArgs)
    deleted = await session.mailboxes.delete(_account_id(session), args.mailbox)
    view = session.selected
    if view is not None and view.mailbox_id == deleted.id:
        session.deselect()  # as Dovecot: the selected folder is closed
    return None


async def rename(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, RenameArgs)
    await session.mailboxes.rename(_account_id(session), args.old, args.new)
    return None


async def subscribe(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, MailboxArgs)
    await session.mailboxes.subscribe(_account_id(session), args.mailbox)
    return None


async def unsubscribe(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, MailboxArgs)
    await session.mailboxes.unsubscribe(_account_id(session), args.mailbox)
    return None


def mailbox_id(box: Mailbox) -> str:
    """RFC 8474 §4: the folder's MAILBOXID (objectid: 1-255 of A-Z a-z 0-9 _ -)."""
    return f"F{box.object_id}"


async def status_values(
    session: ImapSession, status: MailboxStatus, items: tuple[str, ...]
) -> list[tuple[str, int | str]]:
    """STATUS items in the order asked (RFC 9051 §6.3.11, RFC 8438, RFC 9208 §4.3),
    from the store's counters: the cost does not grow with the folder. RECENT
    (RFC 3501 §6.3.10) counts the messages no session has claimed as \\Recent."""
    box = status.mailbox
    recent = await session.mailboxes.recent_count(box) if "RECENT" in items else 0
    values = {
        "MESSAGES": status.messages,
        "RECENT": recent,
        "UIDNEXT": box.uid_next,
        "UIDVALIDITY": box.uid_validity,
        "UNSEEN": status.unseen,
        "DELETED": status.deleted,
        "SIZE": status.size,
        "HIGHESTMODSEQ": box.highest_modseq,
        "APPENDLIMIT": session.app.settings.max_message_size,  # RFC 7889 §4
        # RFC 9208 §4.3: octets EXPUNGE would free, in KiB like STORAGE.
        "DELETED-STORAGE": (status.deleted_size + 1023) // 1024,
    }
    if "MAILBOXID" in items:
        return [(item, f"({mailbox_id(box)})" if item == "MAILBOXID" else values[item])
                for item in items]
    return [(item, values[item]) for item in items]


async def status(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, StatusArgs)
    assert session.account is not None
    if "HIGHESTMODSEQ" in args.items:
        session.enable_condstore()  # RFC 7162 §3.1: a CONDSTORE enabling command
    status = await session.mailboxes.status_of(session.account.id, args.mailbox)
    values = await status_values(session, status, args.items)
    session.send(responses.status(status.mailbox.name, values, utf8=session.utf8))
    return None
