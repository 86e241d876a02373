"""STORE and UID STORE (RFC 9051 §6.4.6, UNCHANGEDSINCE of RFC 7162 §3.1.3).

The flags are changed in one store call; unless ``.SILENT`` the new flags of
every message named are returned as FETCH responses (with the UID for UID
STORE, RFC 9051 §6.4.9).  ``\\Recent`` cannot be stored (RFC 3501 §2.3.2) and
is dropped.  Messages another session expunged are skipped and the reply
says ``OK [EXPUNGEISSUED]`` (RFC 5530); messages that fail UNCHANGEDSINCE are
listed in ``OK [MODIFIED set]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import Command, ImapNo, StoreArgs, format_set
from postbus.store.model import MessageEntry

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


def _update(mode: str, flags: frozenset[str]) -> Callable[[frozenset[str]], frozenset[str]]:
    """The parser's mode as the store's flag update."""
    if mode == "replace":
        return lambda current: flags
    if mode == "add":
        return lambda current: current | flags
    return lambda current: current - flags


async def store(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, StoreArgs)
    view = session.selected
    assert view is not None
    if view.readonly:
        raise ImapNo("The mailbox is read-only (EXAMINE)", "CANNOT")
    await session.refresh()
    targets = view.resolve(args.seqset, cmd.uid)
    live = view.live(targets)
    flags = [f for f in args.flags if f != "\\Recent"]
    changed: list[MessageEntry] = []
    failed: list[int] = []
    if live:
        changed, failed = await session.store.store_flags(
            view.mailbox_id, [e.uid for _, e in live], _update(args.mode, frozenset(flags)),
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
    if failed:
        numbers = failed if cmd.uid else [seq for seq, e in live if e.uid in refused]
        return Done("Conditional STORE failed", f"MODIFIED {format_set(numbers)}")
    if len(live) < len(targets):
        return Done("Some messages were already expunged", "EXPUNGEISSUED")
    return None
