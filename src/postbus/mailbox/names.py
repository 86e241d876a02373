"""Folder names: the INBOX rule, the hierarchy delimiter and what a new name may be.

Names are Unicode with "/" as the hierarchy delimiter (`DELIMITER`); the
store keeps them verbatim, so every name reaches it through `canonical` (a
name to look up) or `check_new_name` (a name to create).  Invariants:

- INBOX is case-insensitive, also as the first level of a longer name:
  "inbox", "Inbox/x" and "INBOX/x" are "INBOX" and "INBOX/x" (RFC 9051 §5.1).
- A new name has no empty level, no LIST wildcard ("*", "%": RFC 9051 §6.3.9
  would make it impossible to list by name) and no control character, and
  stays within the limits of `mailbox.limits`.
"""

from __future__ import annotations

from postbus.mailbox.errors import BadName, LimitReached
from postbus.mailbox.limits import MAX_FOLDER_DEPTH, MAX_LEVEL_LENGTH, MAX_NAME_LENGTH
from postbus.mailbox.types import DELIMITER, INBOX

#: Characters refused in new folder names: the LIST wildcards.
WILDCARDS = frozenset("*%")
_INBOX_LEN = len(INBOX)


def is_inbox_prefixed(name: str) -> bool:
    """True when the first level of `name` is INBOX in any case."""
    head = name[:_INBOX_LEN]
    return head.upper() == INBOX and (len(name) == _INBOX_LEN or name[_INBOX_LEN] == DELIMITER)


def canonical(name: str) -> str:
    """`name` with its INBOX level spelled "INBOX" (RFC 9051 §5.1)."""
    if is_inbox_prefixed(name) and not name.startswith(INBOX):
        return INBOX + name[_INBOX_LEN:]
    return name


def depth(name: str) -> int:
    """Levels in `name`: "a/b/c" has 3."""
    return name.count(DELIMITER) + 1


def parents(name: str) -> list[str]:
    """"a/b/c" -> ["a", "a/b"]: the superior levels, outermost first."""
    out: list[str] = []
    i = name.find(DELIMITER)
    while i != -1:
        out.append(name[:i])
        i = name.find(DELIMITER, i + 1)
    return out


def parent(name: str) -> str | None:
    i = name.rfind(DELIMITER)
    return name[:i] if i != -1 else None


def check_new_name(name: str) -> str:
    """The canonical form of a name for CREATE or RENAME.

    RFC 9051 §6.3.4: a trailing delimiter declares the intent to create
    children and is not part of the name.  Raises InvalidName for a name that
    is not acceptable and LimitReached for one past a length or depth limit.
    """
    name = name.removesuffix(DELIMITER)
    if (not name or name.startswith(DELIMITER) or name.endswith(DELIMITER)
            or DELIMITER * 2 in name):
        raise BadName("Invalid folder name: empty hierarchy level in the folder name")
    if not WILDCARDS.isdisjoint(name):
        raise BadName("Invalid folder name: '*' and '%' are not allowed in folder names")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise BadName("Invalid folder name: control characters are not allowed in folder names")
    check_limits(name)
    return canonical(name)


def check_limits(name: str) -> None:
    """LimitReached when `name` is too long or too deep (`mailbox.limits`)."""
    if len(name) > MAX_NAME_LENGTH:
        raise LimitReached(f"Folder name too long (limit {MAX_NAME_LENGTH} characters)")
    if depth(name) > MAX_FOLDER_DEPTH:
        raise LimitReached(f"Too many folder levels (limit {MAX_FOLDER_DEPTH})")
    if any(len(level) > MAX_LEVEL_LENGTH for level in name.split(DELIMITER)):
        raise LimitReached(
            f"Folder name level too long (limit {MAX_LEVEL_LENGTH} characters)")


def sort_key(name: str) -> tuple[bool, str]:
    """INBOX and its children first, then by name: the order LIST answers in."""
    return (name != INBOX and not name.startswith(INBOX + DELIMITER), name)
