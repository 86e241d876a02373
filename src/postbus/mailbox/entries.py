"""The entries of recently opened folders, kept in memory and shared by every view.

Opening a view needs every message's (uid, flags, modseq): reading them is
linear in the folder (120-240 ms at 50,000 messages on SQLite). Clients open
the same folders again and again (Thunderbird re-selects INBOX on each of its
connections), so the entries of a folder opened once are kept here and
brought up to date with `changes_since`, which costs what changed, not what
the folder holds. Dovecot's index files play this part.

Invariants:

- A cached list is the folder's state at `modseq`: applying `changes_since
  (modseq)` (expunged UIDs removed, changed entries replaced, new ones
  appended in UID order) gives the state at the new mod-sequence, because
  every change to a folder takes a new mod-sequence (store/contract.py).
- A cached folder is keyed by (mailbox id, UIDVALIDITY): a rename gives the
  folder a new UIDVALIDITY, and its entries are read afresh.
- A folder's entries are one compact :class:`EntryList` (``entrylist.py``:
  UID, flag-set number and mod-sequence arrays, ~14 bytes per message); a view
  gets a list that *shares* those arrays (`EntryList.share`), and whichever
  side changes first copies them, so views never see the cache's later
  changes and idle views cost no memory per message.
- At most `MAX_CACHED_ENTRIES` entries are kept over all folders; the least
  recently opened folders go first. A folder larger than that is not kept.
- One update of a folder at a time (a lock per folder), so two sessions
  opening it at once read its changes once.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from postbus.mailbox.entrylist import EntryList
from postbus.mailbox.limits import MAX_CACHED_ENTRIES
from postbus.store import Store
from postbus.store.model import Mailbox, MessageEntry


@dataclass(slots=True)
class Cached:
    uid_validity: int
    modseq: int
    entries: EntryList
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def apply(self, changed: tuple[MessageEntry, ...], expunged: tuple[int, ...]) -> None:
        entries = self.entries
        if expunged:
            entries.remove_uids(set(expunged))
        last = entries.uid(-1) if entries else 0
        for entry in changed:  # ascending UID
            if entry.uid > last:
                entries.append(entry)
                last = entry.uid
                continue
            i = entries.index_of(entry.uid)
            if i is not None:
                entries[i] = entry


class EntryCache:
    """See the module docstring."""

    def __init__(self, store: Store, max_entries: int = MAX_CACHED_ENTRIES) -> None:
        self._store = store
        self._max = max_entries
        self._folders: OrderedDict[int, Cached] = OrderedDict()
        self._total = 0

    async def entries(self, mailbox: Mailbox) -> tuple[EntryList, int | None]:
        """The folder's entries (a list of the caller's own, sharing the cache's arrays
        until either side changes), and the
        mod-sequence they are exactly at when that is known (None after a full
        read, which sees a moment between two mod-sequences). The entries are at
        least as new as `mailbox`, which the caller has just read from the store."""
        cached = self._folders.get(mailbox.id)
        if cached is not None and cached.uid_validity != mailbox.uid_validity:
            self._forget(mailbox.id)
            cached = None
        if cached is None:
            return await self._load(mailbox)
        async with cached.lock:
            # `mailbox` was just read: when its mod-sequence is the cache's, nothing
            # changed since, and there is nothing to ask the store.
            if mailbox.highest_modseq != cached.modseq:
                before = len(cached.entries)
                changes = await self._store.changes_since(mailbox.id, cached.modseq)
                cached.apply(changes.changed, changes.expunged)
                cached.modseq = changes.highest_modseq
                self._total += len(cached.entries) - before
        if self._folders.get(mailbox.id) is cached:
            self._folders.move_to_end(mailbox.id)
        self._evict()
        # No await since the update: the copy is the state at `cached.modseq`.
        return cached.entries.share(), cached.modseq

    async def _load(self, mailbox: Mailbox) -> tuple[EntryList, None]:
        # The folder row is read before the entries, so the entries are at least
        # as new as its mod-sequence: changes in between are read again, and
        # applying a change twice leaves the same state.
        row = await self._store.get_mailbox_by_id(mailbox.id)
        modseq = row.highest_modseq if row is not None else mailbox.highest_modseq
        entries = EntryList(await self._store.list_messages(mailbox.id))
        if len(entries) <= self._max and mailbox.id not in self._folders:
            uid_validity = row.uid_validity if row is not None else mailbox.uid_validity
            self._folders[mailbox.id] = Cached(uid_validity, modseq, entries)
            self._total += len(entries)
            self._evict()
            return entries.share(), None
        return entries, None

    def _forget(self, mailbox_id: int) -> None:
        cached = self._folders.pop(mailbox_id, None)
        if cached is not None:
            self._total -= len(cached.entries)

    def _evict(self) -> None:
        while self._total > self._max and self._folders:
            oldest = next(iter(self._folders))
            self._forget(oldest)

    @property
    def total(self) -> int:
        """Entries kept now, over all folders (for tests and metrics)."""
        return self._total
