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
from postbus.message.words import decode_header_value

_SPACES = re.compile(r"[ \t\r\n]+")
# RFC 5256 §5: subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":", led by *subj-blob
_REFWD = re.compile(r"(?:\[[^\[\]]*\] *)*(?:re|fwd?) *(?:\[[^\[\]]*\] *)?:", re.I)
_BLOB = re.compile(r"\[[^\[\]]*\] *")


def base_subject(subject: str | None) -> tuple[str, bool]:
    """(RFC 5256 §2.1 base subject, case-folded; whether it was a reply or forward)."""
    if not subject:
        return "", False
    # (1) decode encoded words; tabs and continuations become one space
    text = _SPACES.sub(" ", decode_header_value(subject))
    is_reply = False
    while True:
        # (2) remove trailing subj-trailer: "(fwd)" / WSP
        while True:
            text = text.rstrip(" ")
            if text[-5:].lower() == "(fwd)":
                text = text[:-5]
                is_reply = True
                continue
            break
        # (3)-(5) remove subj-leaders and leading blobs until none is left
        while True:
            if text.startswith(" "):
                text = text.lstrip(" ")
                continue
            match = _REFWD.match(text)
            if match is not None:
                text = text[match.end():]
                is_reply = True
                continue
            match = _BLOB.match(text)
            if match is not None and text[match.end():].strip(" "):
                text = text[match.end():]
                continue
            break
        # (6) "[fwd:" ... "]" wrapper, then start again at (2)
        if text[:5].lower() == "[fwd:" and text.endswith("]"):
            text = text[5:-1]
            is_reply = True
            continue
        return text.casefold(), is_reply


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
