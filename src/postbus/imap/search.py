"""IMAP SEARCH keys (`imap.proto.search`) as the mailbox service's criteria (`mailbox.query`).

The service searches by UID; what is IMAP's alone is resolved here, against
the session's view:

* sequence sets: ``*`` is the last message (or UID), numbers beyond it name
  nothing (RFC 9051 §6.4.4 matches "messages with sequence numbers
  corresponding to the set"; a set above EXISTS is no error in SEARCH). A
  range of message numbers is the range of UIDs between its ends, since the
  view is in UID order;
* ``$`` is the saved result of RFC 5182 §2.1, whichever form it is used in;
* ``\\Recent`` (RECENT, NEW, OLD, KEYWORD \\Recent) is the session's own
  \\Recent, the service's `Recent` criterion.
"""

from __future__ import annotations

from collections.abc import Sequence

from postbus.imap.proto.search import (
    SearchAll,
    SearchAnd,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModSeq,
    SearchNot,
    SearchObjectId,
    SearchOr,
    SearchSeq,
    SearchSize,
    SearchString,
    SearchWithin,
)
from postbus.mailbox import query as q
from postbus.mailbox.types import MessageEntry

RECENT = "\\recent"

_ADDRESSES: dict[str, q.AddressField] = {"FROM": "from", "TO": "to", "CC": "cc", "BCC": "bcc"}


def criterion(
    key: SearchKey, entries: Sequence[MessageEntry], *, saved: Sequence[int] | None = None,
) -> q.Criterion:
    """The criterion `key` means in a view whose message ``n`` is ``entries[n - 1]``."""
    if isinstance(key, SearchAnd):
        return q.And(tuple(criterion(k, entries, saved=saved) for k in key.keys))
    if isinstance(key, SearchOr):
        return q.Or((criterion(key.left, entries, saved=saved),
                     criterion(key.right, entries, saved=saved)))
    if isinstance(key, SearchNot):
        return q.Not(criterion(key.key, entries, saved=saved))
    if isinstance(key, SearchAll):
        return q.All()
    if isinstance(key, SearchFlag):
        if key.flag.lower() == RECENT:
            return q.Recent(key.present)
        return q.Flag(key.flag, key.present)
    if isinstance(key, SearchSeq):
        return _uids(key, entries, saved)
    if isinstance(key, SearchModSeq):
        return q.ModSeq(key.modseq)
    if isinstance(key, SearchObjectId):
        return _object_id(key)
    if isinstance(key, SearchSize):
        return q.Larger(key.size) if key.op == "larger" else q.Smaller(key.size)
    if isinstance(key, SearchDate):
        return q.Date(key.op, key.date, sent=key.field == "sent", saved=key.field == "saved")
    if isinstance(key, SearchWithin):  # RFC 5032
        return q.Older(key.seconds) if key.op == "older" else q.Younger(key.seconds)
    if isinstance(key, SearchHeader):
        return q.Header(key.name, key.value)
    assert isinstance(key, SearchString)
    field = key.field
    if field == "SUBJECT":
        return q.Subject(key.value)
    if field == "BODY":
        return q.Body(key.value)
    if field == "TEXT":
        return q.Text(key.value)
    return q.Address(_ADDRESSES[field], key.value)


def _object_id(key: SearchObjectId) -> q.Criterion:
    # RFC 8474 §6: EMAILID is "M" and 24 hex digits of the body's SHA-256 (imap/fetch.py);
    # threads are not tracked (THREADID is NIL), so THREADID matches nothing.
    value = key.value
    if (key.field == "EMAILID" and len(value) == 25 and value[0] == "M"
            and all(ch in "0123456789abcdef" for ch in value[1:])):
        return q.BodyId(value[1:])
    return q.Uids(())


def _uids(key: SearchSeq, entries: Sequence[MessageEntry], saved: Sequence[int] | None) -> q.Uids:
    if key.seqset.saved:  # RFC 5182 §2.1: $ is the saved UIDs, in either form
        return q.Uids.of(list(saved or ()))
    if not entries:
        return q.Uids(())
    if key.uid:
        return q.Uids(tuple(key.seqset.resolve(entries[-1].uid)))
    return q.Uids(tuple((entries[lo - 1].uid, entries[hi - 1].uid)
                        for lo, hi in key.seqset.resolve(len(entries))))
