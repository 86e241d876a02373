"""LIST (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819,
SPECIAL-USE RFC 6154, CHILDREN RFC 3348) and LSUB (RFC 3501 §6.3.9).

Every LIST response carries ``\\HasChildren`` / ``\\HasNoChildren`` and the
folder's special-use attribute, whatever the return options (each RFC allows
sending them unasked, and clients rely on them).  Implied parents are
``\\Noselect`` to IMAP4rev1 clients and ``\\NonExistent`` (which implies
``\\Noselect``, RFC 5258 §3.4) to extended LIST and IMAP4rev2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from postbus.imap.folders import Folder, folder_tree, matcher, parents
from postbus.imap.handlers.mailbox import status_values
from postbus.imap.outcome import Done
from postbus.imap.proto import Command, ListArgs, responses
from postbus.imap.proto.writer import string
from postbus.store.model import DELIMITER

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def _tree(session: ImapSession) -> list[Folder]:
    assert session.account is not None
    account_id = session.account.id
    return folder_tree(
        await session.store.list_mailboxes(account_id),
        await session.store.list_subscriptions(account_id),
    )


def _matchers(args: ListArgs) -> list[Callable[[str], bool]]:
    return [matcher(args.reference + pattern) for pattern in args.patterns if pattern]


def _attributes(folder: Folder, *, nonexistent: str, subscribed: bool) -> list[str]:
    attrs: list[str] = []
    if folder.mailbox is None:
        attrs.append(nonexistent)
    attrs.append("\\HasChildren" if folder.has_children else "\\HasNoChildren")
    if folder.mailbox is not None and folder.mailbox.special_use:
        attrs.append(folder.mailbox.special_use)
    if subscribed and folder.subscribed:
        attrs.append("\\Subscribed")
    return attrs


async def list_(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, ListArgs)
    if not any(args.patterns):
        # RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the root.
        session.send(responses.list_(["\\Noselect"], DELIMITER, "", utf8=session.utf8))
        return None
    matches = _matchers(args)
    selection, returns = args.selection, args.returns
    only_subscribed = "SUBSCRIBED" in selection
    recursive = "RECURSIVEMATCH" in selection
    show_subscribed = only_subscribed or "SUBSCRIBED" in returns
    nonexistent = "\\NonExistent" if args.extended or session.rev2 else "\\Noselect"
    tree = await _tree(session)
    subscribed_parents = (
        {p for f in tree if f.subscribed for p in parents(f.name)} if recursive else set()
    )
    for folder in tree:
        if not any(m(folder.name) for m in matches):
            continue
        extended: list[bytes] = []
        if only_subscribed and not folder.subscribed:
            if folder.name not in subscribed_parents:
                continue
            # RFC 5258 §3.5: listed for its subscribed children only.
            extended.append(b'"CHILDINFO" (%s)' % string("SUBSCRIBED"))
        if "SPECIAL-USE" in selection and (folder.mailbox is None
                                           or not folder.mailbox.special_use):
            continue
        attrs = _attributes(folder, nonexistent=nonexistent, subscribed=show_subscribed)
        if extended:
            attrs = [a for a in attrs if a != "\\Subscribed"]
        await session.write(responses.list_(
            attrs, DELIMITER, folder.name, utf8=session.utf8, extended=extended
        ))
        if "STATUS" in returns and folder.mailbox is not None and not extended:
            values = await status_values(session, folder.mailbox, args.status_items)
            await session.write(responses.status(folder.name, values, utf8=session.utf8))
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
    matches = _matchers(args)
    tree = await _tree(session)
    subscribed = {f.name for f in tree if f.subscribed}
    listed: dict[str, list[str]] = {}
    for name in sorted(subscribed):
        if any(m(name) for m in matches):
            listed[name] = []
            continue
        for level in parents(name):  # what a "%" stops at, as \Noselect
            if level not in listed and any(m(level) for m in matches):
                listed[level] = [] if level in subscribed else ["\\Noselect"]
    for folder in tree:
        attrs = listed.get(folder.name)
        if attrs is not None:
            await session.write(responses.list_(
                attrs, DELIMITER, folder.name, utf8=session.utf8, command="LSUB"
            ))
    return None
