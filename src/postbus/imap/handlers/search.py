"""SEARCH / UID SEARCH (RFC 9051 §6.4.4, ESEARCH RFC 4731, SEARCHRES RFC 5182),
SORT / UID SORT (RFC 5256, SORT=DISPLAY RFC 5957) and THREAD / UID THREAD (RFC 5256).

The keys are translated into the mailbox service's query model
(``imap.search``, ``imap.sort``) and evaluated by ``mailbox.search`` and
``mailbox.sort``, threads by ``mailbox.thread`` (imported when first used); this module formats the results.  IMAP4rev2 clients always get
ESEARCH (RFC 9051 §6.4.4: a plain SEARCH is ``RETURN (ALL)`` there).
``RETURN (SAVE)`` keeps the result as ``$`` (RFC 5182 §2.1: the MIN/MAX
message when only those are asked, else every match; with SAVE alone no
ESEARCH response is sent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import (
    Command,
    ImapBad,
    SearchArgs,
    SearchKey,
    SortArgs,
    ThreadArgs,
    responses,
)
from postbus.imap.selected import SelectedMailbox

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession
    from postbus.mailbox.thread import Algorithm, Thread


async def _matches(session: ImapSession, view: SelectedMailbox, key: SearchKey) -> list[int]:
    """The UIDs of the view that match `key`, ascending."""
    from postbus.imap.search import criterion

    return await session.mailboxes.search(
        view.mailbox_id, view.entries,
        criterion(key, view.entries, saved=view.saved), recent=view.recent,
    )


async def search(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, SearchArgs)
    view = session.selected
    assert view is not None
    await session.refresh()
    try:
        uids = await _matches(session, view, args.key)
    except Exception:
        if args.returns is not None and "SAVE" in args.returns:
            view.saved = []  # RFC 5182 §2.1: a failed SEARCH ... SAVE empties $
        raise
    numbers = uids if cmd.uid else view.numbers(uids)
    returns = args.returns
    if returns is None and session.rev2:
        returns = ()
    if returns is None:
        session.send(responses.search(numbers))
        return None
    options = set(returns) or {"ALL"}  # RFC 4731 §3.1: RETURN () is RETURN (ALL)
    if "SAVE" in options:
        options.discard("SAVE")
        if options and options <= {"MIN", "MAX"}:
            kept = set()
            if uids and "MIN" in options:
                kept.add(uids[0])
            if uids and "MAX" in options:
                kept.add(uids[-1])
            view.saved = sorted(kept)
        else:
            view.saved = uids
        if not options:
            return None
    session.send(responses.esearch(
        cmd.tag, cmd.uid,
        min=numbers[0] if "MIN" in options and numbers else None,
        max=numbers[-1] if "MAX" in options and numbers else None,
        count=len(numbers) if "COUNT" in options else None,
        all=numbers if "ALL" in options else None,
    ))
    return None


async def sort(session: ImapSession, cmd: Command) -> Done | None:
    from postbus.imap.sort import sort_keys

    args = cmd.args
    assert isinstance(args, SortArgs)
    view = session.selected
    assert view is not None
    if args.returns is not None:
        raise ImapBad("ESORT is not supported")
    await session.refresh()
    matches = await _matches(session, view, args.key)
    ordered = await session.mailboxes.sort(view.mailbox_id, matches, sort_keys(args.criteria))
    session.send(responses.sort(ordered if cmd.uid else view.numbers(ordered)))
    return None


async def thread(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, ThreadArgs)
    view = session.selected
    assert view is not None
    await session.refresh()
    matches = await _matches(session, view, args.key)
    algorithm: Algorithm = "REFERENCES" if args.algorithm == "REFERENCES" else "ORDEREDSUBJECT"
    threads = await session.mailboxes.thread(view.mailbox_id, matches, algorithm)
    if cmd.uid:
        number = {uid: uid for uid in matches}
    else:
        number = dict(zip(matches, view.numbers(matches), strict=True))
    session.send(responses.thread(_nodes(threads, number)))
    return None


def _nodes(threads: list[Thread], number: dict[int, int]) -> list[responses.ThreadNode]:
    """The threads with message numbers for UIDs, as the response writer takes them
    (without recursion: see ``mailbox.thread``)."""
    out: list[responses.ThreadNode] = []
    stack: list[tuple[Thread, list[responses.ThreadNode]]] = [(t, out) for t in reversed(threads)]
    while stack:
        node, siblings = stack.pop()
        children: list[responses.ThreadNode] = []
        siblings.append((None if node.uid is None else number[node.uid], children))
        stack.extend((child, children) for child in reversed(node.children))
    return out
