"""NOTIFY SET / NOTIFY NONE (RFC 5465 §3); the notifications are ``imap/notify.py``'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap import notify as notifications
from postbus.imap.outcome import Done
from postbus.imap.proto import Command, ImapNo, NotifyArgs

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def notify(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, NotifyArgs)
    if args.groups is None:
        notifications.stop(session)
        return None
    refused = notifications.unsupported(args.groups)
    if refused:  # RFC 5465 §5: NO [BADEVENT (the supported events)]; the old set stays
        raise ImapNo(f"Event {refused[0]} is not supported", notifications.BADEVENT)
    await notifications.start(session, args.groups, status=args.status)
    return None
