"""COPY / UID COPY (RFC 9051 §6.4.7) and MOVE / UID MOVE (RFC 6851), with COPYUID.

The destination must exist (``NO [TRYCREATE]`` otherwise, so that clients
create it and retry).  A copy counts against the quota (``NO [OVERQUOTA]``
from the store).  COPYUID (RFC 4315 §3) pairs the source and destination UID
sets in the same order: the store assigns new UIDs in ascending source order,
so both sets can be written compressed.  MOVE sends COPYUID in an untagged OK
before the EXPUNGE responses (RFC 6851 §4.3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import Command, CopyArgs, ImapNo, format_set, writer
from postbus.mailbox.errors import NotFound

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def copy(session: ImapSession, cmd: Command) -> Done | None:
    return await _transfer(session, cmd, move=False)


async def move(session: ImapSession, cmd: Command) -> Done | None:
    return await _transfer(session, cmd, move=True)


async def _transfer(session: ImapSession, cmd: Command, *, move: bool) -> Done | None:
    args = cmd.args
    assert isinstance(args, CopyArgs)
    view = session.selected
    assert view is not None and session.account is not None
    if move and view.readonly:
        raise ImapNo("The mailbox is read-only (EXAMINE)", "CANNOT")
    await session.refresh()
    targets = view.resolve(args.seqset, cmd.uid)
    live = view.live(targets)
    try:
        destination = await session.mailboxes.get(session.account.id, args.mailbox)
    except NotFound:
        raise ImapNo(f"No folder named {args.mailbox}", "TRYCREATE") from None  # RFC 9051 §6.4.7
    mapping = await session.mailboxes.copy(
        view.mailbox_id, [e.uid for _, e in live], destination, move=move
    )
    code = None
    if mapping:
        sources = format_set(src for src, _ in mapping)
        code = f"COPYUID {destination.uid_validity} {sources} {format_set(d for _, d in mapping)}"
    if move:
        if code is not None:
            session.send(writer.untagged_status("OK", "Moved UIDs", code))
        await session.write(view.remove([src for src, _ in mapping]))
        code = None
    if len(live) < len(targets):
        return Done("Some messages were already expunged", "EXPUNGEISSUED")
    return Done(None, code)
