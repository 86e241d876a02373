"""SORT keys: RFC 5256 §2.1 base subject, §3 address keys, RFC 5957 DISPLAY keys.

Keys are computed once at delivery and compared as plain strings later.
RFC 5256 compares with i;unicode-casemap (RFC 5051) for subjects and
i;ascii-casemap for addresses; we store `str.casefold()` / `str.lower()` of
the key, which orders the same way for all but exotic titlecase pairs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from postbus.message.addresses import Address
from postbus.message.addresses import unquote as _unquote
from postbus.message.limits import MAX_SORT_SUBJECT_CHARS
from postbus.message.words import decode_header_value

_SPACES = re.compile(r"[ \t\r\n]+")
# RFC 5256 §5: subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":", led by *subj-blob
_REFWD = re.compile(r"(?:\[[^\[\]]*\] *)*(?:re|fwd?) *(?:\[[^\[\]]*\] *)?:", re.I)
_BLOB = re.compile(r"\[[^\[\]]*\] *")
_NON_SPACE = re.compile(r"[^ ]")


def base_subject(subject: str | None) -> tuple[str, bool]:
    """(RFC 5256 §2.1 base subject, case-folded; whether it was a reply or forward).

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
        return text[start:end].casefold(), is_reply


def first_mailbox(addresses: Sequence[Address]) -> Address | None:
    """The first real address, skipping RFC 3501 group markers (host NIL)."""
    for address in addresses:
        if address[3] is not None:
            return address
    return None


def mailbox_key(addresses: Sequence[Address]) -> str:
    """RFC 5256 §3 FROM/TO/CC: the first address's mailbox (local part), lower case."""
    address = first_mailbox(addresses)
    if address is None or not address[2]:
        return ""
    mailbox = address[2]
    return (_unquote(mailbox) if mailbox.startswith('"') else mailbox).lower()


def display_key(addresses: Sequence[Address]) -> str:
    """RFC 5957 §3 DISPLAYFROM/DISPLAYTO: decoded display name, else the addr-spec."""
    address = first_mailbox(addresses)
    if address is None:
        return ""
    name, _, mailbox, host = address
    display = " ".join(decode_header_value(name).split()) if name else ""
    if not display:
        display = f"{mailbox}@{host}"
    return display.casefold()
