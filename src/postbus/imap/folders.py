"""The folder hierarchy as LIST and LSUB see it, and LIST pattern matching.

Pure functions over the store's flat list of folders (names with ``/`` as the
hierarchy delimiter).  A name that is only the parent of real folders (after
``DELETE a`` while ``a/b`` stays, or a client that created ``a/b`` directly
before ``CREATE`` made parents) is an *implied* folder: it exists for LIST as
a ``\\Noselect`` / ``\\NonExistent`` level (RFC 9051 §6.3.9, RFC 5258 §3.1).

Pattern wildcards (RFC 9051 §6.3.9): ``*`` matches anything, ``%`` anything
but the delimiter.  INBOX is case-insensitive, including as a prefix of its
children (RFC 9051 §5.1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from postbus.store.model import DELIMITER, INBOX, Mailbox

#: Characters refused in new folder names: the LIST wildcards would make the
#: folder impossible to list by name.
FORBIDDEN_CHARACTERS = frozenset("*%")


@dataclass(slots=True)
class Folder:
    """One level of the hierarchy: a real folder (``mailbox``) or an implied parent."""

    name: str
    mailbox: Mailbox | None
    has_children: bool = False
    subscribed: bool = False  # a real folder whose name is subscribed


def parents(name: str) -> list[str]:
    """``"a/b/c"`` → ``["a", "a/b"]``."""
    parts = name.split(DELIMITER)
    return [DELIMITER.join(parts[:i]) for i in range(1, len(parts))]


def folder_tree(mailboxes: Iterable[Mailbox], subscriptions: Collection[str] = ()) -> list[Folder]:
    """Every folder and implied parent, INBOX first, then by name."""
    subscribed = set(subscriptions)
    folders: dict[str, Folder] = {
        m.name: Folder(m.name, m, subscribed=m.name in subscribed) for m in mailboxes
    }
    for name in list(folders):
        for parent in parents(name):
            folder = folders.get(parent)
            if folder is None:
                folders[parent] = Folder(parent, None, True)
            else:
                folder.has_children = True
    return sorted(folders.values(), key=lambda f: sort_key(f.name))


def sort_key(name: str) -> tuple[bool, str]:
    return (name != INBOX and not name.startswith(INBOX + DELIMITER), name)


def _fold_inbox(pattern: str) -> str:
    head = pattern[:5]
    if head.upper() == INBOX and (len(pattern) == 5 or pattern[5] in "/*%"):
        return INBOX + pattern[5:]
    return pattern


def matcher(pattern: str) -> Callable[[str], bool]:
    """A predicate telling whether a folder name matches a LIST pattern."""
    out = []
    for char in _fold_inbox(pattern):
        if char == "*":
            out.append(".*")
        elif char == "%":
            out.append(f"[^{re.escape(DELIMITER)}]*")
        else:
            out.append(re.escape(char))
    regex = re.compile("".join(out), re.DOTALL)

    def matches(name: str) -> bool:
        return regex.fullmatch(name) is not None

    return matches


def check_new_name(name: str) -> str:
    """A name acceptable for CREATE/RENAME, without a trailing delimiter; ValueError if not.

    RFC 9051 §6.3.4: a trailing delimiter declares the intent to create
    children and is not part of the name.
    """
    name = name.removesuffix(DELIMITER)
    if not name or name.startswith(DELIMITER) or DELIMITER * 2 in name:
        raise ValueError("empty hierarchy level in the folder name")
    if FORBIDDEN_CHARACTERS & set(name):
        raise ValueError("'*' and '%' are not allowed in folder names")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise ValueError("control characters are not allowed in folder names")
    return name
