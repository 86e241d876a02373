"""SELECT, EXAMINE (RFC 9051 §6.3.2, §6.3.3), CLOSE (§6.4.1) and UNSELECT (RFC 3691).

SELECT answers with what clients rely on, in Dovecot's order: FLAGS,
PERMANENTFLAGS, EXISTS, RECENT and UNSEEN (IMAP4rev1 only; RFC 9051 dropped
them), UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ (on every SELECT and EXAMINE, as
CONDSTORE is advertised: RFC 7162 §3.1.2.1; every folder keeps mod-sequences,
so ``[NOMODSEQ]`` is never needed), the LIST of the mailbox (IMAP4rev2,
§6.3.2), then ``OK [READ-WRITE]`` or ``[READ-ONLY]``.  ``(CONDSTORE)`` is a
CONDSTORE enabling command (§3.1.8); ``(QRESYNC ...)`` (after ENABLE QRESYNC,
§3.2.5) adds what changed since the client's mod-sequence (``imap/qresync.py``).  A SELECT
while a mailbox is selected closes it first (without expunging) and says so
with ``OK [CLOSED]``; if the new one cannot be opened the session is left in
the authenticated state, as §6.3.2 requires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.handlers.mailbox import mailbox_id
from postbus.imap.outcome import Done
from postbus.imap.proto import Command, ImapBad, SelectArgs, responses, writer
from postbus.imap.qresync import resync
from postbus.imap.selected import SelectedMailbox
from postbus.imap.state import State
from postbus.mailbox.types import DELIMITER

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def select(session: ImapSession, cmd: Command) -> Done | None:
    return await _open(session, cmd, readonly=False)


async def examine(session: ImapSession, cmd: Command) -> Done | None:
    return await _open(session, cmd, readonly=True)


async def _open(session: ImapSession, cmd: Command, *, readonly: bool) -> Done:
    args = cmd.args
    assert isinstance(args, SelectArgs)
    if args.qresync is not None and not session.qresync:
        raise ImapBad("QRESYNC is not enabled")  # RFC 7162 §3.2.5
    if args.condstore:
        session.enable_condstore()
    closed = session.selected is not None
    session.deselect()
    assert session.account is not None
    # The folder and its counters in one read; a folder opened before and not
    # changed since then needs nothing more from the store (mailbox/entries.py).
    status = await session.mailboxes.status_of(session.account.id, args.mailbox)
    mailbox = status.mailbox
    # IMAP4rev1 keeps \Recent: SELECT claims the folder's new messages, EXAMINE
    # only looks (RFC 3501 §2.3.2, §6.3.1, §6.3.2); IMAP4rev2 has no \Recent.
    view = await session.mailboxes.open_view(mailbox, readonly, SelectedMailbox,
                                             recent=not session.rev2)
    out: list[bytes] = []
    if closed:
        out.append(writer.untagged_status("OK", "Previous mailbox closed", "CLOSED"))
    out.append(responses.flags(view.flags()))
    if readonly:
        out.append(writer.untagged_status("OK", "Read-only mailbox", "PERMANENTFLAGS ()"))
    else:
        permanent = " ".join([*view.flags(), "\\*"])  # RFC 9051 §7.1: \* = new keywords allowed
        out.append(writer.untagged_status("OK", "Flags permitted", f"PERMANENTFLAGS ({permanent})"))
    out.append(responses.exists(view.exists))
    if not session.rev2:
        out.append(responses.recent(len(view.recent)))
        # Counters that count exactly the view's entries answer UNSEEN without a
        # look at them (MailboxView.agrees_with): those read above when the entries
        # are at their mod-sequence, else a second read, after the view.
        if view.entries_modseq != mailbox.highest_modseq:
            status = await session.mailboxes.status(mailbox)
        unseen = view.first_unseen(status)
        if unseen is not None:
            out.append(writer.untagged_status("OK", "First unseen", f"UNSEEN {unseen}"))
    out.append(writer.untagged_status("OK", "UIDs valid", f"UIDVALIDITY {view.uid_validity}"))
    out.append(writer.untagged_status("OK", "Predicted next UID", f"UIDNEXT {view.uid_next}"))
    out.append(writer.untagged_status("OK", "Highest", f"HIGHESTMODSEQ {view.modseq}"))
    out.append(writer.untagged_status("OK", "Ok", f"MAILBOXID ({mailbox_id(mailbox)})"))  # RFC 8474 §4.1
    if session.rev2:
        out.append(await _list_line(session, mailbox.name))
    view.condstore, view.qresync = session.condstore, session.qresync
    session.selected = view
    session.state = State.SELECTED
    await session.write(b"".join(out))
    if args.qresync is not None and args.qresync.uid_validity == view.uid_validity:
        await session.write(await resync(session.mailboxes, view, args.qresync))
    return Done(f"{cmd.name} completed", "READ-ONLY" if readonly else "READ-WRITE")


async def _list_line(session: ImapSession, name: str) -> bytes:
    assert session.account is not None
    folder = await session.mailboxes.folder(session.account.id, name)
    if folder is None:
        return responses.list_([], DELIMITER, name, utf8=session.utf8)
    attrs = ["\\HasChildren" if folder.has_children else "\\HasNoChildren"]
    if folder.mailbox is not None and folder.mailbox.special_use:
        attrs.append(folder.mailbox.special_use)
    return responses.list_(attrs, DELIMITER, name, utf8=session.utf8)


async def close(session: ImapSession, cmd: Command) -> Done | None:
    """RFC 9051 §6.4.1: expunge \\Deleted silently (when writable), then deselect."""
    view = session.selected
    assert view is not None
    if not view.readonly:
        await session.refresh()
        deleted = [e.uid for e in (*view.entries, *view.pending_new) if "\\Deleted" in e.flags]
        if deleted:
            await session.mailboxes.expunge(view.mailbox_id, deleted)
    session.deselect()
    return None


async def unselect(session: ImapSession, cmd: Command) -> Done | None:
    session.deselect()
    return None
