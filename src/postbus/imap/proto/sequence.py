"""Sequence sets (RFC 9051 §9 ``sequence-set``, RFC 5182 ``$``).

A :class:`SequenceSet` keeps the ranges as the client wrote them, with
:data:`STAR` standing for ``*`` (the largest number in use), because ``*`` can
only be resolved against a mailbox at the moment the command runs.  ``$``
(RFC 5182, the result saved by ``SEARCH RETURN (SAVE)``) is a set of its own:
``saved`` is True and ``ranges`` is empty; the session substitutes it.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from .errors import ImapBad
from .lexer import Cursor
from .limits import MAX_NUMBER

#: Placeholder for ``*`` in :attr:`SequenceSet.ranges` (sequence numbers and UIDs are >= 1).
STAR: Final = 0

_SEQ_SET = re.compile(rb"(?:[0-9]+|\*)(?::(?:[0-9]+|\*))?(?:,(?:[0-9]+|\*)(?::(?:[0-9]+|\*))?)*")


def _bound(token: bytes) -> int:
    if token == b"*":
        return STAR
    if len(token) > 10 or (n := int(token)) > MAX_NUMBER:
        raise ImapBad("Sequence number out of range")
    if n == 0:
        raise ImapBad("Sequence number 0 is not allowed")
    return n


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """``ranges`` are inclusive ``(first, last)`` pairs as written (``last`` may be < ``first``)."""

    ranges: tuple[tuple[int, int], ...]
    saved: bool = False

    @classmethod
    def parse(cls, text: bytes | str) -> "SequenceSet":
        """Parse a complete sequence set such as ``b"1:3,7,9:*"`` or ``b"$"``."""
        raw = text.encode("ascii", "replace") if isinstance(text, str) else text
        if raw == b"$":
            return SAVED
        if _SEQ_SET.fullmatch(raw) is None:
            raise ImapBad("Invalid sequence set")
        ranges = []
        for item in raw.split(b","):
            first, sep, last = item.partition(b":")
            lo = _bound(first)
            ranges.append((lo, _bound(last) if sep else lo))
        return cls(tuple(ranges))

    @classmethod
    def from_values(cls, values: Iterable[int]) -> "SequenceSet":
        """The most compact set holding exactly ``values``."""
        return cls(tuple(compress(values)))

    @property
    def uses_star(self) -> bool:
        return any(STAR in r for r in self.ranges)

    def resolve(self, max_value: int, clip: bool = True) -> list[tuple[int, int]]:
        """Sorted, merged, ascending ranges with ``*`` = ``max_value``.

        With ``clip`` (the default) ranges are cut to ``1..max_value`` and empty
        ones dropped, which is what a UID set means (RFC 9051 §6.4.9: ``n:*``
        always includes the largest UID).  Check sequence numbers against the
        mailbox first with :meth:`exceeds`.
        """
        if self.saved:
            raise ValueError("resolve the saved result ($) before use")
        spans = sorted(
            (min(a, b), max(a, b))
            for a, b in ((lo or max_value, hi or max_value) for lo, hi in self.ranges)
        )
        out: list[tuple[int, int]] = []
        for lo, hi in spans:
            if clip:
                lo, hi = max(lo, 1), min(hi, max_value)
                if lo > hi:
                    continue
            if out and lo <= out[-1][1] + 1:
                if hi > out[-1][1]:
                    out[-1] = (out[-1][0], hi)
            else:
                out.append((lo, hi))
        return out

    def values(self, max_value: int) -> Iterator[int]:
        """Every number of the set within ``1..max_value``, ascending, once."""
        for lo, hi in self.resolve(max_value):
            yield from range(lo, hi + 1)

    def exceeds(self, max_value: int) -> bool:
        """True if a number other than ``*`` is above ``max_value`` (a BAD for sequence numbers)."""
        return any(n > max_value for r in self.ranges for n in r)

    def contains(self, n: int, star: int) -> bool:
        """Whether ``n`` is in the set when ``*`` stands for ``star``."""
        for lo, hi in self.ranges:
            lo, hi = lo or star, hi or star
            if lo <= n <= hi or hi <= n <= lo:
                return True
        return False

    def __str__(self) -> str:
        if self.saved:
            return "$"
        return ",".join(
            (str(lo) if lo else "*") if lo == hi else f"{lo or '*'}:{hi or '*'}"
            for lo, hi in self.ranges
        )


SAVED: Final = SequenceSet((), saved=True)


def compress(values: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted distinct numbers as merged inclusive ranges."""
    out: list[tuple[int, int]] = []
    for n in sorted(set(values)):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def format_set(values: Iterable[int]) -> str:
    """Numbers in the compact wire form, e.g. ``[1, 2, 3, 7]`` -> ``"1:3,7"``."""
    return ",".join(str(lo) if lo == hi else f"{lo}:{hi}" for lo, hi in compress(values))


def format_ordered(values: Iterable[int]) -> str:
    """Numbers in their given order, ascending runs merged: ``[5, 6, 7, 1, 3]`` ->
    ``"5:7,1,3"`` (RFC 5267 §3.2: ESORT's ALL keeps the sort order)."""
    runs: list[list[int]] = []
    for n in values:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ",".join(str(lo) if lo == hi else f"{lo}:{hi}" for lo, hi in runs)


_SEQ_TOKEN = re.compile(rb"[0-9*:,$]+")


def read_sequence_set(cur: Cursor) -> SequenceSet:
    """Consume a ``sequence-set`` (or ``$``) at the cursor."""
    token = cur.match(_SEQ_TOKEN)
    if token is None:
        raise ImapBad("Expected a sequence set")
    return SequenceSet.parse(token)
