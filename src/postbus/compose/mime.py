"""A message built from what the user wrote: RFC 5322 fields, a text/plain body
(RFC 2045/2046, UTF-8, quoted-printable when needed) and attachments, as
multipart/mixed when there are any.

Built with the standard library's `email` package under its SMTP policy (CRLF,
lines folded at 78, encoded words for non-ASCII text, RFC 2047; RFC 2231 file
names). A message/rfc822 attachment (forward as attachment, RFC 2046 §5.2.1) is
put in byte for byte, with 7bit or 8bit encoding as its octets need, never
base64: a forwarded message keeps its signatures and its readers can open it.
"""

from __future__ import annotations

import datetime
import email.policy
import re
import secrets
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage, Message

from postbus.compose.limits import MAX_FILENAME_CHARS
from postbus.compose.recipients import Addressee

_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_CONTENT_TYPE = re.compile(f"({_TOKEN})/({_TOKEN})")
#: C0 and C1 controls and the Unicode line separators: str.splitlines() breaks at some of them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_FILENAME_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029/\\\\]")
RFC822 = "message/rfc822"
POLICY = email.policy.SMTP


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # "type/subtype" as given; see `safe_content_type`
    data: bytes


@dataclass(frozen=True, slots=True)
class Composed:
    """Everything that goes into one message."""

    sender: Addressee
    to: tuple[Addressee, ...] = ()
    cc: tuple[Addressee, ...] = ()
    bcc: tuple[Addressee, ...] = ()
    subject: str = ""
    body: str = ""  # the signature already in it
    attachments: tuple[Attachment, ...] = ()
    in_reply_to: str = ""  # one msg-id with its angle brackets, or ""
    references: tuple[str, ...] = ()
    message_id: str = ""  # "" makes one
    date: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC))


def new_message_id(domain: str) -> str:
    """RFC 5322 §3.6.4: unique by its random left part, our sender's domain on the right."""
    return f"<{secrets.token_urlsafe(18)}@{domain}>"


def safe_content_type(value: str) -> tuple[str, str]:
    """(maintype, subtype) of an attachment; anything odd is application/octet-stream.
    A multipart type is never taken from a browser: its boundary would be ours to make."""
    m = _CONTENT_TYPE.fullmatch(value.strip().lower())
    if m is None or m.group(1) == "multipart":
        return "application", "octet-stream"
    return m.group(1), m.group(2)


def safe_filename(name: str) -> str:
    """The last path component, without control characters, bounded; never empty."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _FILENAME_UNSAFE.sub("_", base).strip().lstrip(".")
    return base[-MAX_FILENAME_CHARS:] or "attachment"


def _address(a: Addressee) -> Address:
    local, _, domain = a.address.rpartition("@")
    return Address(display_name=_CONTROL.sub(" ", a.name).strip(), username=local, domain=domain)


def build(c: Composed, *, with_bcc: bool) -> bytes:
    """The message as octets with CRLF line ends. `with_bcc`: keep the Bcc field
    (the copies in Drafts and Sent; never the one delivered, RFC 5322 §3.6.3)."""
    msg = EmailMessage(policy=POLICY)
    msg["Date"] = c.date  # RFC 5322 §3.6.1
    msg["From"] = _address(c.sender)
    if c.to:
        msg["To"] = [_address(a) for a in c.to]
    if c.cc:
        msg["Cc"] = [_address(a) for a in c.cc]
    if c.bcc and with_bcc:
        msg["Bcc"] = [_address(a) for a in c.bcc]
    subject = _CONTROL.sub(" ", c.subject).strip()
    if subject:
        msg["Subject"] = subject  # no CR or LF: a header field cannot be forged through it
    msg["Message-ID"] = c.message_id or new_message_id(c.sender.address.rpartition("@")[2])
    if c.in_reply_to:
        msg["In-Reply-To"] = c.in_reply_to
    if c.references:
        msg["References"] = " ".join(c.references)
    body = c.body.replace("\r\n", "\n").replace("\r", "\n")
    if body and not body.endswith("\n"):
        body += "\n"
    msg.set_content(body, subtype="plain", charset="utf-8")
    spliced: dict[bytes, bytes] = {}
    for attachment in c.attachments:
        maintype, subtype = safe_content_type(attachment.content_type)
        filename = safe_filename(attachment.filename)
        if (maintype, subtype) == ("message", "rfc822"):
            marker = f"POSTBUS-RFC822-{secrets.token_hex(16)}"
            msg.add_attachment(marker, disposition="attachment", filename=filename, cte="7bit")
            parts = msg.get_payload()
            assert isinstance(parts, list)
            part = parts[-1]
            assert isinstance(part, Message)
            part.replace_header("Content-Type", RFC822)
            cte = "7bit" if attachment.data.isascii() else "8bit"
            part.replace_header("Content-Transfer-Encoding", cte)
            spliced[marker.encode()] = _crlf(attachment.data)
        elif maintype == "message":  # other message/* types: as opaque data
            msg.add_attachment(attachment.data, maintype="application", subtype="octet-stream",
                               filename=filename)
        else:
            msg.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                               filename=filename)
    if msg.is_multipart():
        # random, so a spliced original cannot hold it (RFC 2046 §5.1.1)
        msg.set_boundary(f"=_postbus_{secrets.token_hex(16)}")
    raw = msg.as_bytes(policy=POLICY)
    for token, data in spliced.items():
        # The generator ends a message/rfc822 payload given as text with a bare LF.
        def octets(_m: re.Match[bytes], data: bytes = data) -> bytes:
            return data.rstrip(b"\r\n") + b"\r\n"

        raw = re.sub(re.escape(token) + rb"\r?\n", octets, raw, count=1)
    return raw


def _crlf(data: bytes) -> bytes:
    """Line ends as CRLF (RFC 5322 §2.1), whatever the original used."""
    return re.sub(rb"\r?\n|\r", b"\r\n", data)
