"""Per-folder counters, as both backends keep them on the folder row.

Invariant: for every folder, the row's `messages`, `unseen`, `size`, `deleted`
and `deleted_size` equal a full recount over its messages. Every write that
adds, removes or re-flags messages adds the `Counts` delta computed here in
the same transaction, so STATUS and SELECT read one row whatever the folder's
size (issue 9). The delta is computed once, here, from the rows the write
touches; the SQL that applies it is the backends' own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

SEEN = "\\Seen"
DELETED = "\\Deleted"


@dataclass(frozen=True, slots=True)
class Counts:
    """A folder's counters, or a change to them."""

    messages: int = 0
    unseen: int = 0
    size: int = 0
    deleted: int = 0
    deleted_size: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.messages + other.messages,
            self.unseen + other.unseen,
            self.size + other.size,
            self.deleted + other.deleted,
            self.deleted_size + other.deleted_size,
        )

    def __neg__(self) -> Counts:
        return Counts(-self.messages, -self.unseen, -self.size, -self.deleted, -self.deleted_size)

    def __sub__(self, other: Counts) -> Counts:
        return self + -other

    def values(self) -> tuple[int, int, int, int, int]:
        """In the order of the columns, for SQL parameters."""
        return (self.messages, self.unseen, self.size, self.deleted, self.deleted_size)

    def __bool__(self) -> bool:
        return any(self.values())


def of_message(size: int, flags: Collection[str]) -> Counts:
    """What one message with these flags adds to its folder's counters."""
    deleted = DELETED in flags
    return Counts(1, 0 if SEEN in flags else 1, size, int(deleted), size if deleted else 0)


def of_messages(rows: Iterable[tuple[int, Collection[str]]]) -> Counts:
    """The sum of `of_message` over (size, flags) rows."""
    messages = unseen = total = deleted = deleted_size = 0
    for size, flags in rows:
        messages += 1
        total += size
        if SEEN not in flags:
            unseen += 1
        if DELETED in flags:
            deleted += 1
            deleted_size += size
    return Counts(messages, unseen, total, deleted, deleted_size)


def flag_change(size: int, old: Collection[str], new: Collection[str]) -> Counts:
    """The change of a folder's counters when one message's flags go from old to new."""
    return of_message(size, new) - of_message(size, old)
