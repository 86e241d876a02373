"""SORT keys: RFC 5256 §2.1 base subject, §3 address keys, RFC 5957 DISPLAY keys.

Keys are computed once at delivery and compared as plain strings later.
RFC 5256 compares strings with i;unicode-casemap (RFC 5051), so each key is
stored in its RFC 5051 form (`unicode_casemap`): compared by code point, two
stored keys order exactly as the collation orders the original strings.
`SORT_KEYS_VERSION` says which rules made a record's keys; a record written
under older rules has its keys recomputed from its envelope (`sort_keys`),
without a re-parse of the message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from postbus.message.addresses import Address
from postbus.message.addresses import unquote as _unquote
from postbus.message.limits import MAX_SORT_SUBJECT_CHARS
from postbus.message.model import Envelope
from postbus.message.words import decode_header_value

_SPACES = re.compile(r"[ \t\r\n]+")
# RFC 5256 §5: subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":", led by *subj-blob
_REFWD = re.compile(r"(?:\[[^\[\]]*\] *)*(?:re|fwd?) *(?:\[[^\[\]]*\] *)?:", re.I)
_BLOB = re.compile(r"\[[^\[\]]*\] *")
_NON_SPACE = re.compile(r"[^ ]")

#: Bumped whenever a sort key changes meaning: 1 = RFC 5051 titlecase keys and
#: group names for group syntax (0, records written before: case-folded keys).
SORT_KEYS_VERSION = 1


@lru_cache(maxsize=4096)
def _casemap_char(char: str) -> str:
    """RFC 5051 §2 step 2 for one character: (a) its titlecase mapping, (b) then
    its decomposition, each character of which goes through step 2 again."""
    # (a) The simple titlecase mapping (UnicodeData.txt field 14): Python gives the
    # full mapping; where that is longer than one character the simple one is empty.
    title = char.title()
    if len(title) == 1:
        char = title
    # (b) The decomposition (field 5), the <tag> of a compatibility one dropped,
    # applied recursively (U+212B ANGSTROM SIGN -> U+00C5 -> "A" U+030A).
    decomposition = unicodedata.decomposition(char)
    if not decomposition:
        return char
    codes = [c for c in decomposition.split() if not c.startswith("<")]
    return "".join(_casemap_char(chr(int(c, 16))) for c in codes)


def unicode_casemap(text: str) -> str:
    """The "titlecased canonicalized" form of `text` (RFC 5051 §2): comparing two
    of them by code point (which is UTF-8 octet order) is i;unicode-casemap ordering,
    and equality is its equality.  Not lower case: "_" and "[" sort after "a"."""
    if text.isascii():
        return text.upper()  # the titlecase of ASCII is its upper case; nothing decomposes
    return "".join(map(_casemap_char, text))


def base_subject(subject: str | None) -> tuple[str, bool]:
    """(RFC 5256 §2.1 base subject, in its RFC 5051 form; whether it was a reply or forward).

    Reads the first MAX_SORT_SUBJECT_CHARS characters, and works on indices
    so that thousands of "Re: " cost linear time.
    """
    if not subject:
        return "", False
    # (1) decode encoded words; tabs and continuations become one space
    text = _SPACES.sub(" ", decode_header_value(subject[:MAX_SORT_SUBJECT_CHARS]))
    start, end = 0, len(text)
    is_reply = False
    while True:
        # (2) remove trailing subj-trailer: "(fwd)" / WSP
        while end > start:
            if text[end - 1] == " ":
                end -= 1
            elif end - start >= 5 and text[end - 5:end].lower() == "(fwd)":
                end -= 5
                is_reply = True
            else:
                break
        # (3)-(5) remove subj-leaders and leading blobs until none is left
        while start < end:
            if text[start] == " ":
                start += 1
                continue
            match = _REFWD.match(text, start, end)
            if match is not None:
                start = match.end()
                is_reply = True
                continue
            match = _BLOB.match(text, start, end)
            if match is not None and _NON_SPACE.search(text, match.end(), end) is not None:
                start = match.end()
                continue
            break
        # (6) "[fwd:" ... "]" wrapper, then start again at (2)
        if end - start >= 6 and text[start:start + 5].lower() == "[fwd:" and text[end - 1] == "]":
            start += 5
            end -= 1
            is_reply = True
            continue
        return unicode_casemap(text[start:end]), is_reply


def first_address(addresses: Sequence[Address]) -> tuple[str | None, Address | None]:
    """(group name, None) when the first address opens a group (RFC 3501 §7.4.2:
    host NIL, mailbox the group name), else (None, the first address or None)."""
    if not addresses:
        return None, None
    first = addresses[0]
    if first[3] is None and first[2] is not None:
        return first[2], None
    return None, first


def mailbox_key(addresses: Sequence[Address]) -> str:
    """RFC 5256 §3 FROM/TO/CC: the addr-mailbox of the first address; for group
    syntax that is the group name (the envelope's group-start address)."""
    group, address = first_address(addresses)
    if group is not None:
        return unicode_casemap(decode_header_value(group))
    if address is None or not address[2]:
        return ""
    mailbox = address[2]
    return unicode_casemap(_unquote(mailbox) if mailbox.startswith('"') else mailbox)


def display_key(addresses: Sequence[Address]) -> str:
    """RFC 5957 §3 DISPLAYFROM/DISPLAYTO: the decoded display name, else the
    addr-spec; a group sorts by its group name (RFC 5957 §3, its display-name)."""
    group, address = first_address(addresses)
    if group is not None:
        return unicode_casemap(" ".join(decode_header_value(group).split()))
    if address is None:
        return ""
    name, _, mailbox, host = address
    display = " ".join(decode_header_value(name).split()) if name else ""
    if not display:
        display = f"{mailbox}@{host}"
    return unicode_casemap(display)


class SortKeys(NamedTuple):
    """The string keys of one message, in `MessageMeta`'s `sort_*` order."""

    subject: str
    from_: str
    to: str
    cc: str
    display_from: str
    display_to: str
    subject_is_reply: bool


def sort_keys(envelope: Envelope) -> SortKeys:
    """Every string SORT key of a message, from its envelope."""
    subject, is_reply = base_subject(envelope.subject)
    return SortKeys(subject, mailbox_key(envelope.from_), mailbox_key(envelope.to),
                    mailbox_key(envelope.cc), display_key(envelope.from_),
                    display_key(envelope.to), is_reply)
