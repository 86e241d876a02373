"""The selected mailbox as this session's client knows it.

A :class:`SelectedMailbox` holds the messages the client was told about, in
UID order, so that sequence number ``n`` is ``entries[n - 1]``.  What other
sessions (IMAP, POP3, delivery, webmail) change reaches it in two steps:

* :meth:`refresh` asks the store what changed since the last known
  mod-sequence and *records* it: UIDs now gone (``pending_expunge``), new
  messages (``pending_new``), flags changed (applied to the entries at once,
  remembered in ``pending_flags`` to announce).
* :meth:`announce` turns what was recorded into untagged responses and only
  then changes the sequence numbering.

Invariants:

* The sequence numbers of ``entries`` are the client's: a message leaves
  ``entries`` only in the step that sends its ``* n EXPUNGE``, and joins only
  in the step that sends the new ``* n EXISTS`` (RFC 9051 §7.4.1, §7.5.1).
  Expunges are held back while the command in progress forbids them (non-UID
  FETCH, STORE, SEARCH...; RFC 9051 §7.5.1 / RFC 3501 §7.4.1) and the message
  keeps its number; fetching it returns nothing (``OK [EXPUNGEISSUED]``).
* The session's own changes need no bookkeeping: :meth:`refresh` compares
  the store's flags with the entries' and announces only real differences.
* ``*`` and ``$`` are resolved here, against the announced view.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from postbus.imap.proto import ImapBad, SequenceSet, responses
from postbus.store import Store
from postbus.store.model import Mailbox, MessageEntry

#: Flags every mailbox supports (RFC 9051 §2.3.2); keywords in use are added.
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_SYSTEM_ORDER = {flag: i for i, flag in enumerate(SYSTEM_FLAGS)}

Target = tuple[int, MessageEntry]


def _uid_key(entry: MessageEntry) -> int:
    return entry.uid


class SelectedMailbox:
    __slots__ = (
        "_flagsets", "entries", "keywords", "mailbox_id", "modseq", "name", "pending_expunge",
        "pending_flags", "pending_new", "readonly", "recent", "saved", "uid_next",
        "uid_validity",
    )

    def __init__(self, mailbox: Mailbox, entries: list[MessageEntry], readonly: bool) -> None:
        self.mailbox_id = mailbox.id
        self.name = mailbox.name
        self.uid_validity = mailbox.uid_validity
        self.readonly = readonly
        self._flagsets: dict[frozenset[str], frozenset[str]] = {}
        self.entries = self._intern(entries)
        # The mailbox was read before the messages: changes in between are
        # seen again by the first refresh, which compares and drops them.
        self.modseq = mailbox.highest_modseq
        last = entries[-1].uid if entries else 0
        self.uid_next = max(mailbox.uid_next, last + 1)
        self.keywords = _keywords(entries)
        self.pending_expunge: set[int] = set()
        self.pending_new: list[MessageEntry] = []
        self.pending_flags: set[int] = set()
        #: UIDs that arrived while this session had the mailbox selected: the
        #: session-local \Recent of IMAP4rev1 (RFC 3501 §2.3.2).
        self.recent: set[int] = set()
        #: The SEARCHRES result ``$`` as UIDs (RFC 5182), None when never saved.
        self.saved: list[int] | None = None

    @classmethod
    async def open(cls, store: Store, mailbox: Mailbox, readonly: bool) -> SelectedMailbox:
        return cls(mailbox, await store.list_messages(mailbox.id), readonly)

    def _intern(self, entries: Sequence[MessageEntry]) -> list[MessageEntry]:
        """The entries sharing one frozenset per distinct set of flags.

        The store hands out a new set per message (about 200 bytes even when
        empty); a mailbox has few distinct combinations, so a selected view of
        50,000 messages shrinks from ~14 MB to ~3.5 MB.
        """
        sets = self._flagsets
        out: list[MessageEntry] = []
        for entry in entries:
            flags = sets.setdefault(entry.flags, entry.flags)
            out.append(entry if flags is entry.flags else MessageEntry(entry.uid, flags, entry.modseq))
        return out

    # -- lookups ---------------------------------------------------------------------
    @property
    def exists(self) -> int:
        return len(self.entries)

    def index_of(self, uid: int) -> int | None:
        """The 0-based index of ``uid`` in the view, or None."""
        i = bisect_left(self.entries, uid, key=_uid_key)
        if i < len(self.entries) and self.entries[i].uid == uid:
            return i
        return None

    def flags(self) -> list[str]:
        """The FLAGS of SELECT: system flags and the keywords in use."""
        return [*SYSTEM_FLAGS, *sorted(self.keywords)]

    def first_unseen(self) -> int | None:
        for seq, entry in enumerate(self.entries, 1):
            if "\\Seen" not in entry.flags:
                return seq
        return None

    def live(self, targets: Sequence[Target]) -> list[Target]:
        """``targets`` without the messages known to be expunged."""
        if not self.pending_expunge:
            return list(targets)
        return [t for t in targets if t[1].uid not in self.pending_expunge]

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
        for lo, hi in seqset.resolve(entries[-1].uid):
            i = bisect_left(entries, lo, key=_uid_key)
            while i < len(entries) and entries[i].uid <= hi:
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

    # -- own changes ---------------------------------------------------------------------
    def update(self, changed: Sequence[MessageEntry]) -> bytes:
        """Apply entries this session changed (STORE, FETCH setting \\Seen).

        Returns the FLAGS / PERMANENTFLAGS announcement when they carry keywords
        new to this mailbox (RFC 9051 §7.3.5), else nothing.
        """
        for entry in self._intern(changed):
            i = self.index_of(entry.uid)
            if i is not None:
                self.entries[i] = entry
        new_keywords = _keywords(changed) - self.keywords
        return self._new_keywords(new_keywords) if new_keywords else b""

    def remove(self, uids: Sequence[int]) -> bytes:
        """Drop messages this session expunged (and any others known gone);
        returns their ``* n EXPUNGE`` lines."""
        return self._expunge(set(uids) | self.pending_expunge)

    # -- other sessions' changes -------------------------------------------------------
    async def refresh(self, store: Store) -> None:
        """Record what changed in the store since the last refresh (see the module doc)."""
        changes = await store.changes_since(self.mailbox_id, self.modseq)
        self.modseq = changes.highest_modseq
        gone = set(changes.expunged)
        self.pending_expunge.update(u for u in gone if self.index_of(u) is not None)
        if self.pending_new and gone:  # arrived and left before the client heard of it
            self.pending_new = [e for e in self.pending_new if e.uid not in gone]
        last = self.entries[-1].uid if self.entries else 0
        known_new = {e.uid: n for n, e in enumerate(self.pending_new)}
        for entry in self._intern(changes.changed):
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
            if self.entries[i].flags != entry.flags:
                self.pending_flags.add(entry.uid)
            self.entries[i] = entry
        self.pending_new.sort(key=_uid_key)
        if self.pending_new:
            self.uid_next = max(self.uid_next, self.pending_new[-1].uid + 1)

    def announce(self, *, expunge: bool, rev1: bool, uid: bool) -> bytes:
        """Untagged responses for what :meth:`refresh` recorded.

        ``expunge`` False holds expunges back (the command in progress uses
        sequence numbers); ``rev1`` adds ``* n RECENT``; ``uid`` puts the UID in
        flag updates (RFC 9051 §6.4.9: responses to UID commands carry UIDs;
        sent always, which every client accepts).
        """
        out: list[bytes] = []
        if expunge and self.pending_expunge:
            out.append(self._expunge(self.pending_expunge))
        if self.pending_new:
            self.entries.extend(self.pending_new)
            self.recent.update(e.uid for e in self.pending_new)
            new_keywords = _keywords(self.pending_new) - self.keywords
            self.pending_new = []
            if new_keywords:
                out.append(self._new_keywords(new_keywords))
            out.append(responses.exists(len(self.entries)))
            if rev1:
                out.append(responses.recent(len(self.recent)))
        if self.pending_flags:
            updates = sorted(self.pending_flags)
            self.pending_flags = set()
            changed = [self.entries[i] for u in updates if (i := self.index_of(u)) is not None]
            new_keywords = _keywords(changed) - self.keywords
            if new_keywords:
                out.append(self._new_keywords(new_keywords))
            for entry in changed:
                out.append(self.flag_update(entry, uid=uid))
        return b"".join(out)

    def flag_update(self, entry: MessageEntry, *, uid: bool) -> bytes:
        """``* n FETCH (UID u FLAGS (...))`` for an entry of the view."""
        i = self.index_of(entry.uid)
        assert i is not None
        items = [b"FLAGS " + flag_list(entry.flags)]
        if uid:
            items.insert(0, b"UID %d" % entry.uid)
        return responses.fetch(i + 1, items)

    def _new_keywords(self, new: set[str]) -> bytes:
        # RFC 9051 §7.3.5: a changed set of flags is announced with FLAGS.
        self.keywords |= new
        flags = self.flags()
        perm = b"* OK [PERMANENTFLAGS (%s \\*)] Flags permitted\r\n" % " ".join(flags).encode()
        return responses.flags(flags) + (b"" if self.readonly else perm)

    def _expunge(self, gone: set[int]) -> bytes:
        seqs = [i + 1 for i, e in enumerate(self.entries) if e.uid in gone]
        if not seqs:
            self.pending_expunge -= gone
            return b""
        # Highest first: each number is then valid when the client reads it.
        out = b"".join(responses.expunge(seq) for seq in reversed(seqs))
        self.entries = [e for e in self.entries if e.uid not in gone]
        self.pending_expunge -= gone
        self.pending_flags -= gone
        self.recent -= gone
        if self.saved is not None:
            self.saved = [u for u in self.saved if u not in gone]
        return out


def _keywords(entries: Sequence[MessageEntry]) -> set[str]:
    return {f for e in entries for f in e.flags if not f.startswith("\\")}


def flag_list(flags: frozenset[str]) -> bytes:
    """``(\\Seen $Label)``: system flags in Dovecot's order, then keywords sorted
    (the order FETCH FLAGS uses too)."""
    ordered = sorted(flags, key=lambda f: (_SYSTEM_ORDER.get(f, len(_SYSTEM_ORDER)), f))
    return b"(%s)" % " ".join(ordered).encode("utf-8", "replace")
