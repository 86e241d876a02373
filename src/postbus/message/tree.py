"""Walking a Part tree: every part in order, and which of them are attachments."""

from __future__ import annotations

from collections.abc import Iterator

from postbus.message.model import Part

#: Leaf types that carry security data, not something a user opens.
_SECURITY_TYPES = frozenset((
    "application/pgp-signature", "application/pgp-encrypted", "application/pkcs7-signature",
    "application/x-pkcs7-signature",
))


def iter_parts(root: Part) -> Iterator[Part]:
    """Every part under `root` (itself included), depth first, in document order,
    entering encapsulated messages."""
    stack = [root]
    while stack:
        part = stack.pop()
        yield part
        if part.body is not None:
            stack.append(part.body)
        stack.extend(reversed(part.children))


def is_attachment(part: Part, *, in_related: bool = False) -> bool:
    """Whether a client would list `part` as an attachment.

    Declared attachments, forwarded messages, and non-text leaves count,
    except signatures and the inline resources of a multipart/related
    (RFC 2387) page. Text counts only when it is declared an attachment or
    carries a file name without being declared inline.
    """
    if part.children:
        return False
    mime_type = part.mime_type
    if mime_type in _SECURITY_TYPES:
        return False
    disposition = part.disposition_type
    if disposition == "attachment" or part.body is not None:
        return True
    if part.type.lower() == "text":
        return part.filename is not None and disposition != "inline"
    return not in_related


def attachments(root: Part) -> list[Part]:
    """The attachments of a message, in document order; a forwarded message is one
    attachment (not descended into)."""
    found: list[Part] = []
    stack: list[tuple[Part, bool]] = [(root, False)]
    while stack:
        part, in_related = stack.pop()
        if part.children:
            related = part.mime_type == "multipart/related"
            stack.extend((child, related) for child in reversed(part.children))
        elif is_attachment(part, in_related=in_related):
            found.append(part)
    return found
