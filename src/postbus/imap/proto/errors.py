"""The IMAP error taxonomy (STYLE habit 3).

Parsers and command handlers *raise* these; the session turns them into wire
replies in one place:

* :class:`ImapBad` -> tagged ``BAD`` (the command was malformed or not allowed),
* :class:`ImapNo`  -> tagged ``NO`` (well-formed but refused),
* :class:`ImapBye` -> untagged ``BYE`` and the connection is closed.

``code`` is the response code without brackets, possibly with arguments, e.g.
``"TOOBIG"`` or ``"BADCHARSET (US-ASCII UTF-8)"`` (RFC 9051 §7.1).
"""

from typing import ClassVar


class ImapError(Exception):
    """Base of the taxonomy; ``status`` is the wire status word."""

    status: ClassVar[str] = "BAD"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ImapBad(ImapError):
    """Syntax error or command not valid now: tagged ``BAD``."""

    status: ClassVar[str] = "BAD"


class ImapNo(ImapError):
    """Refusal of a well-formed command: tagged ``NO``."""

    status: ClassVar[str] = "NO"


class ImapBye(ImapError):
    """The server ends the connection: untagged ``BYE``."""

    status: ClassVar[str] = "BYE"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message, code)
