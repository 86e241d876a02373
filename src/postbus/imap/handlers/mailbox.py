"""CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and STATUS (RFC 9051 §6.3).

Folder names arrive decoded (Unicode, ``INBOX`` upper-cased) from the parser.
Subscriptions are per-user state in the store: a folder that does not exist
cannot be subscribed (``NO [NONEXISTENT]``), unsubscribing a name that has no
folder succeeds, and DELETE and RENAME leave subscriptions alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.folders import check_new_name, parents
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
from postbus.store import errors as store_errors
from postbus.store.model import DELIMITER, INBOX, Mailbox

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

#: RFC 6154 §2 attributes a real folder can carry (\All and \Flagged are
#: virtual views, which Postbus does not have).
CREATABLE_SPECIAL_USE = frozenset({"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"})


def _account_id(session: ImapSession) -> int:
    assert session.account is not None
    return session.account.id


async def get_mailbox(session: ImapSession, name: str) -> Mailbox:
    """The folder ``name`` of the logged-in account, or ``NO [NONEXISTENT]``."""
    mailbox = await session.store.get_mailbox(_account_id(session), name)
    if mailbox is None:
        raise ImapNo(f"No folder named {name}", "NONEXISTENT")
    return mailbox


def _new_name(name: str) -> str:
    try:
        return check_new_name(name)
    except ValueError as exc:
        raise ImapNo(f"Invalid folder name: {exc}", "CANNOT") from None


async def _create_parents(session: ImapSession, name: str) -> None:
    """RFC 9051 §6.3.4: create the superior levels the name needs."""
    account_id = _account_id(session)
    for parent in parents(name):
        if await session.store.get_mailbox(account_id, parent) is None:
            try:
                await session.store.create_mailbox(account_id, parent)
            except store_errors.AlreadyExists:
                pass  # made by another session meanwhile


async def create(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, CreateArgs)
    name = _new_name(args.mailbox)
    if name.upper() == INBOX:
        raise ImapNo("INBOX always exists", "ALREADYEXISTS")
    special_use = None
    if args.special_use:  # RFC 6154 §3
        if len(args.special_use) > 1:
            raise ImapNo("Only one special-use attribute per folder", "USEATTR")
        special_use = args.special_use[0]
        if special_use not in CREATABLE_SPECIAL_USE:
            raise ImapNo(f"{special_use} cannot be given to a folder", "USEATTR")
    if await session.store.get_mailbox(_account_id(session), name) is not None:
        raise ImapNo(f"{name} already exists", "ALREADYEXISTS")
    await _create_parents(session, name)
    await session.store.create_mailbox(_account_id(session), name, special_use=special_use)
    return None


async def delete(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, MailboxArgs)
    if args.mailbox == INBOX:
        raise ImapNo("INBOX cannot be deleted", "CANNOT")  # RFC 9051 §6.3.5
    mailbox = await get_mailbox(session, args.mailbox)
    view = session.selected
    if view is not None and view.mailbox_id == mailbox.id:
        session.deselect()  # as Dovecot: the selected folder is closed first
    await session.store.delete_mailbox(_account_id(session), mailbox.name)
    return None


async def rename(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, RenameArgs)
    new = _new_name(args.new)
    old = await get_mailbox(session, args.old)
    if new.startswith(old.name + DELIMITER):
        raise ImapNo("A folder cannot become its own child", "CANNOT")
    if await session.store.get_mailbox(_account_id(session), new) is not None:
        raise ImapNo(f"{new} already exists", "ALREADYEXISTS")
    await _create_parents(session, new)
    if old.name == INBOX:
        # RFC 9051 §6.3.6: the messages move to the new name, INBOX stays, empty.
        box = await session.store.create_mailbox(_account_id(session), new)
        moved = [e.uid for e in await session.store.list_messages(old.id)]
        if moved:
            await session.store.copy(old.id, moved, box.id, move=True)
        return None
    await session.store.rename_mailbox(_account_id(session), old.name, new)
    return None


async def subscribe(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, MailboxArgs)
    mailbox = await get_mailbox(session, args.mailbox)
    await session.store.set_subscribed(_account_id(session), mailbox.name, True)
    return None


async def unsubscribe(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, MailboxArgs)
    await session.store.set_subscribed(_account_id(session), args.mailbox, False)
    return None


async def status_values(
    session: ImapSession, mailbox: Mailbox, items: tuple[str, ...]
) -> list[tuple[str, int]]:
    """STATUS items in the order asked (RFC 9051 §6.3.11, RFC 8438, RFC 9208 §4.3)."""
    status = await session.store.mailbox_status(mailbox.id)
    box = status.mailbox
    values = {
        "MESSAGES": status.messages,
        "RECENT": 0,  # \Recent is session-local here: no other session's are "recent"
        "UIDNEXT": box.uid_next,
        "UIDVALIDITY": box.uid_validity,
        "UNSEEN": status.unseen,
        "DELETED": status.deleted,
        "SIZE": status.size,
        "HIGHESTMODSEQ": box.highest_modseq,
        "APPENDLIMIT": session.app.settings.max_message_size,  # RFC 7889 §4
        "DELETED-STORAGE": (status.deleted_size + 1023) // 1024,  # RFC 9208 §4.3, in KiB
    }
    return [(item, values[item]) for item in items]


async def status(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, StatusArgs)
    mailbox = await get_mailbox(session, args.mailbox)
    values = await status_values(session, mailbox, args.items)
    session.send(responses.status(mailbox.name, values, utf8=session.utf8))
    return None
