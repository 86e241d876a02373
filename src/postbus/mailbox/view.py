"""The selected view of a folder: the messages a client knows, and what changed since.

A :class:`MailboxView` holds the entries the client was told about, in UID
order, so that the position ``i`` of an entry is the client's message number
``i + 1`` (IMAP's sequence number, the webmail's row).  What other sessions
(IMAP, POP3, delivery, webmail) change reaches it in two steps:

* :meth:`MailboxView.refresh` asks the store what changed since the last
  known mod-sequence and *records* it: UIDs now gone (``pending_expunge``),
  new messages (``pending_new``), flags changed (applied to the entries at
  once, their UIDs remembered in ``pending_flags`` to announce).
* The front end decides when the client may hear of them and then calls
  :meth:`take_new`, :meth:`take_flag_changes` and :meth:`expunge`, which
  change the numbering and return what to announce.

Invariants:

* The numbering of ``entries`` is the client's: a message leaves ``entries``
  only in :meth:`expunge` and joins only in :meth:`take_new`; a front end
  calls them exactly when it tells the client (IMAP: ``* n EXPUNGE`` and
  ``* n EXISTS`` at the points RFC 9051 §7.5.1 allows).
* The session's own changes need no bookkeeping: :meth:`refresh` compares
  the store's flags with the entries' and records only real differences.
* ``entries`` is a compact :class:`~postbus.mailbox.entrylist.EntryList` (UID,
  flag-set and mod-sequence arrays); opened through the entry cache it shares
  the cache's arrays until the view changes, so an idle view holds no
  per-message memory of its own (issue 11, ``bench/imap_idle_memory.py``).
* Nothing here knows a wire protocol: no IMAP bytes, no `imap` import.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence, Set
from typing import Self

from postbus.mailbox.entrylist import EntryList
from postbus.store.contract import Store
from postbus.store.model import Mailbox, MailboxStatus, MessageEntry

#: Flags every mailbox supports (RFC 9051 §2.3.2); keywords in use are added.
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")

SEEN = "\\Seen"

Target = tuple[int, MessageEntry]

#: What a view holds for each of its sets while it is empty (most of the time, for
#: an idle session): one shared object instead of a 216-byte empty set per view
#: and set (issue 11). A view never changes a set in place; it binds a new one.
_NONE: frozenset[int] = frozenset()
_NO_KEYWORDS: frozenset[str] = frozenset()


def _uid_key(entry: MessageEntry) -> int:
    return entry.uid


def keywords_of(flag_sets: Iterable[frozenset[str]]) -> set[str]:
    """The keywords (flags without a backslash, RFC 9051 §2.3.2) in `flag_sets`."""
    return {f for flags in flag_sets for f in flags if not f.startswith("\\")}


class MailboxView:
    """One client's view of one folder; see the module docstring."""

    __slots__ = (
        "_recent_ranges", "entries", "entries_modseq", "keywords", "mailbox_id", "modseq",
        "name", "pending_expunge", "pending_flags", "pending_new", "readonly", "recent",
        "tracks_recent", "uid_next", "uid_validity",
    )

    def __init__(self, mailbox: Mailbox, entries: Sequence[MessageEntry], readonly: bool
                 ) -> None:
        """An :class:`EntryList` is taken as it is (the caller's own, `mailbox.entries`);
        other entries are copied into one."""
        self.mailbox_id = mailbox.id
        self.name = mailbox.name
        self.uid_validity = mailbox.uid_validity
        self.readonly = readonly
        self.entries = entries if isinstance(entries, EntryList) else EntryList(entries)
        #: The mod-sequence `entries` were exactly at when the view was opened, when
        #: known (`Mailboxes.open_view`): counters read at that mod-sequence count
        #: exactly these entries.
        self.entries_modseq: int | None = None
        # The mailbox was read before the messages: changes in between are
        # seen again by the first refresh, which compares and drops them.
        self.modseq = mailbox.highest_modseq
        last = self.entries.uid(-1) if self.entries else 0
        self.uid_next = max(mailbox.uid_next, last + 1)
        # Computed from the distinct flag sets: linear in those, not in the folder.
        self.keywords: Set[str] = keywords_of(self.entries.table.sets) or _NO_KEYWORDS
        self.pending_expunge: Set[int] = _NONE
        self.pending_new: list[MessageEntry] = []
        self.pending_flags: Set[int] = _NONE
        #: The messages of the view that are \Recent in this session (IMAP4rev1,
        #: RFC 3501 §2.3.2): those in a range of UIDs it claimed from the store
        #: (`claim_recent`), once it numbers them. Empty unless `tracks_recent`.
        self.recent: Set[int] = _NONE
        self.tracks_recent = False
        self._recent_ranges: list[tuple[int, int]] = []

    @classmethod
    async def open(cls, store: Store, mailbox: Mailbox, readonly: bool) -> Self:
        return cls(mailbox, await store.list_messages(mailbox.id), readonly)

    # -- \Recent (RFC 3501 §2.3.2) -------------------------------------------------
    async def claim_recent(self, store: Store) -> None:
        """Take the folder's unclaimed new messages as this view's \\Recent ones.

        A writable view claims them (the store moves the folder's boundary, so no
        other session gets them); a read-only one (EXAMINE) only looks, and leaves
        them \\Recent for the next session (RFC 3501 §6.3.2).
        """
        low, high = await store.claim_recent(self.mailbox_id, claim=not self.readonly)
        if high > low:
            self._recent_ranges.append((low, high))
            uids = self.entries.uids
            claimed = uids[bisect_right(uids, low):bisect_right(uids, high)]
            if claimed:
                self.recent = {*self.recent, *claimed}

    def is_recent(self, uid: int) -> bool:
        return any(low < uid <= high for low, high in self._recent_ranges)

    def _claimed_upto(self) -> int:
        return max((high for _, high in self._recent_ranges), default=0)

    # -- lookups ---------------------------------------------------------------------
    @property
    def exists(self) -> int:
        return len(self.entries)

    def index_of(self, uid: int) -> int | None:
        """The 0-based index of ``uid`` in the view, or None."""
        return self.entries.index_of(uid)

    def numbers(self, uids: Sequence[int]) -> list[int]:
        """The 1-based message numbers of `uids`, in the order given; UIDs not in the
        view are left out. Linear in the view when the UIDs are many."""
        if len(uids) < 64:
            return [i + 1 for u in uids if (i := self.index_of(u)) is not None]
        listed = self.entries.uids  # ascending
        count = len(listed)
        if count and listed[-1] - listed[0] + 1 == count:
            # No gaps (a folder nothing was expunged from): a number is an offset.
            before, last = listed[0] - 1, listed[-1]
            return [u - before for u in uids if before < u <= last]
        number = dict(zip(listed, range(1, count + 1), strict=True))
        return [n for n in map(number.get, uids) if n is not None]

    def flags(self) -> list[str]:
        """Every flag the folder knows: system flags, then the keywords in use, sorted."""
        return [*SYSTEM_FLAGS, *sorted(self.keywords)]

    def agrees_with(self, status: MailboxStatus) -> bool:
        """Whether the store's counters, read after the view was loaded, count exactly
        the view's messages: the folder's mod-sequence has not moved since the view
        was taken (every change takes a new one), and nothing is pending."""
        return (status.mailbox.id == self.mailbox_id
                and status.mailbox.highest_modseq == self.modseq
                and status.messages == len(self.entries)
                and not (self.pending_new or self.pending_expunge or self.pending_flags))

    def first_unseen(self, status: MailboxStatus | None = None) -> int | None:
        """The message number of the first message without \\Seen, or None.

        With counters that agree with the view (`agrees_with`) and count no
        unseen message, the answer is known without looking at the entries.
        """
        if status is not None and status.unseen == 0 and self.agrees_with(status):
            return None
        i = self.entries.first_where(lambda flags: SEEN not in flags)
        return None if i is None else i + 1

    def live(self, targets: Sequence[Target]) -> list[Target]:
        """``targets`` without the messages known to be expunged."""
        if not self.pending_expunge:
            return list(targets)
        return [t for t in targets if t[1].uid not in self.pending_expunge]

    # -- the session's own changes -------------------------------------------------------
    def apply(self, changed: Sequence[MessageEntry]) -> set[str]:
        """Apply entries this session changed (flags set by STORE or FETCH).

        Returns the keywords new to the folder (already added to ``keywords``);
        a front end announces them (IMAP: FLAGS, RFC 9051 §7.3.5).
        """
        for entry in changed:
            i = self.index_of(entry.uid)
            if i is not None:
                self.entries[i] = entry
        new = keywords_of(e.flags for e in changed) - self.keywords
        self.keywords |= new
        return new

    def new_keywords(self, entries: Iterable[MessageEntry]) -> set[str]:
        """The keywords of `entries` the client has not been told of (now added to
        ``keywords``): a front end announces them before it shows these entries'
        flags (IMAP: FLAGS before FETCH, RFC 3501 §7.2.6)."""
        new = keywords_of(e.flags for e in entries) - self.keywords
        self.keywords |= new
        return new

    # -- other sessions' changes -------------------------------------------------------
    async def refresh(self, store: Store) -> None:
        """Record what changed in the store since the last refresh (see the module doc)."""
        changes = await store.changes_since(self.mailbox_id, self.modseq)
        self.modseq = changes.highest_modseq
        gone = set(changes.expunged)
        known_gone = {u for u in gone if self.index_of(u) is not None}
        if known_gone:
            self.pending_expunge = self.pending_expunge | known_gone
        if self.pending_new and gone:  # arrived and left before the client heard of it
            self.pending_new = [e for e in self.pending_new if e.uid not in gone]
        last = self.entries.uid(-1) if self.entries else 0
        known_new = {e.uid: n for n, e in enumerate(self.pending_new)}
        flagged: list[int] = []
        for entry in changes.changed:
            if entry.uid > last:
                n = known_new.get(entry.uid)
                if n is None:
                    known_new[entry.uid] = len(self.pending_new)
                    self.pending_new.append(entry)
                else:
                    self.pending_new[n] = entry
                continue
            i = self.index_of(entry.uid)
            if i is None:
                continue  # expunged by this session already
            known = self.entries[i]
            if known.flags != entry.flags:
                flagged.append(entry.uid)
            if known != entry:  # a write copies arrays shared with the cache: only when needed
                self.entries[i] = entry
        if flagged:
            self.pending_flags = {*self.pending_flags, *flagged}
        self.pending_new.sort(key=_uid_key)
        if self.pending_new:
            self.uid_next = max(self.uid_next, self.pending_new[-1].uid + 1)
            # The session told of new messages first claims them (RFC 3501 §2.3.2):
            # it will announce them at its next chance (`take_new`).
            if self.tracks_recent and self.pending_new[-1].uid > self._claimed_upto():
                await self.claim_recent(store)

    def take_new(self) -> tuple[list[MessageEntry], set[str]]:
        """Number the recorded new messages (they join ``entries``, and ``recent``
        when this view claimed them).

        Returns them and the keywords they bring that are new to the folder
        (already added to ``keywords``). The front end must tell the client.
        """
        new = self.pending_new
        if not new:
            return [], set()
        self.pending_new = []
        self.entries.extend(new)
        if self._recent_ranges:
            claimed = [e.uid for e in new if self.is_recent(e.uid)]
            if claimed:
                self.recent = {*self.recent, *claimed}
        keywords = keywords_of(e.flags for e in new) - self.keywords
        self.keywords |= keywords
        return new, keywords

    def take_flag_changes(self) -> tuple[list[Target], set[str]]:
        """The recorded flag changes as ``(message number, entry)``, ascending, and the
        keywords new to the folder among them (already added to ``keywords``)."""
        if not self.pending_flags:
            return [], set()
        updates = sorted(self.pending_flags)
        self.pending_flags = _NONE
        changed = [(i + 1, self.entries[i]) for u in updates
                   if (i := self.index_of(u)) is not None]
        keywords = keywords_of(e.flags for _, e in changed) - self.keywords
        self.keywords |= keywords
        return changed, keywords

    def expunge(self, gone: Iterable[int]) -> list[int]:
        """Remove the messages `gone` (UIDs) from the numbering.

        Returns the message numbers they had, ascending, counted before the
        removal; the front end announces them (IMAP: highest first).
        """
        gone = set(gone)
        seqs = [i + 1 for i, u in enumerate(self.entries.uids) if u in gone]
        self.pending_expunge = (self.pending_expunge - gone) or _NONE
        if not seqs:
            return []
        self.entries.remove_uids(gone)
        self.pending_flags = (self.pending_flags - gone) or _NONE
        self.recent = (self.recent - gone) or _NONE
        self._expunged(gone)
        return seqs

    def _expunged(self, gone: set[int]) -> None:
        """Hook for a front end's own per-message state (IMAP's saved search result)."""


#: The store a view reads, re-exported for front ends' annotations (they never import the store).
__all__ = ["SEEN", "SYSTEM_FLAGS", "MailboxView", "Store", "Target", "keywords_of"]
