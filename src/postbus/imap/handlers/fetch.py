"""FETCH and UID FETCH (RFC 9051 §6.4.5, §6.4.9): resolve the set, hand over.

The responses are ``postbus.imap.fetch``'s (imported when first used), which
reads through the mailbox service (``postbus.mailbox.fetch``): it streams
``* n FETCH`` responses through the session's flow-controlled writer and
reports the entries whose \\Seen it set.
Messages another session expunged but this client still numbers are skipped
and the reply is ``OK [EXPUNGEISSUED]`` (Dovecot's behaviour, RFC 5530); no
EXPUNGE is sent during a non-UID FETCH (RFC 9051 §7.5.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import Command, FetchArgs, ImapBad

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def fetch(session: ImapSession, cmd: Command) -> Done | None:
    from postbus.imap import fetch as message_access

    args = cmd.args
    assert isinstance(args, FetchArgs)
    view = session.selected
    assert view is not None
    if args.vanished:
        raise ImapBad("QRESYNC is not enabled")
    await session.refresh()
    targets = view.resolve(args.seqset, cmd.uid)
    live = view.live(targets)
    missing: list[int] = []
    if live:
        announcement = view.keywords_announcement(live)
        if announcement:
            await session.write(announcement)
        outcome = await message_access.fetch(
            session.mailboxes, view.mailbox_id, live, args.atts,
            uid_command=cmd.uid, readonly=view.readonly, utf8=session.utf8,
            changed_since=args.changedsince, write=session.write, recent=view.recent,
        )
        if outcome.seen:
            view.update(outcome.seen)
        missing = outcome.missing  # expunged after the refresh above
    if missing or len(live) < len(targets):
        return Done("Some messages were already expunged", "EXPUNGEISSUED")
    return None
