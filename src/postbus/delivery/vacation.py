"""Vacation auto-replies (RFC 3834, with the semantics of Sieve vacation, RFC 5230).

After a message is delivered to a mailbox with an active vacation rule, one
reply goes back to the envelope sender (RFC 3834 §4: the Return-Path), at
most once per sender per interval (RFC 5230 §4.1, default 7 days), and never
to mail that must not be answered (RFC 3834 §2, RFC 5230 §4.5):

- automatic mail: `Auto-Submitted` other than "no" (RFC 3834 §5), and
  Microsoft's `X-Auto-Response-Suppress: All|OOF|AutoReply`;
- lists and bulk mail: any `List-*` field (RFC 2369, RFC 2919),
  `Precedence: bulk|list|junk` (and the common `auto_reply`);
- the null sender and system senders: MAILER-DAEMON, postmaster, owner-*,
  *-request, noreply and its spellings, LISTSERV, majordomo;
- the mailbox's own mail (RFC 5230 §4.5: no reply to oneself);
- mail on which neither the mailbox nor one of its aliases is named in To,
  Cc, Bcc, Resent-To or Resent-Cc (RFC 5230 §4.5: it came through a list,
  a Bcc-style copy or a catch-all).

The reply (RFC 3834 §3): From the mailbox, `Auto-Submitted: auto-replied`
(§3.1.7), `In-Reply-To` and `References` (§3.1.4), the configured subject or
"Auto: " and the original one (§3.1.5), sent from the null reverse-path so it
cannot itself trigger replies or bounces (§3.3). The subject and body an
administrator wrote are data: copied into the reply as text, never expanded
as a template.
"""

from __future__ import annotations

import email.utils
import quopri
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from email.header import Header

from postbus.accounts.address import AddressError, base_address, normalize_address
from postbus.message import decode_header_value, get_header
from postbus.message.headers import parse_fields
from postbus.message.model import MessageMeta

_SYSTEM_LOCALPARTS = frozenset((
    "mailer-daemon", "postmaster", "listserv", "majordomo", "noreply", "no-reply", "no_reply",
    "donotreply", "do-not-reply", "do_not_reply",
))
_BULK_PRECEDENCE = frozenset(("bulk", "list", "junk", "auto_reply"))
_SUPPRESS = frozenset(("all", "oof", "autoreply"))  # X-Auto-Response-Suppress values
MAX_NAMED = 100  # recipients of one message looked at for "addressed to the mailbox"
MAX_ORIGINAL_SUBJECT = 200  # characters of the original subject after "Auto: "
MAX_REFERENCES = 10  # msg-ids carried over into References
MAX_LINE = 998  # RFC 5322 §2.1.1: octets per line; longer body lines go quoted-printable
DEFAULT_SUBJECT_PREFIX = "Auto: "  # RFC 3834 §3.1.5


def named_recipients(raw_header: bytes, meta: MessageMeta) -> list[str]:
    """The addresses in To, Cc, Bcc, Resent-To and Resent-Cc, lowercased (at most MAX_NAMED)."""
    # Envelope addresses are (name, adl, mailbox, host) tuples (RFC 3501 §7.4.2).
    named = [f"{mailbox}@{host}".lower()
             for _, _, mailbox, host in (*meta.envelope.to, *meta.envelope.cc, *meta.envelope.bcc)
             if mailbox and host]
    resent = [v for name in ("Resent-To", "Resent-Cc") for v in get_header(raw_header, name)]
    named += [addr.lower() for _, addr in email.utils.getaddresses(resent) if "@" in addr]
    return list(dict.fromkeys(named))[:MAX_NAMED]


async def addressed_to(
    mailbox: str, named: Iterable[str], alias_targets: Callable[[str], Awaitable[Sequence[str] | None]],
    *, recipient_delimiter: str = "+",
) -> bool:
    """True when `mailbox` itself, a plus-address of it, or an alias whose targets
    include it is among the `named` recipients (RFC 5230 §4.5 :addresses)."""
    for address in named:
        try:
            address = normalize_address(address)
        except AddressError:
            continue
        candidates = [address]
        base = base_address(address, recipient_delimiter) if recipient_delimiter else None
        if base is not None:
            candidates.append(base)
        for candidate in candidates:
            if candidate == mailbox:
                return True
            targets = await alias_targets(candidate)
            if targets is not None and mailbox in targets:
                return True
    return False


def must_not_reply(raw_header: bytes, sender: str, mailbox: str, *, addressed: bool) -> str | None:
    """Why no reply may be sent, or None when a reply is allowed. `addressed`:
    the mailbox or one of its aliases is named in the message (`addressed_to`)."""
    if not sender:
        return "null sender"
    local = sender.rpartition("@")[0].lower()
    if local in _SYSTEM_LOCALPARTS or local.startswith("owner-") or local.endswith("-request"):
        return "system sender"
    if sender.lower() == mailbox.lower():
        return "own message"
    for value in get_header(raw_header, "Auto-Submitted"):
        # RFC 3834 §5: the keyword may be followed by parameters ("auto-generated; x=y")
        if value.partition(";")[0].strip().lower() != "no":
            return "automatic message"
    for value in get_header(raw_header, "X-Auto-Response-Suppress"):
        if {v.strip().lower() for v in value.split(",")} & _SUPPRESS:
            return "automatic message"
    for value in get_header(raw_header, "Precedence"):
        if value.strip().lower() in _BULK_PRECEDENCE:
            return "bulk or list message"
    for name, _ in parse_fields(raw_header, 0, len(raw_header)):
        if name.lower().startswith("list-"):  # RFC 2369 and RFC 2919 (List-Id)
            return "list message"
    if not addressed:
        return "mailbox not named in To or Cc"
    return None


def reply_subject(configured: str, meta: MessageMeta) -> str:
    """The configured subject, or "Auto: " and the original subject (one line)."""
    if configured.strip():
        return configured
    original = decode_header_value(meta.envelope.subject or "")
    original = " ".join(original.split())[:MAX_ORIGINAL_SUBJECT]
    return (DEFAULT_SUBJECT_PREFIX + original).strip()


def build_reply(
    *, mailbox: str, to: str, subject: str, body: str, meta: MessageMeta, hostname: str,
    now: float | None = None,
) -> bytes:
    """The auto-reply message (CRLF line endings, UTF-8 body)."""
    now = time.time() if now is None else now
    subject = reply_subject(subject, meta)
    original = meta.message_id
    references = [*meta.references, original] if original else list(meta.references)
    lines = [
        f"From: {mailbox}",
        f"To: {to}",
        f"Subject: {subject if subject.isascii() else Header(subject, 'utf-8').encode()}",
        f"Date: {email.utils.formatdate(now)}",
        f"Message-ID: <{uuid.uuid4().hex}@{hostname}>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if original:
        lines.append(f"In-Reply-To: <{original}>")
    if references:
        lines.append("References: " + " ".join(f"<{r}>" for r in references[-MAX_REFERENCES:]))
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    payload = text.encode("utf-8")
    if any(len(line) > MAX_LINE for line in payload.split(b"\n")):
        lines.append("Content-Transfer-Encoding: quoted-printable")
        payload = quopri.encodestring(payload)
    else:
        lines.append("Content-Transfer-Encoding: 8bit")
    payload = payload.replace(b"\n", b"\r\n")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
