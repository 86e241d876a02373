"""Events returned by :meth:`Receiver.next_event`.

Each event is a small immutable value; the session reacts to exactly one event
at a time (h11 style).  :class:`~postbus.imap.proto.commands.Command` is also an
event; it lives with the argument types in ``commands.py``.
"""

from dataclasses import dataclass
from typing import Literal

from .commands import Command


@dataclass(frozen=True, slots=True)
class NeedData:
    """No complete event is buffered: read more bytes and :meth:`feed` them."""


NEED_DATA = NeedData()


@dataclass(frozen=True, slots=True)
class NeedContinuation:
    """A synchronising literal ``{size}`` was announced and accepted.

    The session must send a continuation request (``+ Ready for literal data``)
    before the client sends the ``size`` octets (RFC 9051 §7.5).
    """

    size: int


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """A precise refusal of the bytes received.

    ``status`` is ``"BAD"`` (syntax, limits) or ``"NO"`` (e.g. ``NO [TOOBIG]``
    for an APPEND over the limit, ``NO [BADCHARSET]``); ``tag`` is None when the
    line had no usable tag (reply untagged).  ``fatal`` means the byte stream
    can no longer be followed and the session must send ``BYE`` and close.
    The receiver is always ready for the next command after a non-fatal error.
    """

    tag: str | None
    message: str
    code: str | None = None
    fatal: bool = False
    status: Literal["BAD", "NO"] = "BAD"


@dataclass(frozen=True, slots=True)
class IdleDone:
    """The ``DONE`` line that ends IDLE (RFC 2177, RFC 9051 §6.3.13)."""


@dataclass(frozen=True, slots=True)
class AuthLine:
    """One AUTHENTICATE client response line (RFC 9051 §6.2.2), CRLF stripped.

    ``data`` is still base64 text; ``b"*"`` means the client cancels.
    """

    data: bytes

    @property
    def cancelled(self) -> bool:
        return self.data == b"*"


Event = Command | NeedData | NeedContinuation | ProtocolError | IdleDone | AuthLine
