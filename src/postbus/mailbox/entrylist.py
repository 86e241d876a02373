"""A folder's entries held compactly: arrays of numbers, shared until written.

A selected view needs every message's (uid, flags, modseq).  As one
:class:`MessageEntry` object per message in a list, a 10,000-message folder
costs ~80 KB of list alone per view, and the objects ~70 bytes each; a
thousand idle sessions on one INBOX held 78 KiB each for it (issue 11,
``bench/imap_idle_memory.py``).  An :class:`EntryList` holds the same as:

- ``uids``: ``array('I')`` (IMAP UIDs are 32-bit, RFC 9051 §2.3.1.1), ascending;
- ``modseqs``: ``array('Q')`` (mod-sequences are 63-bit, RFC 7162 §3.1.1);
- ``flags``: an index per message into a :class:`FlagTable`, the folder's
  distinct flag sets (``array('H')``, widened to ``'I'`` past 65,535 sets),

14 bytes per message, and shares them: :meth:`share` hands out a second list
over the same arrays, and whichever side is written first copies them
(copy-on-write).  The entry cache (``entries.py``) keeps one list per folder
and every view opened on it shares its arrays until the view itself changes,
so an idle session holds no per-message memory of its own.

Invariants:

- A list never writes arrays it does not own (``_owned``): it copies first.
- A :class:`FlagTable` only grows, so an index, once given, names the same set
  for every list that shares the table; two lists of one folder share one
  table, and equal flag sets are one frozenset object (``table.sets[i]``).
- Items are made on demand: ``entries[i]`` is a new, equal
  :class:`MessageEntry` each time (compare entries with ``==``, not ``is``;
  their ``flags`` are the shared sets).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload

from postbus.store.model import MessageEntry


class FlagTable:
    """The distinct flag sets of a folder, each with a small number; append-only."""

    __slots__ = ("index", "sets")

    def __init__(self) -> None:
        self.sets: list[frozenset[str]] = []
        self.index: dict[frozenset[str], int] = {}

    def number(self, flags: frozenset[str]) -> int:
        n = self.index.get(flags)
        if n is None:
            n = self.index[flags] = len(self.sets)
            self.sets.append(flags)
        return n

    def canonical(self, flags: frozenset[str]) -> frozenset[str]:
        """The table's own set equal to `flags` (added when new)."""
        return self.sets[self.number(flags)]


class EntryList(Sequence[MessageEntry]):
    """See the module docstring."""

    __slots__ = ("_flags", "_modseqs", "_owned", "_uids", "table")

    def __init__(self, entries: Iterable[MessageEntry] = (), table: FlagTable | None = None
                 ) -> None:
        self.table = table if table is not None else FlagTable()
        self._uids = array("I")
        self._modseqs = array("Q")
        self._flags = array("H")
        self._owned = True
        self.extend(entries)

    # -- sharing -----------------------------------------------------------------------
    def share(self) -> EntryList:
        """A second list over the same arrays and table; the first write to either copies."""
        other = EntryList.__new__(EntryList)
        other.table = self.table
        other._uids, other._modseqs, other._flags = self._uids, self._modseqs, self._flags
        other._owned = self._owned = False
        return other

    def shares_with(self, other: EntryList) -> bool:
        """Whether both lists read the same arrays (for tests and metrics)."""
        return self._uids is other._uids

    def _own(self) -> None:
        if not self._owned:
            self._uids = array("I", self._uids)
            self._modseqs = array("Q", self._modseqs)
            self._flags = array(self._flags.typecode, self._flags)
            self._owned = True

    # -- reading -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._uids)

    @overload
    def __getitem__(self, i: int) -> MessageEntry: ...
    @overload
    def __getitem__(self, i: slice) -> list[MessageEntry]: ...
    def __getitem__(self, i: int | slice) -> MessageEntry | list[MessageEntry]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self._uids)))]
        return MessageEntry(self._uids[i], self.table.sets[self._flags[i]], self._modseqs[i])

    def __iter__(self) -> Iterator[MessageEntry]:
        sets = self.table.sets
        for uid, f, modseq in zip(self._uids, self._flags, self._modseqs, strict=True):
            yield MessageEntry(uid, sets[f], modseq)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EntryList):
            return (self._uids == other._uids and self._modseqs == other._modseqs
                    and list(map(self.table.sets.__getitem__, self._flags))
                    == list(map(other.table.sets.__getitem__, other._flags)))
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"EntryList({list(self)!r})"

    @property
    def uids(self) -> Sequence[int]:
        """The UIDs, ascending (the list's own array: read, never write)."""
        return self._uids

    def uid(self, i: int) -> int:
        return self._uids[i]

    def flags_at(self, i: int) -> frozenset[str]:
        return self.table.sets[self._flags[i]]

    def index_of(self, uid: int) -> int | None:
        """The 0-based position of `uid`, or None."""
        uids = self._uids
        i = bisect_left(uids, uid)
        if i < len(uids) and uids[i] == uid:
            return i
        return None

    def first_where(self, test: Callable[[frozenset[str]], bool]) -> int | None:
        """The position of the first entry whose flags pass `test`, or None (each
        distinct set is tested once)."""
        passing = {n for n, flags in enumerate(self.table.sets) if test(flags)}
        if not passing:
            return None
        for i, n in enumerate(self._flags):
            if n in passing:
                return i
        return None

    def uids_where(self, test: Callable[[frozenset[str]], bool]) -> list[int]:
        """The UIDs of the entries whose flags pass `test`, ascending (each distinct
        set is tested once)."""
        passing = [test(flags) for flags in self.table.sets]
        return [u for u, n in zip(self._uids, self._flags, strict=True) if passing[n]]

    def bytes_per_entry(self) -> int:
        """What one entry costs in the arrays (for the compactness test)."""
        return self._uids.itemsize + self._modseqs.itemsize + self._flags.itemsize

    # -- writing (copy first when shared) ----------------------------------------------
    def _flag_number(self, flags: frozenset[str]) -> int:
        n = self.table.number(flags)
        if n > 0xFFFF and self._flags.typecode == "H":
            self._own()
            self._flags = array("I", self._flags)
        return n

    def __setitem__(self, i: int, entry: MessageEntry) -> None:
        self._own()
        self._uids[i] = entry.uid
        self._flags[i] = self._flag_number(entry.flags)
        self._modseqs[i] = entry.modseq

    def append(self, entry: MessageEntry) -> None:
        self._own()
        n = self._flag_number(entry.flags)  # may widen (replace) the flags array
        self._flags.append(n)
        self._uids.append(entry.uid)
        self._modseqs.append(entry.modseq)

    def extend(self, entries: Iterable[MessageEntry]) -> None:
        for entry in entries:
            self.append(entry)

    def remove_uids(self, gone: set[int]) -> None:
        """Drop the entries whose UID is in `gone`."""
        keep = [i for i, u in enumerate(self._uids) if u not in gone]
        if len(keep) == len(self._uids):
            return
        self._uids = array("I", [self._uids[i] for i in keep])
        self._modseqs = array("Q", [self._modseqs[i] for i in keep])
        self._flags = array(self._flags.typecode, [self._flags[i] for i in keep])
        self._owned = True

    def clear(self) -> None:
        self._uids, self._modseqs = array("I"), array("Q")
        self._flags = array(self._flags.typecode)
        self._owned = True


__all__ = ["EntryList", "FlagTable"]
