"""SEARCH / UID SEARCH (RFC 9051 §6.4.4, ESEARCH RFC 4731, SEARCHRES RFC 5182),
SORT / UID SORT (RFC 5256, SORT=DISPLAY RFC 5957, ESORT RFC 5267), the PARTIAL
result option of both (RFC 9394), and THREAD / UID THREAD (RFC 5256).

The keys are translated into the mailbox service's query model
(``imap.search``, ``imap.sort``) and evaluated by ``mailbox.search`` and
``mailbox.sort``, threads by ``mailbox.thread`` (also THREAD=REFS) (imported when first used);
this module formats the results.  IMAP4rev2 clients always get ESEARCH
(RFC 9051 §6.4.4: a plain SEARCH is ``RETURN (ALL)`` there).
``RETURN (SAVE)`` keeps the result as ``$`` (RFC 5182 §2.1: the MIN/MAX
message when only those are asked, else every match; with SAVE alone no
ESEARCH response is sent).  A MODSEQ key makes SEARCH a CONDSTORE enabling
command and adds the highest mod-sequence of the matches to the result
(RFC 7162 §3.1.5: ``* SEARCH 2 5 (MODSEQ 917)``, ESEARCH ``MODSEQ 917``).

``RETURN (UPDATE)`` (CONTEXT=SEARCH and CONTEXT=SORT, RFC 5267 §4.3) keeps a
SEARCH's or SORT's results up to date (``imap.contexts``); CANCELUPDATE ends
that (§4.3.5). ``RETURN (CONTEXT)`` is a hint (§4.2), taken and ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from postbus.imap import contexts
from postbus.imap.outcome import Done
from postbus.imap.proto import (
    CancelUpdateArgs,
    Command,
    ImapBad,
    ImapNo,
    SearchAnd,
    SearchArgs,
    SearchKey,
    SearchModSeq,
    SearchNot,
    SearchOr,
    SortArgs,
    ThreadArgs,
    responses,
)
from postbus.imap.proto.limits import MAX_SEARCH_CONTEXTS
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


def _uses_modseq(key: SearchKey) -> bool:
    if isinstance(key, SearchModSeq):
        return True
    if isinstance(key, SearchAnd):
        return any(_uses_modseq(k) for k in key.keys)
    if isinstance(key, SearchOr):
        return _uses_modseq(key.left) or _uses_modseq(key.right)
    if isinstance(key, SearchNot):
        return _uses_modseq(key.key)
    return False


def _highest_modseq(view: SelectedMailbox, uids: list[int]) -> int | None:
    """RFC 7162 §3.1.5: the highest mod-sequence of the matches (None when none)."""
    found = [view.entries[i].modseq for u in uids if (i := view.index_of(u)) is not None]
    return max(found, default=None)


def _esearch_modseq(view: SelectedMailbox, uids: list[int], options: set[str]) -> int | None:
    # RFC 7162 §3.1.5 (RFC 4731): the highest mod-sequence of the messages returned;
    # with only MIN and/or MAX, those are the messages returned.
    if uids and options <= {"MIN", "MAX"}:
        uids = [uids[0]] * ("MIN" in options) + [uids[-1]] * ("MAX" in options)
    return _highest_modseq(view, uids)


async def search(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, SearchArgs)
    view = session.selected
    assert view is not None
    update = _wants_update(view, cmd, args.returns)
    modseq_key = _uses_modseq(args.key)
    if modseq_key:
        session.enable_condstore()
    await session.refresh()
    try:
        uids = await _matches(session, view, args.key)
    except Exception:
        if args.returns is not None and "SAVE" in args.returns:
            view.saved = []  # RFC 5182 §2.1: a failed SEARCH ... SAVE empties $
        raise
    modseq = _highest_modseq(view, uids) if modseq_key else None
    returns = args.returns
    if returns is None and session.rev2:
        returns = ()
    if returns is None:
        session.send(responses.search(uids if cmd.uid else view.numbers(uids), modseq))
        return None
    _extended(session, cmd, view, uids, _without_context(returns), args.partial,
              in_order=False, modseq_key=modseq_key)
    return _keep_context(session, cmd, view, args.key, uids, None) if update else None


def _wants_update(view: SelectedMailbox, cmd: Command, returns: tuple[str, ...] | None) -> bool:
    update = returns is not None and "UPDATE" in returns
    if update and cmd.tag in view.contexts:
        # RFC 5267 §4.3: a tag in use by an updating search SHALL get BAD.
        raise ImapBad("Tag reuse: a search with this tag is being updated")
    return update


def _without_context(returns: tuple[str, ...]) -> tuple[str, ...]:
    # RFC 5267 §4.1: UPDATE and CONTEXT change nothing returned now; alone they leave RETURN ().
    return tuple(r for r in returns if r not in ("UPDATE", "CONTEXT"))


def _keep_context(session: ImapSession, cmd: Command, view: SelectedMailbox, key: SearchKey,
                  uids: list[int], sort: object) -> Done:
    if len(view.contexts) >= MAX_SEARCH_CONTEXTS:
        # RFC 5267 §4.3.1: refused, the other return options honoured.
        session.send(b"* NO [NOUPDATE %s] Too many searches are being updated\r\n"
                     % responses.quoted(cmd.tag.encode("ascii")))
        return Done("Search completed, will not notify")
    contexts.keep(view, cmd.tag, key, cmd.uid, uids, sort)
    return Done("Search completed, will notify")


async def cancelupdate(session: ImapSession, cmd: Command) -> Done | None:
    """CANCELUPDATE "tag" ... (RFC 5267 §4.3.5): no more updates for those searches."""
    args = cmd.args
    assert isinstance(args, CancelUpdateArgs)
    view = session.selected
    assert view is not None
    unknown = [tag for tag in args.tags if view.contexts.pop(tag, None) is None]
    if unknown:
        raise ImapNo(f"No search is being updated for tag {unknown[0]}")
    return Done("Updates cancelled")


async def sort(session: ImapSession, cmd: Command) -> Done | None:
    from postbus.imap.sort import sort_keys

    args = cmd.args
    assert isinstance(args, SortArgs)
    view = session.selected
    assert view is not None
    update = _wants_update(view, cmd, args.returns)
    await session.refresh()
    keys = sort_keys(args.criteria)
    try:
        matches = await _matches(session, view, args.key)
        ordered = await session.mailboxes.sort(view.mailbox_id, matches, keys)
    except Exception:
        if args.returns is not None and "SAVE" in args.returns:
            view.saved = []  # RFC 5182 §2.4 with §2.1
        raise
    if args.returns is None:
        session.send(responses.sort(ordered if cmd.uid else view.numbers(ordered)))
        return None
    # RFC 5267 §3: ESORT answers with ESEARCH, its results in sort order.
    _extended(session, cmd, view, ordered, _without_context(args.returns), args.partial,
              in_order=True)
    return _keep_context(session, cmd, view, args.key, ordered, keys) if update else None


def _extended(session: ImapSession, cmd: Command, view: SelectedMailbox, uids: list[int],
              returns: tuple[str, ...], partial: tuple[int, int] | None, *, in_order: bool,
              modseq_key: bool = False) -> None:
    """The ESEARCH response for RETURN options (RFC 4731 §3.1, RFC 5267 §3.2, RFC 9394 §3.1)
    over `uids`, the matches in result order (ascending for SEARCH, sorted for SORT):
    MIN and MAX are the first and the last of that order, PARTIAL a slice of it."""
    options = set(returns) or {"ALL"}  # RFC 4731 §3.1: RETURN () is RETURN (ALL)
    window = _window(uids, partial) if partial is not None else None
    if "SAVE" in options:
        options.discard("SAVE")
        if window is not None:  # RFC 9394 §3.1: SAVE keeps what PARTIAL returned
            view.saved = sorted(window)
        elif options and options <= {"MIN", "MAX"}:
            kept = set()
            if uids and "MIN" in options:
                kept.add(uids[0])
            if uids and "MAX" in options:
                kept.add(uids[-1])
            view.saved = sorted(kept)
        else:
            view.saved = sorted(uids)
        if not options:
            return
    numbers = uids if cmd.uid else view.numbers(uids)
    session.send(responses.esearch(
        cmd.tag, cmd.uid,
        min=numbers[0] if "MIN" in options and numbers else None,
        max=numbers[-1] if "MAX" in options and numbers else None,
        count=len(numbers) if "COUNT" in options else None,
        all=numbers if "ALL" in options else None,
        partial=None if partial is None or window is None else (
            partial, window if cmd.uid else view.numbers(window)),
        in_order=in_order,
        modseq=_esearch_modseq(view, uids, options) if modseq_key else None,
    ))


def _window(uids: list[int], partial: tuple[int, int]) -> list[int]:
    """The results at the 1-based positions `partial` names; negative positions count
    from the last result (RFC 9394 §3.1: -1 is the last). The ends may come in either order."""
    lo, hi = sorted(abs(end) for end in partial)
    if partial[0] < 0:
        return uids[max(len(uids) - hi, 0):max(len(uids) - lo + 1, 0)]
    return uids[lo - 1:hi]


async def thread(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, ThreadArgs)
    view = session.selected
    assert view is not None
    await session.refresh()
    matches = await _matches(session, view, args.key)
    algorithm = cast("Algorithm", args.algorithm)  # the parser's THREAD_ALGORITHMS
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
