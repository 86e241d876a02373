"""Trace header fields we prepend to every message we accept: Received and Return-Path.

RFC 5321 §4.4: each SMTP server that accepts a message adds a Received field at
the top; the server that makes the final delivery adds Return-Path with the
envelope sender. The `with` keyword names the protocol (RFC 3848, RFC 6531 §4.3:
SMTP, ESMTP, ESMTPA, ESMTPS, ESMTPSA and their UTF8 forms).

Invariant: every octet we write comes from our own settings or from client
values that were validated and then reduced to a safe character set here, so a
client can never inject a CR, LF or a second header field through its HELO
name, its address or its TLS parameters.
"""

from __future__ import annotations

import datetime
import email.utils
import ipaddress
import re
from dataclasses import dataclass

MAX_HELO_IN_TRACE = 255  # RFC 5321 §4.5.3.1.2: a domain is at most 255 octets
# What survives of a HELO argument in the trace: the characters of a domain or
# an address literal. Everything else becomes "_" (RFC 5321 §4.4 wants the
# argument "as sent"; a cleaned form is what every MTA actually writes).
_HELO_UNSAFE = re.compile(r"[^A-Za-z0-9.:\-\[\]_]")
_PRINTABLE_UNSAFE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Who handed us a message, as our Received field describes it."""

    ip: str  # textual IPv4 or IPv6 address; "" for in-process senders (webmail)
    helo: str = ""  # the EHLO/HELO argument as sent
    rdns: str = ""  # verified reverse DNS name, "" when unknown
    esmtp: bool = True  # EHLO (not HELO) was used
    tls: str = ""  # e.g. "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384"; "" for plain text
    authenticated: bool = False
    smtputf8: bool = False  # the transaction used SMTPUTF8 (RFC 6531)
    via: str = "SMTP"  # the protocol family for in-process senders, e.g. "HTTP"


def protocol_keyword(client: ClientInfo) -> str:
    """The `with` value: RFC 3848 §2 and RFC 6531 §4.3 (UTF8SMTP, UTF8SMTPSA...)."""
    if client.via != "SMTP":
        return client.via
    if client.smtputf8:
        name = "UTF8SMTP"
    else:
        name = "ESMTP" if client.esmtp else "SMTP"
    if client.tls:
        name += "S"
    if client.authenticated:
        name += "A"
    return name


def address_literal(ip: str) -> str:
    """RFC 5321 §4.1.3: `[192.0.2.1]` or `[IPv6:2001:db8::1]`."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return "[unknown]"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return f"[{parsed.ipv4_mapped}]"
        return f"[IPv6:{parsed.compressed}]"
    return f"[{parsed}]"


def clean_helo(helo: str) -> str:
    text = _HELO_UNSAFE.sub("_", helo[:MAX_HELO_IN_TRACE])
    return text or "unknown"


def format_date(when: datetime.datetime | None = None) -> str:
    """RFC 5322 §3.3 date-time in UTC, e.g. "Tue, 01 Jul 2025 10:00:00 +0000"."""
    return email.utils.format_datetime(when or datetime.datetime.now(datetime.UTC))


def received_header(
    client: ClientInfo,
    *,
    hostname: str,
    message_id: str,
    recipient: str | None = None,
    when: datetime.datetime | None = None,
) -> bytes:
    """One complete Received field, folded, ending in CRLF.

    RFC 5321 §4.4 Time-stamp-line:
        "Received:" FWS Stamp  with  Stamp = From-domain By-domain Opt-info [CFWS] ";" date-time
    `recipient` is given only for a single-recipient message: listing several
    recipients would disclose Bcc addresses to every one of them.
    """
    lines = []
    if client.ip:
        tcp_info = address_literal(client.ip)
        if client.rdns:
            tcp_info = f"{clean_helo(client.rdns)} {tcp_info}"
        lines.append(f"Received: from {clean_helo(client.helo)} ({tcp_info})")
        lines.append(f"\tby {hostname} (Postbus) with {protocol_keyword(client)} id {message_id}")
    else:
        lines.append(f"Received: by {hostname} (Postbus) with {protocol_keyword(client)}"
                     f" id {message_id}")
    if client.tls:
        lines.append(f"\t(using {_PRINTABLE_UNSAFE.sub('_', client.tls)})")
    if recipient is not None:
        lines.append(f"\tfor <{_safe_address(recipient)}>;")
    else:
        lines[-1] += ";"
    lines.append(f"\t{format_date(when)}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def return_path_header(sender: str) -> bytes:
    """RFC 5321 §4.4: `Return-Path: <reverse-path>`, `<>` for the null sender."""
    return f"Return-Path: <{_safe_address(sender)}>\r\n".encode()


def _safe_address(address: str) -> str:
    # Addresses come from the SMTP parser, which refuses controls; keep the field
    # a single line even if a caller passes something else.
    return "".join(ch for ch in address if ch >= " " and ch != "\x7f" and ch not in "<>")
