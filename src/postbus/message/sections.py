"""IMAP section numbers (RFC 3501 §6.4.5, RFC 9051 §6.4.5) to byte ranges of the raw message.

The rules, as `resolve_section` applies them:

* The empty section `()` is the whole message; its root Part is `meta.body`
  (header_start 0, body_start header_end, end size).
* Inside a message (the top-level one or an encapsulated message/rfc822),
  part N is the Nth child of its root when the root is multipart; when the
  root is not multipart, the message has only part 1, which is the root
  itself ("BODY[1]" of a single-part message is its body).
* Inside a multipart part, N is its Nth child. Inside a message/rfc822
  part, numbering continues in the encapsulated message by the rule above:
  for a message/rfc822 at 1.2, 1.2.1 is the first part of the encapsulated
  message's body. A leaf (text, image ...) has no sub-parts.

The section kinds, as `section_ranges` slices them:

* ""     : for `()`, the whole message; for a part, its body (for a
           message/rfc822 part that is the whole encapsulated message).
* HEADER : the header of the message the path names (the top-level message,
           or the encapsulated message of a message/rfc822 part), blank line
           included. HEADER.FIELDS and HEADER.FIELDS.NOT slice this range and
           filter it with `postbus.message.headers.header_fields`.
* TEXT   : the body of that message.
* MIME   : the MIME header of a part, blank line included; only with a part
           number (BODY[MIME] alone is a syntax error).

A path that names nothing, or HEADER/TEXT on a part that is not
message/rfc822, gives None: the IMAP layer answers it as an empty string,
as Dovecot does.
"""

from __future__ import annotations

from collections.abc import Sequence

from postbus.message.model import MessageMeta, Part

SECTION_KINDS = frozenset(("", "HEADER", "TEXT", "MIME"))


def _message_part(root: Part, number: int) -> Part | None:
    if root.children:
        return root.children[number - 1] if 1 <= number <= len(root.children) else None
    return root if number == 1 else None


def resolve_section(meta: MessageMeta, section: Sequence[int]) -> Part | None:
    """The Part a section path names (`()` names the root), or None."""
    if not section:
        return meta.body
    part = _message_part(meta.body, section[0])
    for number in section[1:]:
        if part is None:
            return None
        if part.children:
            part = part.children[number - 1] if 1 <= number <= len(part.children) else None
        elif part.body is not None:
            part = _message_part(part.body, number)
        else:
            return None
    return part


def section_ranges(meta: MessageMeta, part_path: Sequence[int], kind: str) -> tuple[int, int] | None:
    """(start, end) offsets in the raw message of BODY[path.kind], or None if absent.

    Raises ValueError for a kind not in SECTION_KINDS or MIME without a path.
    """
    kind = kind.upper()
    if kind not in SECTION_KINDS:
        raise ValueError(f"unknown section kind {kind!r}")
    if not part_path:
        if kind == "MIME":
            raise ValueError("MIME needs a part number")
        if kind == "HEADER":
            return 0, meta.header_end
        if kind == "TEXT":
            return meta.header_end, meta.size
        return 0, meta.size
    part = resolve_section(meta, part_path)
    if part is None:
        return None
    if kind == "":
        return part.body_start, part.end
    if kind == "MIME":
        return part.header_start, part.body_start
    nested = part.body
    if nested is None:
        return None
    if kind == "HEADER":
        return nested.header_start, nested.body_start
    return nested.body_start, nested.end
