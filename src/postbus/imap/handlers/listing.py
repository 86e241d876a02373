"""LIST (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819,
SPECIAL-USE RFC 6154, CHILDREN RFC 3348) and LSUB (RFC 3501 §6.3.9).

The mailbox service selects the names (`postbus.mailbox.listing`); this
module translates the LIST options into `ListOptions` and the answer into
LIST / LSUB lines (attributes in `imap.folders`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.folders import attributes
from postbus.imap.handlers.mailbox import status_values
from postbus.imap.outcome import Done
from postbus.imap.proto import Command, ListArgs, responses
from postbus.imap.proto.writer import string
from postbus.mailbox.listing import ListOptions
from postbus.mailbox.types import DELIMITER

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

#: RFC 5258 §3.5: what a parent listed for its subscribed descendants carries.
CHILDINFO_SUBSCRIBED = b'"CHILDINFO" (%s)' % string("SUBSCRIBED")


def _patterns(args: ListArgs) -> tuple[str, ...]:
    # RFC 9051 §6.3.9: the reference and the pattern are joined.
    return tuple(args.reference + pattern for pattern in args.patterns if pattern)


def options_for(args: ListArgs) -> ListOptions:
    selection, returns = args.selection, args.returns
    return ListOptions(
        patterns=_patterns(args),
        subscribed="SUBSCRIBED" in selection,
        special_use="SPECIAL-USE" in selection,
        recursive_match="RECURSIVEMATCH" in selection,
        mark_subscribed="SUBSCRIBED" in returns,
    )


async def list_(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, ListArgs)
    if not any(args.patterns):
        # RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the root.
        session.send(responses.list_(["\\Noselect"], DELIMITER, "", utf8=session.utf8))
        return None
    assert session.account is not None
    options = options_for(args)
    nonexistent = "\\NonExistent" if args.extended or session.rev2 else "\\Noselect"
    for entry in await session.mailboxes.list_folders(session.account.id, options):
        attrs = attributes(entry.mailbox, entry.has_children, nonexistent=nonexistent,
                           subscribed=entry.subscribed)
        extended = [CHILDINFO_SUBSCRIBED] if entry.child_subscribed else []
        await session.write(responses.list_(
            attrs, DELIMITER, entry.name, utf8=session.utf8, extended=extended
        ))
        if "STATUS" in args.returns and entry.mailbox is not None and not extended:
            status = await session.mailboxes.status(entry.mailbox)
            values = await status_values(session, status, args.status_items)
            await session.write(responses.status(entry.name, values, utf8=session.utf8))
    return None


async def lsub(session: ImapSession, cmd: Command) -> Done | None:
    """RFC 3501 §6.3.9: subscribed names; unsubscribed levels a ``%`` stops at are \\Noselect."""
    args = cmd.args
    assert isinstance(args, ListArgs)
    if not any(args.patterns):
        session.send(responses.list_(
            ["\\Noselect"], DELIMITER, "", utf8=session.utf8, command="LSUB"
        ))
        return None
    assert session.account is not None
    for entry in await session.mailboxes.lsub(session.account.id, _patterns(args)):
        await session.write(responses.list_(
            ["\\Noselect"] if entry.noselect else [], DELIMITER, entry.name,
            utf8=session.utf8, command="LSUB"
        ))
    return None
