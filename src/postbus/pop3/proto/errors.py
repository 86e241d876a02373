"""The one exception the sans-IO POP3 core raises for bad client input.

The session turns it into `-ERR text` (with an RFC 2449 response code when one is
set) in one place. The text never echoes client bytes.
"""

from __future__ import annotations


class Pop3Error(ValueError):
    def __init__(self, text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.code = code  # an RFC 2449 §8 response code such as "AUTH", or None
