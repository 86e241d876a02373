"""IMAP's view of the folder hierarchy: the attributes of a LIST line.

The hierarchy and its rules are the mailbox service's (`postbus.mailbox`);
this module only spells a folder in IMAP terms.  Every LIST line carries
``\\HasChildren`` / ``\\HasNoChildren`` (RFC 3348, RFC 5258 §4) when known and
the folder's special-use attribute (RFC 6154), whatever the return options.
A level with no folder is ``\\Noselect`` to IMAP4rev1 clients and
``\\NonExistent`` (which implies ``\\Noselect``, RFC 5258 §3.4) to extended
LIST and IMAP4rev2.
"""

from __future__ import annotations

from postbus.mailbox.tree import Folder, folder_tree
from postbus.mailbox.types import Mailbox

__all__ = ["Folder", "attributes", "folder_tree"]  # folder_tree: SELECT's LIST line


def attributes(mailbox: Mailbox | None, has_children: bool | None, *, nonexistent: str,
               subscribed: bool = False) -> list[str]:
    attrs: list[str] = []
    if mailbox is None:
        attrs.append(nonexistent)
    if has_children is not None:
        attrs.append("\\HasChildren" if has_children else "\\HasNoChildren")
    if mailbox is not None and mailbox.special_use:
        attrs.append(mailbox.special_use)
    if subscribed:
        attrs.append("\\Subscribed")
    return attrs
