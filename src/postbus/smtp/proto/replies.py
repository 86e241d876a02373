"""SMTP replies (RFC 5321 §4.2) with RFC 3463 enhanced status codes (RFC 2034).

A `Reply` is a value; `to_bytes()` renders it, one line or several:

    250-first line            RFC 5321 §4.2.1: "code-text" on every line but the
    250 last line             last, "code SP text" on the last

When the session has ENHANCEDSTATUSCODES on (RFC 2034 §3), every line carries the
enhanced code after the reply code; the greeting, EHLO/HELO replies and 3xx
continuations have none (`enhanced=None`). Reply texts are server text: a CR, LF
or other control character in them is a programming error (ValueError), which
keeps client bytes from ever splitting a reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .errors import SmtpSyntaxError

MAX_REPLY_LINE = 512  # RFC 5321 §4.5.3.1.5, including the code and CRLF
_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")  # RFC 3463 §2
_BAD_TEXT = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # textstring allows HT, not CR/LF


@dataclass(frozen=True)
class Reply:
    code: int
    enhanced: str | None
    text: str | list[str]

    def __post_init__(self) -> None:
        if not 200 <= self.code <= 599:
            raise ValueError(f"bad reply code {self.code}")
        if self.enhanced is not None and not (
            _ENHANCED.fullmatch(self.enhanced) and self.enhanced[0] == str(self.code)[0]
        ):
            raise ValueError(f"bad enhanced status code {self.enhanced!r} for {self.code}")
        for line in self.lines:
            if _BAD_TEXT.search(line):
                raise ValueError("control character in reply text")
            if len(line.encode()) + len(self.enhanced or "") + 7 > MAX_REPLY_LINE:
                raise ValueError("reply line too long")

    @property
    def lines(self) -> list[str]:
        return [self.text] if isinstance(self.text, str) else list(self.text) or [""]

    def to_bytes(self, *, enhanced_codes: bool = True) -> bytes:
        enhanced = self.enhanced if enhanced_codes else None
        lines = self.lines
        out: list[str] = []
        for n, line in enumerate(lines):
            separator = " " if n == len(lines) - 1 else "-"
            body = " ".join(part for part in (enhanced, line) if part)
            if body:
                out.append(f"{self.code}{separator}{body}\r\n")
            else:  # Reply-code [ SP textstring ] CRLF
                out.append(f"{self.code}{'' if separator == ' ' else '-'}\r\n")
        return "".join(out).encode()

    def with_text(self, text: str | list[str]) -> Reply:
        return replace(self, text=text)

    @classmethod
    def from_error(cls, exc: SmtpSyntaxError) -> Reply:
        return cls(exc.code, exc.enhanced, exc.text)


def greeting(hostname: str, text: str = "ESMTP Postbus") -> Reply:
    """RFC 5321 §4.2: 220 Domain SP textstring (no enhanced code, RFC 2034 §3)."""
    return Reply(220, None, f"{hostname} {text}")


def ehlo_reply(domain: str, extensions: Sequence[str], greet: str | None = None) -> Reply:
    """RFC 5321 §4.1.1.1 ehlo-ok-rsp: the domain line, then one line per extension."""
    first = f"{domain} {greet}" if greet else domain
    return Reply(250, None, [first, *extensions])


def helo_reply(domain: str) -> Reply:
    return Reply(250, None, domain)


# RFC 5321 §4.2.2-§4.2.3 codes, RFC 3463 enhanced codes.
OK = Reply(250, "2.0.0", "OK")
SENDER_OK = Reply(250, "2.1.0", "Sender OK")
RECIPIENT_OK = Reply(250, "2.1.5", "Recipient OK")
MESSAGE_ACCEPTED = Reply(250, "2.0.0", "Message accepted for delivery")
BYE = Reply(221, "2.0.0", "Bye")
HELP = Reply(214, "2.0.0", "See RFC 5321")
CANNOT_VRFY = Reply(252, "2.5.0", "Cannot VRFY user, but will accept message")  # §3.5.3
READY_FOR_TLS = Reply(220, "2.0.0", "Ready to start TLS")  # RFC 3207 §4
AUTH_SUCCEEDED = Reply(235, "2.7.0", "Authentication successful")  # RFC 4954 §6
START_MAIL_INPUT = Reply(354, None, "End data with <CR><LF>.<CR><LF>")

SERVICE_UNAVAILABLE = Reply(421, "4.3.2", "Service not available, closing transmission channel")
TOO_MANY_ERRORS = Reply(421, "4.7.0", "Too many errors, closing transmission channel")
TIMEOUT = Reply(421, "4.4.2", "Timeout, closing transmission channel")
LOCAL_ERROR = Reply(451, "4.3.0", "Local error in processing")
SERVER_BUSY = Reply(451, "4.3.0", "Server busy, try again later")  # executor.Overloaded
INSUFFICIENT_STORAGE = Reply(452, "4.3.1", "Insufficient system storage")
TOO_MANY_RECIPIENTS = Reply(452, "4.5.3", "Too many recipients")  # §4.5.3.1.10
TLS_NOT_AVAILABLE = Reply(454, "4.7.0", "TLS not available due to temporary reason")
AUTH_TEMPORARY_FAILURE = Reply(454, "4.7.0", "Temporary authentication failure")

SYNTAX_ERROR = Reply(500, "5.5.2", "Syntax error, command unrecognized")
LINE_TOO_LONG = Reply(500, "5.5.2", "Line too long")  # §4.5.3.1.4
AUTH_LINE_TOO_LONG = Reply(500, "5.5.6", "Authentication exchange line is too long")
BARE_LF_IN_COMMAND = Reply(500, "5.5.2", "Bare LF in command, use CRLF")
AUTH_CANCELLED = Reply(501, "5.0.0", "Authentication cancelled")  # RFC 4954 §4
NOT_IMPLEMENTED = Reply(502, "5.5.1", "Command not implemented")
BAD_SEQUENCE = Reply(503, "5.5.1", "Bad sequence of commands")
ALREADY_AUTHENTICATED = Reply(503, "5.5.1", "Already authenticated")
UNKNOWN_MECHANISM = Reply(504, "5.5.4", "Unrecognized authentication type")  # RFC 4954 §6
AUTH_REQUIRED = Reply(530, "5.7.0", "Authentication required")  # RFC 4954 §6
STARTTLS_REQUIRED = Reply(530, "5.7.0", "Must issue a STARTTLS command first")  # RFC 3207 §4
AUTH_INVALID = Reply(535, "5.7.8", "Authentication credentials invalid")  # RFC 4954 §6
ENCRYPTION_REQUIRED = Reply(538, "5.7.11", "Encryption required for requested authentication mechanism")
MAILBOX_UNAVAILABLE = Reply(550, "5.1.1", "Mailbox unavailable")
BARE_NEWLINE_IN_DATA = Reply(550, "5.5.2", "Message contains bare CR or LF, use CRLF line endings")
# RFC 5322 §2.1, RFC 2045 §2.7/§2.8: no 7bit or 8bit message carries NUL (and we offer
# no BINARYMIME). X.6.0 (RFC 3463 §3.7): the content, not the protocol, is at fault.
NUL_IN_DATA = Reply(550, "5.6.0", "Message contains NUL octets, which mail may not carry")
MESSAGE_TOO_BIG = Reply(552, "5.3.4", "Message size exceeds fixed maximum message size")  # RFC 1870
RELAY_DENIED = Reply(554, "5.7.1", "Relay access denied")
NO_VALID_RECIPIENTS = Reply(554, "5.5.1", "No valid recipients")
TRANSACTION_FAILED = Reply(554, "5.0.0", "Transaction failed")
PARAMETER_NOT_RECOGNIZED = Reply(555, "5.5.4", "Parameter not recognized")  # §4.1.1.11
