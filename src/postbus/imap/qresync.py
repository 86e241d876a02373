"""QRESYNC resynchronisation (RFC 7162 §3.2.5, §3.2.6): what a client missed.

A client that comes back with ``SELECT box (QRESYNC (uidvalidity modseq
[known-uids [seq-match-data]]))`` is told, after the usual SELECT responses:

* ``* VANISHED (EARLIER) uids``: the messages expunged since `modseq`, from the
  store's expunge records (kept per folder with their mod-sequence, in the
  database, so they answer the same after a restart and on both backends);
* ``* n FETCH (UID u FLAGS (...) MODSEQ (m))`` for each message of the view
  changed since `modseq`.

Both are limited to `known-uids` when the client sends them (``1:*`` when
not), as Dovecot does: messages the client never knew it learns from EXISTS
and UIDNEXT.  The store never trims its expunge records, so the answer is
exact and the seq-match-data, which only helps a server that lost part of
that history (§3.2.5.2), is accepted and not needed.

``UID FETCH set (...) (CHANGEDSINCE m VANISHED)`` (§3.2.6) sends the same
``VANISHED (EARLIER)`` for the UIDs of `set` before its FETCH responses.

UIDs the view still numbers (expunged since the view was read) are left out
of ``VANISHED (EARLIER)``: the client hears of them with a plain ``VANISHED``
when the session may change its numbering (RFC 7162 §3.2.10).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from postbus.imap.proto import QResync, SequenceSet, responses
from postbus.imap.selected import SelectedMailbox
from postbus.mailbox.service import Mailboxes


class _UidRanges:
    """A UID set (``*`` = the highest UID the folder gave) for membership tests
    in O(log ranges): known-uids may hold thousands of ranges."""

    def __init__(self, uids: SequenceSet | None, highest: int) -> None:
        self._all = uids is None
        ranges = [] if uids is None else uids.resolve(max(highest, 1))
        self._starts = [lo for lo, _ in ranges]
        self._ends = [hi for _, hi in ranges]

    def __contains__(self, uid: int) -> bool:
        if self._all:
            return True
        i = bisect_right(self._starts, uid) - 1
        return i >= 0 and uid <= self._ends[i]


def _vanished(expunged: Iterable[int], view: SelectedMailbox, within: _UidRanges) -> bytes:
    gone = [u for u in expunged if u in within and view.index_of(u) is None]
    return responses.vanished(gone, earlier=True) if gone else b""


async def resync(mailboxes: Mailboxes, view: SelectedMailbox, args: QResync) -> bytes:
    """The VANISHED (EARLIER) and FETCH responses of SELECT (QRESYNC ...); the
    caller has checked that the client's UIDVALIDITY is the folder's."""
    within = _UidRanges(args.known_uids, view.uid_next - 1)
    changes = await mailboxes.changes_since(view.mailbox_id, args.modseq)
    out = [_vanished(changes.expunged, view, within)]
    for entry in view.entries:
        if entry.modseq > args.modseq and entry.uid in within:
            out.append(view.flag_update(entry, uid=True))
    return b"".join(out)


async def vanished_earlier(mailboxes: Mailboxes, view: SelectedMailbox, uids: SequenceSet,
                           changed_since: int) -> bytes:
    """``* VANISHED (EARLIER)`` for the UIDs of `uids` expunged after `changed_since`."""
    changes = await mailboxes.changes_since(view.mailbox_id, changed_since)
    return _vanished(changes.expunged, view, _UidRanges(uids, view.uid_next - 1))
