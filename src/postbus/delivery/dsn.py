"""Delivery status notifications (RFC 3464) the queue and the pipeline send back to senders.

`build_dsn` makes a complete message: multipart/report (RFC 6522) with
report-type=delivery-status, a human-readable part, the message/delivery-status
part (one per-message block, then one block per recipient) and the original
message (message/rfc822) or only its header (text/rfc822-headers) as RET asks
(RFC 3461 §4.3). Pure functions: the queue decides when and to whom.

Invariants: a DSN is always sent with the null reverse-path, so that it can
never cause another DSN (RFC 3461 §6.2, RFC 5321 §4.5.5); every line ends in
CRLF; fields taken from remote replies have their control characters replaced.
"""

from __future__ import annotations

import email.utils
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from postbus.message import find_header_end

# RET absent: the whole message comes back only while it is this small; past
# it, the header alone (RFC 3461 §4.3 leaves the choice to the MTA).
MAX_RETURNED_BODY = 256 * 1024
MAX_DIAGNOSTIC = 512  # characters of a remote reply quoted back

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    """One recipient's line in the report."""

    address: str  # Final-Recipient
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # RFC 3463 code, e.g. "5.1.1"
    diagnostic: str = ""  # the remote reply, "550 5.1.1 no such user"
    remote_mta: str = ""  # host name of the server that answered
    orcpt: str = ""  # "rfc822;address" as the sender gave it (RFC 3461 §4.2)


def notify_allows(notify: str, kind: str) -> bool:
    """RFC 3461 §4.1: does NOTIFY ask for a `kind` (FAILURE, DELAY, SUCCESS) report?
    Without NOTIFY, failures and delays are reported."""
    kinds = {k.strip().upper() for k in notify.split(",") if k.strip()}
    if not kinds:
        return kind in ("FAILURE", "DELAY")
    return "NEVER" not in kinds and kind in kinds


def status_of(reply: str, permanent: bool) -> str:
    """The RFC 3463 code of an SMTP reply ("550 5.1.1 ..." → "5.1.1"), or a generic one."""
    code, _, rest = reply.strip().partition(" ")
    m = _ENHANCED.match(rest)
    if m and m.group(1) == code[:1]:
        return ".".join(m.groups())
    if code[:1] in ("4", "5") and code.isdigit():
        return f"{code[0]}.0.0"
    return "5.0.0" if permanent else "4.0.0"


def clean(text: str, limit: int = MAX_DIAGNOSTIC) -> str:
    return _CONTROLS.sub(" ", text).strip()[:limit]


def _date(ts: float) -> str:
    return email.utils.formatdate(ts, localtime=False, usegmt=True)


def _human_text(kind: str, hostname: str, recipients: Sequence[RecipientStatus],
                retry_until: float | None) -> str:
    if kind == "delayed":
        lines = [f"This is the mail system at {hostname}.", "",
                 "Your message could not be delivered yet to the recipients below.",
                 "It is still being retried; you do not need to send it again."]
        if retry_until is not None:
            lines.append(f"Delivery will be attempted until {_date(retry_until)}.")
    else:
        lines = [f"This is the mail system at {hostname}.", "",
                 "Your message could not be delivered to the recipients below.",
                 "This is a permanent error; the message will not be retried."]
    lines.append("")
    for r in recipients:
        lines.append(f"<{r.address}>: {r.diagnostic or r.status}")
    return "\r\n".join(lines) + "\r\n"


def _delivery_status(hostname: str, envid: str, arrival: float, now: float,
                     recipients: Sequence[RecipientStatus], retry_until: float | None) -> str:
    # RFC 3464 §2.2 per-message fields, then §2.3 per-recipient blocks.
    blocks = [[f"Reporting-MTA: dns; {hostname}"]]
    if envid:
        blocks[0].append(f"Original-Envelope-Id: {clean(envid, 100)}")
    blocks[0].append(f"Arrival-Date: {_date(arrival)}")
    for r in recipients:
        block = []
        if r.orcpt:
            kind, _, addr = r.orcpt.partition(";")
            block.append(f"Original-Recipient: {clean(kind, 20)};{clean(addr)}")
        block += [f"Final-Recipient: rfc822; {r.address}", f"Action: {r.action}",
                  f"Status: {r.status}"]
        if r.remote_mta:
            block.append(f"Remote-MTA: dns; {clean(r.remote_mta, 255)}")
        if r.diagnostic:
            block.append(f"Diagnostic-Code: smtp; {clean(r.diagnostic)}")
        block.append(f"Last-Attempt-Date: {_date(now)}")
        if r.action == "delayed" and retry_until is not None:
            block.append(f"Will-Retry-Until: {_date(retry_until)}")
        blocks.append(block)
    return "\r\n\r\n".join("\r\n".join(b) for b in blocks) + "\r\n"


def build_dsn(
    *,
    hostname: str,
    sender: str,
    original: bytes,
    recipients: Sequence[RecipientStatus],
    arrival: float,
    now: float,
    envid: str = "",
    ret: str = "",
    retry_until: float | None = None,
) -> bytes:
    """A complete RFC 3464 report for `sender` about `recipients`, all of one action."""
    kind = "delayed" if all(r.action == "delayed" for r in recipients) else "failed"
    boundary = f"{secrets.token_hex(12)}/{hostname}"
    subject = ("Delayed Mail (still being retried)" if kind == "delayed"
               else "Undelivered Mail Returned to Sender")
    header = (
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n"
        f"To: <{sender}>\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {_date(now)}\r\n"
        f"Message-ID: <{secrets.token_hex(16)}@{hostname}>\r\n"
        "Auto-Submitted: auto-replied\r\n"  # RFC 3834 §5
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        f'\tboundary="{boundary}"\r\n'
    )
    full = kind == "failed" and (ret.upper() == "FULL" or (
        ret.upper() != "HDRS" and len(original) <= MAX_RETURNED_BODY))
    if full:
        returned_type, returned = "message/rfc822", original
    else:
        end = find_header_end(original, 0, len(original))
        returned_type, returned = "text/rfc822-headers", original[:end]
    if not returned.endswith(b"\r\n"):
        returned += b"\r\n"
    parts = [
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + _human_text(kind, hostname, recipients, retry_until),
        "Content-Type: message/delivery-status\r\n\r\n"
        + _delivery_status(hostname, envid, arrival, now, recipients, retry_until),
    ]
    out = header.encode() + b"\r\nThis is a MIME-encapsulated delivery status report.\r\n"
    for part in parts:
        out += f"\r\n--{boundary}\r\n".encode() + part.encode()
    cte = "" if returned.isascii() else "Content-Transfer-Encoding: 8bit\r\n"
    out += f"\r\n--{boundary}\r\nContent-Type: {returned_type}\r\n{cte}\r\n".encode() + returned
    out += f"\r\n--{boundary}--\r\n".encode()
    return out
