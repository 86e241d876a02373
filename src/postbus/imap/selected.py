"""The selected mailbox as this IMAP session's client knows it.

Change tracking (the entries the client knows, what other sessions changed)
is the mailbox service's :class:`~postbus.mailbox.view.MailboxView`.  This
module adds what is IMAP's alone:

* sequence-set resolution: ``*`` and ``$`` (RFC 5182) against the announced view;
* :meth:`SelectedMailbox.announce`, which turns the recorded changes into
  ``* n EXPUNGE``, ``* n EXISTS`` / ``RECENT`` and ``* n FETCH (FLAGS ...)``
  lines, and only then changes the numbering.

Invariants:

* Expunges are held back while the command in progress forbids them
  (non-UID FETCH, STORE, SEARCH...; RFC 9051 §7.5.1 / RFC 3501 §7.4.1) and the
  message keeps its number; fetching it returns nothing (``OK [EXPUNGEISSUED]``).
* A message leaves the numbering only together with its ``* n EXPUNGE`` and
  joins it only together with the new ``* n EXISTS`` (RFC 9051 §7.4.1, §7.5.1).
* Searches kept up to date (``RETURN (UPDATE)``, RFC 5267 §4.3; see
  ``imap.contexts``) hear of an expunged match in a ``REMOVEFROM`` sent before
  its ``EXPUNGE``, while its sequence number is still valid (§4.3.4).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence, Set
from dataclasses import dataclass

from postbus.imap.proto import ImapBad, SearchKey, SequenceSet, responses
from postbus.mailbox.types import Mailbox, MessageEntry
from postbus.mailbox.view import SYSTEM_FLAGS, MailboxView, Target

_SYSTEM_ORDER = {flag: i for i, flag in enumerate((*SYSTEM_FLAGS, "\\Recent"))}
_RECENT = frozenset(("\\Recent",))


@dataclass(slots=True)
class SearchContext:
    """A SEARCH whose results the client asked to keep up to date (RFC 5267 §4.3)."""

    key: SearchKey  # evaluated again when the folder changes
    uid: bool  # UID SEARCH: updates carry UIDs, else sequence numbers
    uids: set[int]  # the results the client holds
    #: CONTEXT=SORT: the results in the requested order, and the sort keys; None
    #: for a SEARCH (whose results are in mailbox order, updated at position 0)
    order: list[int] | None = None
    sort: object = None


class SelectedMailbox(MailboxView):
    __slots__ = ("changed", "condstore", "contexts", "qresync", "saved")

    def __init__(self, mailbox: Mailbox, entries: Sequence[MessageEntry], readonly: bool
                 ) -> None:
        super().__init__(mailbox, entries, readonly)
        #: The SEARCHRES result ``$`` as UIDs (RFC 5182), None when never saved.
        self.saved: list[int] | None = None
        #: The session's CONDSTORE / QRESYNC state (set by ``ImapSession.enable_condstore``):
        #: flag updates carry UID and MODSEQ (RFC 7162 §3.1), expunges are VANISHED (§3.2.10).
        self.condstore = False
        self.qresync = False
        #: RFC 5267 §4.3: the updating searches by their command's tag.
        self.contexts: dict[str, SearchContext] = {}
        #: The entries changed since the contexts were last brought up to date.
        self.changed = False

    # -- sets --------------------------------------------------------------------------
    def resolve(self, seqset: SequenceSet, uid: bool) -> list[Target]:
        """``(sequence number, entry)`` pairs the set names, ascending.

        Sequence numbers above EXISTS are a BAD (RFC 9051 §9 ``seq-number``);
        ``*`` in an empty mailbox names nothing.  UIDs without a message are
        ignored, and ``n:*`` always includes the last message (RFC 9051 §6.4.9).
        """
        if seqset.saved:
            return self._resolve_saved()
        entries = self.entries
        if not uid:
            if seqset.exceeds(len(entries)):
                raise ImapBad("Invalid message sequence number (beyond EXISTS)")
            return [
                (seq, entries[seq - 1])
                for lo, hi in seqset.resolve(len(entries))
                for seq in range(lo, hi + 1)
            ]
        if not entries:
            return []
        out: list[Target] = []
        uids = entries.uids
        for lo, hi in seqset.resolve(uids[-1]):
            i = bisect_left(uids, lo)
            while i < len(uids) and uids[i] <= hi:
                out.append((i + 1, entries[i]))
                i += 1
        return out

    def _resolve_saved(self) -> list[Target]:
        # RFC 5182 §2.1: "$" is the saved result, messages since expunged drop out.
        if self.saved is None:
            return []
        out: list[Target] = []
        for uid in self.saved:
            i = self.index_of(uid)
            if i is not None:
                out.append((i + 1, self.entries[i]))
        return out

    # -- announcements ---------------------------------------------------------------
    def update(self, changed: Sequence[MessageEntry]) -> bytes:
        """Apply entries this session changed (STORE, FETCH setting \\Seen).

        Returns the FLAGS / PERMANENTFLAGS announcement when they carry keywords
        new to this mailbox (RFC 9051 §7.3.5), else nothing.
        """
        if changed:
            self.changed = True
        return self._flags_announcement() if self.apply(changed) else b""

    def keywords_announcement(self, targets: Sequence[Target]) -> bytes:
        """FLAGS / PERMANENTFLAGS when the flags of `targets` carry keywords the
        client has not been told of, else nothing: a FETCH must not show a keyword
        before FLAGS lists it (RFC 3501 §7.2.6), however it came (another session's
        STORE or APPEND, recorded by the last refresh)."""
        if not self.new_keywords(e for _, e in targets):
            return b""
        return self._flags_announcement()

    def remove(self, uids: Sequence[int]) -> bytes:
        """Drop messages this session expunged (and any others known gone);
        returns their ``* n EXPUNGE`` lines."""
        return self._expunge_lines(set(uids) | self.pending_expunge)

    def announce(self, *, expunge: bool, rev1: bool, uid: bool) -> bytes:
        """Untagged responses for what :meth:`refresh` recorded.

        ``expunge`` False holds expunges back (the command in progress uses
        sequence numbers); ``rev1`` adds ``* n RECENT``; ``uid`` puts the UID in
        flag updates (RFC 9051 §6.4.9: responses to UID commands carry UIDs;
        sent always, which every client accepts).
        """
        out: list[bytes] = []
        if expunge and self.pending_expunge:
            out.append(self._expunge_lines(self.pending_expunge))
        new, keywords = self.take_new()
        if new:
            self.changed = True
            if keywords:
                out.append(self._flags_announcement())
            out.append(responses.exists(len(self.entries)))
            if rev1:
                out.append(responses.recent(len(self.recent)))
        changed, keywords = self.take_flag_changes()
        if changed:
            self.changed = True
        if keywords:
            out.append(self._flags_announcement())
        for seq, entry in changed:
            out.append(_flag_fetch(seq, entry, uid=uid or self.condstore,
                                   recent=entry.uid in self.recent, modseq=self.condstore))
        return b"".join(out)

    def flag_update(self, entry: MessageEntry, *, uid: bool) -> bytes:
        """``* n FETCH (UID u FLAGS (...))`` for an entry of the view."""
        i = self.index_of(entry.uid)
        assert i is not None
        return _flag_fetch(i + 1, entry, uid=uid or self.condstore,
                           recent=entry.uid in self.recent, modseq=self.condstore)

    def _flags_announcement(self) -> bytes:
        # RFC 9051 §7.3.5: a changed set of flags is announced with FLAGS.
        flags = self.flags()
        perm = b"* OK [PERMANENTFLAGS (%s \\*)] Flags permitted\r\n" % " ".join(flags).encode()
        return responses.flags(flags) + (b"" if self.readonly else perm)

    def _expunge_lines(self, gone: Set[int]) -> bytes:
        removed = self._context_removals(gone)
        if self.qresync:  # RFC 7162 §3.2.10: VANISHED replaces EXPUNGE once QRESYNC is on
            present = [u for u in gone if self.index_of(u) is not None]
            self.expunge(gone)
            return removed + (responses.vanished(present) if present else b"")
        # Highest first: each number is then valid when the client reads it.
        return removed + b"".join(responses.expunge(seq) for seq in reversed(self.expunge(gone)))

    def _context_removals(self, gone: Set[int]) -> bytes:
        """RFC 5267 §4.3.4: REMOVEFROM for the expunged matches of each updating
        search, sent before the expunges while their numbers are still valid."""
        if gone:
            self.changed = True
        out = []
        for tag, context in self.contexts.items():
            if context.order is not None:
                leaving_pairs = removal_pairs(context.order, gone & context.uids)
                context.order = [u for u in context.order if u not in gone]
                context.uids.difference_update(gone)
                if leaving_pairs:
                    out.append(responses.esearch_positions(
                        tag, context.uid, "REMOVEFROM", self._number_pairs(leaving_pairs, context.uid)))
                continue
            leaving = sorted(u for u in context.uids & gone if self.index_of(u) is not None)
            context.uids.difference_update(gone)
            if leaving:
                numbers = leaving if context.uid else self.numbers(leaving)
                out.append(responses.esearch_update(tag, context.uid, "REMOVEFROM", numbers))
        return b"".join(out)

    def _number_pairs(self, pairs: list[tuple[int, int]], uid: bool) -> list[tuple[int, int]]:
        """(position, UID) pairs with message numbers for UIDs when `uid` is False."""
        if uid:
            return pairs
        number = dict(zip([u for _, u in pairs], self.numbers([u for _, u in pairs]), strict=False))
        return [(p, number[u]) for p, u in pairs if u in number]

    def _expunged(self, gone: set[int]) -> None:
        if self.saved is not None:  # RFC 5182 §2.1: expunged messages leave $
            self.saved = [u for u in self.saved if u not in gone]


def removal_pairs(order: Sequence[int], leaving: Set[int]) -> list[tuple[int, int]]:
    """REMOVEFROM pairs (RFC 5267 §4.3.4) taking `leaving` out of the sorted list
    `order`: applied in turn, each position counts in the list the earlier
    pairs left."""
    pairs = []
    position = 1
    for uid in order:
        if uid in leaving:
            pairs.append((position, uid))  # the next one moves into this position
        else:
            position += 1
    return pairs


def addition_pairs(new_order: Sequence[int], known: set[int]) -> list[tuple[int, int]]:
    """ADDTO pairs (RFC 5267 §4.3.3) that turn the list of `known` UIDs (already
    in `new_order`'s relative order) into `new_order`: in increasing positions,
    so each lands where it belongs."""
    return [(position, uid) for position, uid in enumerate(new_order, 1) if uid not in known]


def _flag_fetch(seq: int, entry: MessageEntry, *, uid: bool, recent: bool,
                modseq: bool = False) -> bytes:
    # \Recent: in the flags of a message this session claimed (RFC 3501 §2.3.2).
    items = [b"FLAGS " + flag_list(entry.flags | _RECENT if recent else entry.flags)]
    if uid:
        items.insert(0, b"UID %d" % entry.uid)
    if modseq:
        items.append(b"MODSEQ (%d)" % entry.modseq)  # RFC 7162 §3.1.4.1
    return responses.fetch(seq, items)


def flag_list(flags: frozenset[str]) -> bytes:
    """``(\\Seen $Label)``: system flags in Dovecot's order, then keywords sorted
    (the order FETCH FLAGS uses too)."""
    ordered = sorted(flags, key=lambda f: (_SYSTEM_ORDER.get(f, len(_SYSTEM_ORDER)), f))
    return b"(%s)" % " ".join(ordered).encode("utf-8", "replace")


__all__ = ["SYSTEM_FLAGS", "SearchContext", "SelectedMailbox", "Target", "flag_list"]
