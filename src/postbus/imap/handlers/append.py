"""APPEND with MULTIAPPEND (RFC 9051 §6.3.12, RFC 3502) and APPENDUID (RFC 4315 §3).

Each message is copied out of the receiver's literal buffer once and handed
to the mailbox service, which stores it as a durable blob parsed once.  The
size limit (APPENDLIMIT = ``limits.max_message_size``, RFC 7889) is enforced
by the receiver before the octets are buffered and again by the service
(``NO [TOOBIG]``); quota by the store (``NO [OVERQUOTA]``, RFC 9208 §4.2).
MULTIAPPEND is all or nothing (the service removes what it added).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import AppendArgs, Command, ImapNo, format_set
from postbus.mailbox.errors import NotFound
from postbus.mailbox.service import NewMessage

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def append(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, AppendArgs)
    assert session.account is not None
    mailboxes = session.mailboxes
    try:
        mailbox = await mailboxes.get(session.account.id, args.mailbox)
    except NotFound:
        raise ImapNo(f"No folder named {args.mailbox}", "TRYCREATE") from None  # RFC 9051 §6.3.12
    appended = await mailboxes.append(mailbox, [
        NewMessage(
            message.data, tuple(message.flags),
            message.internal_date.timestamp() if message.internal_date is not None else None,
        )
        for message in args.messages
    ])
    uids = format_set(a.uid for a in appended)
    return Done(None, f"APPENDUID {appended[0].uid_validity} {uids}")
