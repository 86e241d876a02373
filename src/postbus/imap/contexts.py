"""Searches kept up to date: CONTEXT=SEARCH (RFC 5267 §4).

``SEARCH RETURN (UPDATE ...)`` leaves a context behind, keyed by the command's
tag (``SelectedMailbox.contexts``). Whenever the session announces changes to
the selected folder (``ImapSession.sync``: after a command, in IDLE, for
NOTIFY), each context whose folder changed is searched again and the
difference goes to the client as ``* ESEARCH (TAG "t") [UID] ADDTO (0 set)``
and ``REMOVEFROM (0 set)``: position 0, the results of a SEARCH being in
mailbox order (§4.3.3, §4.3.4). Those lines follow the ``EXISTS`` they depend
on; a match that is expunged is removed before its ``EXPUNGE``
(``SelectedMailbox._context_removals``). Contexts end with CANCELUPDATE
(§4.3.5) or when the folder is no longer selected.

Bounds: at most ``MAX_SEARCH_CONTEXTS`` per session (beyond, the UPDATE is
refused with ``NO [NOUPDATE "tag"]`` and the rest of the command honoured,
§4.3.1); each costs one search of the folder per announced change, run like
any SEARCH (off the event loop where the search is large).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from postbus.executor import Overloaded
from postbus.imap.proto import SearchKey, responses
from postbus.imap.selected import SearchContext, SelectedMailbox

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

log = logging.getLogger(__name__)


async def _search(session: ImapSession, view: SelectedMailbox, key: SearchKey) -> list[int]:
    from postbus.imap.search import criterion

    return await session.mailboxes.search(
        view.mailbox_id, view.entries,
        criterion(key, view.entries, saved=view.saved), recent=view.recent,
    )


def keep(view: SelectedMailbox, tag: str, key: SearchKey, uid: bool, uids: list[int]) -> None:
    """Remember a search's results for updates."""
    view.contexts[tag] = SearchContext(key, uid, set(uids))


async def bring_up_to_date(session: ImapSession, view: SelectedMailbox) -> bytes:
    """ADDTO / REMOVEFROM for every context, when the folder changed since last time."""
    if not view.contexts or not view.changed:
        return b""
    view.changed = False
    out: list[bytes] = []
    for tag, context in list(view.contexts.items()):
        try:
            found = set(await _search(session, view, context.key))
        except Overloaded:
            view.changed = True  # the next announcement tries again
            continue
        if view.contexts.get(tag) is not context:
            continue  # cancelled meanwhile
        removed = sorted(context.uids - found)
        added = sorted(found - context.uids)
        context.uids = found
        if removed:
            numbers = removed if context.uid else view.numbers(removed)
            out.append(responses.esearch_update(tag, context.uid, "REMOVEFROM", numbers))
        if added:
            numbers = added if context.uid else view.numbers(added)
            out.append(responses.esearch_update(tag, context.uid, "ADDTO", numbers))
    return b"".join(out)
