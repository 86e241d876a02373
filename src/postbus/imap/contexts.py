"""Searches kept up to date: CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4).

``SEARCH RETURN (UPDATE ...)`` leaves a context behind, keyed by the command's
tag (``SelectedMailbox.contexts``). Whenever the session announces changes to
the selected folder (``ImapSession.sync``: after a command, in IDLE, for
NOTIFY), each context whose folder changed is searched again and the
difference goes to the client as ``* ESEARCH (TAG "t") [UID] ADDTO (0 set)``
and ``REMOVEFROM (0 set)``: position 0, the results of a SEARCH being in
mailbox order (§4.3.3, §4.3.4). A SORT's context is kept in its order and
updated by position: ``REMOVEFROM (pos n ...)`` then ``ADDTO (pos n ...)``,
each pair applied in turn (§4.3.2). Those lines follow the ``EXISTS`` they depend
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
from postbus.imap.selected import SearchContext, SelectedMailbox, addition_pairs, removal_pairs

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

log = logging.getLogger(__name__)


async def _search(session: ImapSession, view: SelectedMailbox, key: SearchKey) -> list[int]:
    from postbus.imap.search import criterion

    return await session.mailboxes.search(
        view.mailbox_id, view.entries,
        criterion(key, view.entries, saved=view.saved), recent=view.recent,
    )


def keep(view: SelectedMailbox, tag: str, key: SearchKey, uid: bool, uids: list[int],
         sort: object = None) -> None:
    """Remember a search's results for updates; with `sort` (the sort keys), a
    SORT's results in their order (CONTEXT=SORT)."""
    view.contexts[tag] = SearchContext(key, uid, set(uids),
                                       list(uids) if sort is not None else None, sort)


async def bring_up_to_date(session: ImapSession, view: SelectedMailbox) -> bytes:
    """ADDTO / REMOVEFROM for every context, when the folder changed since last time."""
    if not view.contexts or not view.changed:
        return b""
    view.changed = False
    out: list[bytes] = []
    for tag, context in list(view.contexts.items()):
        try:
            matches = await _search(session, view, context.key)
            if context.order is not None:
                matches = await session.mailboxes.sort(view.mailbox_id, matches,
                                                       context.sort)  # type: ignore[arg-type]
        except Overloaded:
            view.changed = True  # the next announcement tries again
            continue
        if view.contexts.get(tag) is not context:
            continue  # cancelled meanwhile
        found = set(matches)
        if context.order is not None:
            out += _sorted_updates(view, tag, context, matches, found)
            continue
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


def _sorted_updates(view: SelectedMailbox, tag: str, context: SearchContext,
                    ordered: list[int], found: set[int]) -> list[bytes]:
    """CONTEXT=SORT: positioned REMOVEFROM, then ADDTO, turning the client's list
    into `ordered` (the sort keys of a message never change, so the messages kept
    stay in their relative order)."""
    assert context.order is not None
    out = []
    removed = removal_pairs(context.order, context.uids - found)
    kept = [u for u in context.order if u in found]
    added = addition_pairs(ordered, set(kept))
    context.order, context.uids = list(ordered), found
    if removed:
        out.append(responses.esearch_positions(tag, context.uid, "REMOVEFROM",
                                               view._number_pairs(removed, context.uid)))
    if added:
        out.append(responses.esearch_positions(tag, context.uid, "ADDTO",
                                               view._number_pairs(added, context.uid)))
    return out
