"""Vacation auto-replies (RFC 3834).

After a message is delivered to a mailbox with an active vacation rule, one
reply goes back to the envelope sender, at most once per interval per sender,
and never to mail that must not be answered (§2): automatic mail
(Auto-Submitted other than "no"), lists and bulk mail (List-*, Precedence
bulk/list/junk), the null sender and system senders (MAILER-DAEMON, owner-,
-request), and mail on which the mailbox is not named in To/Cc/Bcc (it came
through a list or a Bcc-style alias; §2 allows replying but advises care).
The reply is sent from the null reverse-path with `Auto-Submitted:
auto-replied` (§3.1.7), `In-Reply-To` and `References` (§3.1.4).
"""

from __future__ import annotations

import email.utils
import time
import uuid
from email.header import Header

from postbus.message import get_header
from postbus.message.model import MessageMeta

_SYSTEM_LOCALPARTS = ("mailer-daemon", "postmaster", "listserv", "majordomo", "noreply", "no-reply")


def must_not_reply(raw_header: bytes, sender: str, recipient: str, meta: MessageMeta) -> str | None:
    """Why no reply may be sent, or None when a reply is allowed."""
    if not sender:
        return "null sender"
    local = sender.rpartition("@")[0].lower()
    if local in _SYSTEM_LOCALPARTS or local.startswith("owner-") or local.endswith("-request"):
        return "system sender"
    for value in get_header(raw_header, "Auto-Submitted"):
        if value.strip().lower() != "no":
            return "automatic message"
    for value in get_header(raw_header, "Precedence"):
        if value.strip().lower() in ("bulk", "list", "junk"):
            return "bulk or list message"
    for name in ("List-Id", "List-Unsubscribe", "List-Post", "Feedback-ID"):
        if get_header(raw_header, name):
            return "list message"
    # Envelope addresses are (name, adl, mailbox, host) tuples (RFC 3501 §7.4.2).
    named = {
        f"{mailbox}@{host}".lower()
        for _, _, mailbox, host in (*meta.envelope.to, *meta.envelope.cc, *meta.envelope.bcc)
        if mailbox and host
    }
    if recipient.lower() not in named:
        return "mailbox not named in To or Cc"
    return None


def build_reply(
    *, mailbox: str, to: str, subject: str, body: str, meta: MessageMeta, hostname: str,
    now: float | None = None,
) -> bytes:
    """The auto-reply message (CRLF line endings, UTF-8 body)."""
    now = time.time() if now is None else now
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
        "Content-Transfer-Encoding: 8bit",
    ]
    if original:
        lines.append(f"In-Reply-To: <{original}>")
    if references:
        lines.append("References: " + " ".join(f"<{r}>" for r in references[-10:]))
    text = body.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    if not text.endswith("\r\n"):
        text += "\r\n"
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + text.encode("utf-8")
