"""EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (UIDPLUS, RFC 4315 §2.1).

Before computing what to remove, other sessions' changes are announced (an
EXPUNGE may send EXPUNGE responses), so the \\Deleted flags seen are current;
then one call of the mailbox service removes the messages and each gets its ``* n EXPUNGE``
(``* VANISHED uids`` once QRESYNC is enabled, RFC 7162 §3.2.10).  With QRESYNC the
tagged OK carries the folder's new ``[HIGHESTMODSEQ n]``, as Dovecot sends it, so the
client can move its sync point without another round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import Command, ImapNo, SequenceArgs
from postbus.mailbox.types import MessageEntry

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def expunge(session: ImapSession, cmd: Command) -> Done | None:
    view = session.selected
    assert view is not None
    if view.readonly:
        raise ImapNo("The mailbox is read-only (EXAMINE)", "CANNOT")
    await session.sync(expunge=True)
    if cmd.uid:
        args = cmd.args
        assert isinstance(args, SequenceArgs)
        candidates: Sequence[MessageEntry] = [e for _, e in view.resolve(args.seqset, uid=True)]
    else:
        candidates = view.entries
    deleted = [e.uid for e in candidates if "\\Deleted" in e.flags]
    if deleted:
        removed = await session.mailboxes.expunge(view.mailbox_id, deleted)
        await session.write(view.remove(removed))
    if session.qresync:
        # Records what else changed meanwhile; the session announces it before the OK.
        await session.mailboxes.refresh(view)
        return Done(code=f"HIGHESTMODSEQ {view.modseq}")
    return None
