"""The message a reply or forward starts from, read once from its folder.

Parsed with the standard library's `email` package (policy `default`) on the
executor's CPU pool; a message up to the size limit takes milliseconds, and
it happens once per reply, not per page. Only what a reply or forward needs is
kept: the originator and recipient fields, Message-ID and References, the
subject and date, the text a reader sees first (HTML reduced to text) and the
attachments.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage, Message

from postbus import executor
from postbus.compose.errors import ComposeRefused
from postbus.compose.limits import MAX_QUOTED_CHARS, MAX_REFERENCES
from postbus.compose.mime import Attachment
from postbus.compose.recipients import Addressee, addressee
from postbus.message.addresses import parse_address_list
from postbus.message.text import html_to_text
from postbus.message.words import decode_header_value

_MSG_ID_CHARS = 998  # RFC 5322 §2.1.1: no field line is longer


@dataclass(frozen=True, slots=True)
class Original:
    raw: bytes
    message_id: str  # with its angle brackets, or ""
    references: tuple[str, ...]
    subject: str
    date: str  # as written in the Date field
    from_: tuple[Addressee, ...]
    reply_to: tuple[Addressee, ...]
    to: tuple[Addressee, ...]
    cc: tuple[Addressee, ...]
    bcc: tuple[Addressee, ...]  # in our own Drafts and Sent copies
    in_reply_to: str
    text: str  # what a reader sees first, as plain text
    attachments: tuple[Attachment, ...]


def addressees(value: str | None) -> tuple[Addressee, ...]:
    """The valid mailboxes of a header value; a bad one is left out (a reply
    should not fail for an odd address in someone else's Cc)."""
    if not value:
        return ()
    found = []
    for name, _adl, local, host in parse_address_list(str(value)):
        if local is None or host is None or host == "MISSING_DOMAIN":
            continue
        try:
            found.append(addressee(local, host, decode_header_value(name) if name else ""))
        except ComposeRefused:
            continue
    return tuple(found)


def _msg_ids(value: str | None) -> list[str]:
    """The msg-id tokens (`<...>`) of a Message-ID/References value (RFC 5322 §3.6.4)."""
    if not value:
        return []
    out: list[str] = []
    pos, text = 0, str(value)[:MAX_REFERENCES * _MSG_ID_CHARS]
    while True:
        start = text.find("<", pos)
        end = text.find(">", start + 1)
        if start < 0 or end < 0:
            return out
        token = text[start:end + 1]
        if " " not in token and "\t" not in token and len(token) > 2:
            out.append(token)
        pos = end + 1


def _raw_field(msg: Message, name: str) -> str | None:
    value = msg.get(name)
    return None if value is None else str(value)


def _text_of(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        text = body.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = body.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(text, str):
        return ""
    if body.get_content_subtype() == "html":
        text = html_to_text(text)
    return text[:MAX_QUOTED_CHARS]


def _attachments_of(msg: EmailMessage) -> tuple[Attachment, ...]:
    found = []
    for part in msg.iter_attachments():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            data = first.as_bytes() if isinstance(first, Message) else b""
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        found.append(Attachment(part.get_filename() or "attachment", part.get_content_type(), data))
    return tuple(found)


def parse(raw: bytes) -> Original:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    ids = _msg_ids(_raw_field(msg, "Message-ID"))
    return Original(
        raw=raw,
        message_id=ids[0] if ids else "",
        references=tuple(_msg_ids(_raw_field(msg, "References"))),
        subject=decode_header_value(_raw_field(msg, "Subject") or "").strip(),
        date=(_raw_field(msg, "Date") or "").strip(),
        from_=addressees(_raw_field(msg, "From")),
        reply_to=addressees(_raw_field(msg, "Reply-To")),
        to=addressees(_raw_field(msg, "To")),
        cc=addressees(_raw_field(msg, "Cc")),
        bcc=addressees(_raw_field(msg, "Bcc")),
        in_reply_to=next(iter(_msg_ids(_raw_field(msg, "In-Reply-To"))), ""),
        text=_text_of(msg),
        attachments=_attachments_of(msg),
    )


async def parse_off_loop(raw: bytes) -> Original:
    return await executor.run(executor.CPU, parse, raw)
