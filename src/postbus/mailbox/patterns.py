"""Mailbox patterns of LIST and LSUB (RFC 9051 §6.3.9), matched without a regex.

"*" matches any run of characters, "%" any run without the hierarchy
delimiter.  A backtracking regex takes time exponential in the number of
stars ("*a*a*a...ab" froze the server for seconds, issue 9); this matcher is
bounded instead.  Invariants:

- `Pattern.matches(name)` costs O(len(name) x len(pattern)) at worst, and
  usually far less:
  - the pattern is compiled once: runs of wildcards collapse to one ("**" and
    "*%" are "*"), so the compiled pattern has at most 2 x literals + 1 tokens;
  - a name shorter than the pattern's literal characters, or without its
    literal prefix, is refused at once; a pattern with more literal characters
    than the longest name is not even compiled (a 64 KB "*a*a..." pattern
    costs two `str.count` calls);
  - patterns with "*" only are matched segment by segment with `str.find`
    (greedy leftmost placement is exact when the segments are literal);
  - patterns with "%" run a bit-parallel simulation of the pattern automaton:
    one step per character of the name, each a few integer operations on a
    bit set of len(pattern) bits (a DP over one row).
- INBOX in the pattern is case-insensitive, as in names (RFC 9051 §5.1):
  "inbox", "Inbox/%", "inbox*" fold to "INBOX..."; "inboxes" does not.
"""

from __future__ import annotations

from postbus.mailbox.types import DELIMITER, INBOX

_STAR = "*"
_PERCENT = "%"
_EXACT, _ALL, _STARS, _AUTOMATON, _NEVER = range(5)


def fold_inbox(pattern: str) -> str:
    """The pattern with a leading "inbox" spelled "INBOX" when it names INBOX."""
    n = len(INBOX)
    head = pattern[:n]
    if head.upper() == INBOX and (len(pattern) == n or pattern[n] in (DELIMITER, _STAR, _PERCENT)):
        return INBOX + pattern[n:]
    return pattern


def collapse(pattern: str) -> str:
    """Runs of wildcards as one: a run with a "*" is "*", else "%"."""
    out: list[str] = []
    for char in pattern:
        if char == _STAR or char == _PERCENT:
            if out and out[-1] in (_STAR, _PERCENT):
                if char == _STAR:
                    out[-1] = _STAR
                continue
        out.append(char)
    return "".join(out)


class Pattern:
    """One compiled mailbox pattern."""

    __slots__ = (
        "_accept", "_kind", "_literals", "_masks", "_prefix", "_segments", "_star", "_text",
        "_wild",
    )

    def __init__(self, pattern: str, longest: int | None = None) -> None:
        """`longest`, when known, is the length of the longest name the pattern
        will meet: a pattern with more literal characters matches none of them
        and is not compiled at all (counted in C, before any per-character work)."""
        folded = fold_inbox(pattern)
        self._literals = len(folded) - folded.count(_STAR) - folded.count(_PERCENT)
        self._segments: list[str] = []
        self._masks: dict[str, int] = {}
        self._star = self._wild = self._accept = 0
        if longest is not None and self._literals > longest:
            self._kind = _NEVER
            self._text = self._prefix = ""
            return
        text = collapse(folded)
        self._text = text
        first = min((i for i in (text.find(_STAR), text.find(_PERCENT)) if i != -1), default=-1)
        self._prefix = text if first == -1 else text[:first]
        if first == -1:
            self._kind = _EXACT
        elif text == _STAR:
            self._kind = _ALL
        elif _PERCENT not in text:
            self._kind = _STARS
            self._segments = text.split(_STAR)
        else:
            self._kind = _AUTOMATON
            self._compile(text[first:])

    def _compile(self, rest: str) -> None:
        # Bit i of a state set: the first i tokens of `rest` match the text read.
        for i, char in enumerate(rest):
            bit = 1 << i
            if char == _STAR:
                self._star |= bit
                self._wild |= bit
            elif char == _PERCENT:
                self._wild |= bit
            else:
                self._masks[char] = self._masks.get(char, 0) | bit
        self._accept = 1 << len(rest)

    @property
    def text(self) -> str:
        """The pattern as compiled (INBOX folded, wildcard runs collapsed; "" when
        it can match no name)."""
        return self._text

    @property
    def matches_all(self) -> bool:
        return self._kind == _ALL

    @property
    def matches_none(self) -> bool:
        return self._kind == _NEVER

    def matches(self, name: str) -> bool:
        kind = self._kind
        if kind == _ALL:
            return True
        if kind == _NEVER:
            return False
        if kind == _EXACT:
            return name == self._text
        if len(name) < self._literals or not name.startswith(self._prefix):
            return False
        if kind == _STARS:
            return self._match_stars(name)
        return self._match_automaton(name)

    def _match_stars(self, name: str) -> bool:
        segments = self._segments
        pos = len(segments[0])  # the prefix, checked by the caller
        last = segments[-1]
        end = len(name) - len(last)
        if end < pos or not name.endswith(last):
            return False
        for segment in segments[1:-1]:
            found = name.find(segment, pos, end)
            if found == -1:
                return False
            pos = found + len(segment)
        return True

    def _match_automaton(self, name: str) -> bool:
        masks, star, wild = self._masks, self._star, self._wild
        state = 1 | ((1 & wild) << 1)  # a leading wildcard may match nothing
        for char in name[len(self._prefix):]:
            state = ((state & masks.get(char, 0)) << 1) | (
                state & (star if char == DELIMITER else wild))
            if not state:
                return False
            # No two wildcards are adjacent once collapsed: one step closes the set.
            state |= (state & wild) << 1
        return bool(state & self._accept)


