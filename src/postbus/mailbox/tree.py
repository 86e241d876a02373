"""The folder hierarchy: real folders and the implied levels between them.

A name that is only the parent of real folders (after ``DELETE a`` while
``a/b`` stays) is an *implied* folder: it exists in the hierarchy as a level
that cannot be selected (``\\NonExistent``, RFC 5258 §3.4; ``\\Noselect`` to
IMAP4rev1, RFC 3501 §7.2.2).  Invariants:

- `folder_tree` is linear in the total length of the names (plus one sort):
  each name walks up its levels only until it meets a level already known,
  so every level is created once and visited a bounded number of times.  The
  old tree called `parents()` per name, quadratic in depth, and with 2,500
  levels froze the server for 27 s (issue 9).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from postbus.mailbox.names import parent, sort_key
from postbus.mailbox.types import Mailbox


@dataclass(slots=True)
class Folder:
    """One level of the hierarchy: a real folder (``mailbox``) or an implied parent."""

    name: str
    mailbox: Mailbox | None
    has_children: bool = False


def folder_tree(mailboxes: Iterable[Mailbox]) -> list[Folder]:
    """Every folder and implied parent, INBOX first, then by name."""
    folders: dict[str, Folder] = {m.name: Folder(m.name, m) for m in mailboxes}
    for name in list(folders):
        up = parent(name)
        while up is not None:
            known = folders.get(up)
            if known is not None:
                known.has_children = True
                break
            folders[up] = Folder(up, None, True)
            up = parent(up)
    return sorted(folders.values(), key=lambda f: sort_key(f.name))


def ancestors_of(names: Iterable[str]) -> set[str]:
    """Every proper ancestor of the names, in time linear in their total length."""
    seen: set[str] = set()
    for name in names:
        up = parent(name)
        while up is not None and up not in seen:
            seen.add(up)
            up = parent(up)
    return seen
