"""FETCH and UID FETCH (RFC 9051 §6.4.5, §6.4.9): resolve the set, hand over.

The responses are ``postbus.imap.fetch``'s (imported when first used), which
reads through the mailbox service (``postbus.mailbox.fetch``): it streams
``* n FETCH`` responses through the session's flow-controlled writer and
reports the entries whose \\Seen it set.
Messages another session expunged but this client still numbers are skipped
and the reply is ``OK [EXPUNGEISSUED]`` (Dovecot's behaviour, RFC 5530); no
EXPUNGE is sent during a non-UID FETCH (RFC 9051 §7.5.1).
The MODSEQ item and the CHANGEDSINCE modifier are CONDSTORE enabling commands
(RFC 7162 §3.1); after one, FLAGS come with MODSEQ.  ``(CHANGEDSINCE m
VANISHED)`` first reports the UIDs of the set expunged since ``m``
(§3.2.6, ``imap/qresync.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import Command, FetchArgs, ImapBad, SequenceSet
from postbus.imap.qresync import vanished_earlier

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def fetch(session: ImapSession, cmd: Command) -> Done | None:
    from postbus.imap import fetch as message_access

    args = cmd.args
    assert isinstance(args, FetchArgs)
    view = session.selected
    assert view is not None
    if args.vanished and not session.qresync:
        raise ImapBad("QRESYNC is not enabled")  # RFC 7162 §3.2.6
    if args.changedsince is not None or any(a.name == "MODSEQ" for a in args.atts):
        session.enable_condstore()
    await session.refresh()
    targets = view.resolve(args.seqset, cmd.uid)
    if args.vanished and args.changedsince is not None:
        uids = args.seqset
        if uids.saved:  # RFC 5182: $ is the saved UIDs
            uids = SequenceSet.from_values(view.saved or ())
        vanished = await vanished_earlier(session.mailboxes, view, uids, args.changedsince)
        if vanished:
            await session.write(vanished)
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
            condstore=session.condstore,
        )
        if outcome.seen:
            view.update(outcome.seen)
        missing = outcome.missing  # expunged after the refresh above
    if missing or len(live) < len(targets):
        return Done("Some messages were already expunged", "EXPUNGEISSUED")
    return None
