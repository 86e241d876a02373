"""What LIST and LSUB select, in mailbox terms (RFC 9051 §6.3.9, RFC 5258, RFC 3501 §6.3.9).

Pure functions over the folder tree, the subscriptions and the set of names
that matched the patterns; the service matches the names (in batches, between
yields to the event loop) and hands the result here.  Invariants:

- Subscriptions are the user's own list (RFC 3501 §6.3.9): a subscribed name
  whose folder was deleted or renamed is still listed by LIST (SUBSCRIBED),
  as ``\\NonExistent`` (RFC 5258 §3.1), and by LSUB.
- RECURSIVEMATCH (RFC 5258 §3.5): a name that matches the patterns but not
  the SUBSCRIBED selection is listed when a descendant is subscribed, marked
  `child_subscribed` (CHILDINFO ("SUBSCRIBED")).
- LSUB: a level that a "%" stops at, above a subscribed name the pattern does
  not reach, is listed as not selectable unless it is itself subscribed.
- Every function is linear in the number of names and levels (no quadratic
  walk over parents).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from postbus.mailbox.names import parent, sort_key
from postbus.mailbox.tree import Folder, ancestors_of
from postbus.mailbox.types import Mailbox


@dataclass(frozen=True, slots=True)
class ListOptions:
    """A LIST in mailbox terms: the patterns (reference already joined) and the
    selection options of RFC 5258 §3.1 and RFC 6154 §3."""

    patterns: tuple[str, ...]
    subscribed: bool = False  # only subscribed names (they need not exist)
    special_use: bool = False  # only folders with a special-use attribute
    recursive_match: bool = False  # also parents of selected names (needs a selection)
    mark_subscribed: bool = False  # say which names are subscribed (RETURN (SUBSCRIBED))


@dataclass(frozen=True, slots=True)
class Listed:
    """One name LIST answers with."""

    name: str
    mailbox: Mailbox | None  # None: no such folder (an implied level, or a subscription only)
    has_children: bool | None  # None: a name known from the subscriptions only
    subscribed: bool  # set only when the options asked for subscriptions
    child_subscribed: bool = False  # RECURSIVEMATCH: listed for subscribed descendants


@dataclass(frozen=True, slots=True)
class Lsubbed:
    """One name LSUB answers with; `noselect` marks a level listed only for its children."""

    name: str
    noselect: bool


def list_candidates(tree: list[Folder], subscriptions: Iterable[str],
                    options: ListOptions) -> list[str]:
    """The names LIST may answer with, before matching: the tree, and with the
    SUBSCRIBED selection the subscribed names and their levels too."""
    names = [f.name for f in tree]
    if options.subscribed:
        known = set(names)
        subs = list(subscriptions)
        extra = {s for s in subs if s not in known}
        if options.recursive_match:
            extra |= {a for a in ancestors_of(subs) if a not in known}
        names.extend(extra)
    return names


def select_listed(tree: list[Folder], subscriptions: Iterable[str], options: ListOptions,
                  matched: set[str]) -> list[Listed]:
    """The LIST answer, INBOX first then by name, from the names that matched."""
    subs = set(subscriptions)
    by_name = {f.name: f for f in tree}
    show_subscribed = options.subscribed or options.mark_subscribed
    parents_of_subscribed = ancestors_of(subs) if options.recursive_match else set()
    out: list[Listed] = []
    for name in sorted(matched, key=sort_key):
        folder = by_name.get(name)
        mailbox = folder.mailbox if folder is not None else None
        has_children = folder.has_children if folder is not None else None
        child = False
        if options.subscribed and name not in subs:
            if name not in parents_of_subscribed:
                continue
            child = True  # RFC 5258 §3.5: listed for its subscribed descendants only
        if options.special_use and (mailbox is None or not mailbox.special_use):
            continue
        if folder is None and not options.subscribed:
            continue
        out.append(Listed(name, mailbox, has_children, show_subscribed and name in subs, child))
    return out


def lsub_candidates(subscriptions: Iterable[str]) -> list[str]:
    """The names LSUB may answer with: the subscribed names and their levels."""
    subs = set(subscriptions)
    return [*subs, *(a for a in ancestors_of(subs) if a not in subs)]


def select_lsub(subscriptions: Iterable[str], matched: set[str]) -> list[Lsubbed]:
    """RFC 3501 §6.3.9: the subscribed names that matched, and the unsubscribed
    levels a "%" stops at above subscribed names that did not."""
    subs = set(subscriptions)
    listed: dict[str, bool] = {}
    checked: set[str] = set()
    for name in subs:
        if name in matched:
            listed[name] = False
            continue
        level = parent(name)
        while level is not None and level not in checked:  # innermost first
            # A checked level's ancestors are checked too: each level is visited once.
            checked.add(level)
            if level in matched:
                listed[level] = level not in subs
            level = parent(level)
    return [Lsubbed(name, listed[name]) for name in sorted(listed, key=sort_key)]
