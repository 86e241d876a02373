"""APPEND with MULTIAPPEND (RFC 9051 §6.3.12, RFC 3502), APPENDUID (RFC 4315 §3)
and CATENATE (RFC 4469).

Each message is copied out of the receiver's literal buffer once and handed
to the mailbox service, which stores it as a durable blob parsed once.  The
size limit (APPENDLIMIT = ``limits.max_message_size``, RFC 7889) is enforced
by the receiver before the octets are buffered and again by the service
(``NO [TOOBIG]``); quota by the store (``NO [OVERQUOTA]``, RFC 9208 §4.2).
A CATENATE message is assembled first (`append_catenate`), within the same
limits.  MULTIAPPEND is all or nothing (the service removes what it added).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.handlers.append_catenate import Budget, assemble
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
    # RFC 4469 §4: every CATENATE message is built before any message is stored.
    budget = Budget(mailboxes.max_message_size, session.receiver.max_append_total)
    new: list[NewMessage] = []
    for message in args.messages:
        data: bytes | memoryview
        if message.catenate is None:
            data = message.data
            budget.total_left -= len(data)
        else:
            data = await assemble(session, message, budget)
        new.append(NewMessage(
            data, tuple(message.flags),
            message.internal_date.timestamp() if message.internal_date is not None else None,
        ))
    appended = await mailboxes.append(mailbox, new)
    uids = format_set(a.uid for a in appended)
    return Done(None, f"APPENDUID {appended[0].uid_validity} {uids}")
