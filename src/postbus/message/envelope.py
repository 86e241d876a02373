"""ENVELOPE (RFC 3501 §7.4.2, RFC 9051 §7.5.2) and threading ids from a header's fields."""

from __future__ import annotations

import re
from collections.abc import Iterable

from postbus.message.addresses import parse_address_list
from postbus.message.headers import Field
from postbus.message.limits import MAX_REFERENCES
from postbus.message.model import Envelope

_ENVELOPE_FIELDS = frozenset(
    ("date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc", "in-reply-to",
     "message-id"))
_MSG_ID = re.compile(r"<([^<>]*)>")


def first_values(fields: Iterable[Field], wanted: frozenset[str]) -> dict[str, str]:
    """The first value of each field named in `wanted` (lower-case names)."""
    found: dict[str, str] = {}
    for name, value in fields:
        key = name.lower()
        if key in wanted and key not in found:
            found[key] = value
    return found


def build_envelope(fields: Iterable[Field]) -> Envelope:
    """The ENVELOPE of a message whose header fields are `fields` (first occurrence wins).

    RFC 3501 §7.4.2: a Sender or Reply-To that is absent or empty takes the
    value of From.
    """
    first = first_values(fields, _ENVELOPE_FIELDS)

    def addresses(name: str) -> list[tuple[str | None, str | None, str | None, str | None]]:
        value = first.get(name)
        return parse_address_list(value) if value else []

    from_ = addresses("from")
    return Envelope(
        date=first.get("date"),
        subject=first.get("subject"),
        from_=from_,
        sender=addresses("sender") or from_,
        reply_to=addresses("reply-to") or from_,
        to=addresses("to"),
        cc=addresses("cc"),
        bcc=addresses("bcc"),
        in_reply_to=first.get("in-reply-to"),
        message_id=first.get("message-id"),
    )


def msg_ids(value: str | None) -> list[str]:
    """The msg-id contents (without angle brackets) in a Message-ID-like value."""
    if not value:
        return []
    ids = [m for m in _MSG_ID.findall(value) if m.strip()]
    if not ids and value.strip() and "<" not in value:
        ids = value.split()[:1]  # a bare id, as some mailers write it
    return [i.strip() for i in ids]


def references(value: str | None) -> list[str]:
    """References ids (RFC 5322 §3.6.4): the first and the last MAX_REFERENCES - 1."""
    ids = msg_ids(value)
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1):]
    return ids
