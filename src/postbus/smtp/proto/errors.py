"""The one exception the sans-IO SMTP core raises for bad client input.

A parser never writes a reply: it raises `SmtpSyntaxError` carrying the reply
code, the RFC 3463 enhanced status code and a short text, and the session turns
it into a wire reply in one place. The text never echoes client bytes, so a
reply can never carry a CR or LF supplied by the client.
"""

from __future__ import annotations


class SmtpSyntaxError(ValueError):
    """A command the session must refuse with `code enhanced text`.

    Codes used by the parsers: 500 (line or verb not recognised), 501 (bad
    arguments), 553 (mailbox name not allowed: too long, non-ASCII without
    SMTPUTF8), 555 (MAIL/RCPT parameter not recognised, RFC 5321 §4.1.1.11);
    `smtp.auth` also raises it for SASL errors (501, and 504 for an unknown
    mechanism, RFC 4954 §6).
    """

    def __init__(self, code: int, enhanced: str, text: str) -> None:
        super().__init__(f"{code} {enhanced} {text}")
        self.code = code
        self.enhanced = enhanced
        self.text = text
