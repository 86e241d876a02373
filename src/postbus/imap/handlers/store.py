"""STORE and UID STORE (RFC 9051 §6.4.6, UNCHANGEDSINCE of RFC 7162 §3.1.3).

The flags are changed in one call of the mailbox service, which owns the
update rule and drops ``\\Recent`` (RFC 3501 §2.3.2); unless ``.SILENT`` the
new flags of every message named are returned as FETCH responses (with the
UID for UID STORE, RFC 9051 §6.4.9).  Messages another session expunged are
skipped and the reply says ``OK [EXPUNGEISSUED]`` (RFC 5530); messages that fail UNCHANGEDSINCE are
listed in ``OK [MODIFIED set]``.  UNCHANGEDSINCE is a CONDSTORE enabling
command (RFC 7162 §3.1); once CONDSTORE is on, each FETCH response carries
MODSEQ, and even ``.SILENT`` reports the new mod-sequence of every message it
changed (§3.1.3: ``* 5 FETCH (MODSEQ (320162350))``), so the client's cache
stays exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import Command, ImapNo, StoreArgs, format_set, responses
from postbus.mailbox.flags import FlagMode

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

#: The parser's mode → the mailbox service's (the rule itself is `mailbox.flags`).
MODES: dict[str, FlagMode] = {"replace": "set", "add": "add", "remove": "remove"}


async def store(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, StoreArgs)
    view = session.selected
    assert view is not None
    if view.readonly:
        raise ImapNo("The mailbox is read-only (EXAMINE)", "CANNOT")
    if args.unchangedsince is not None:
        session.enable_condstore()
    await session.refresh()
    targets = view.resolve(args.seqset, cmd.uid)
    live = view.live(targets)
    changed, failed = await session.mailboxes.store_flags(
        view.mailbox_id, [e.uid for _, e in live], MODES[args.mode], args.flags,
        unchanged_since=args.unchangedsince,
    )
    announcement = view.update(changed)
    if announcement:
        session.send(announcement)
    refused = set(failed)
    if not args.silent:
        for seq, entry in live:
            if entry.uid not in refused:  # view.entries holds the new flags now
                await session.write(view.flag_update(view.entries[seq - 1], uid=cmd.uid))
    elif view.condstore:
        for entry in changed:
            i = view.index_of(entry.uid)
            if i is not None:
                uid = [b"UID %d" % entry.uid] if cmd.uid else []
                await session.write(responses.fetch(i + 1, [*uid, b"MODSEQ (%d)" % entry.modseq]))
    if failed:
        numbers = failed if cmd.uid else [seq for seq, e in live if e.uid in refused]
        return Done("Conditional STORE failed", f"MODIFIED {format_set(numbers)}")
    if len(live) < len(targets):
        return Done("Some messages were already expunged", "EXPUNGEISSUED")
    return None
