"""What a command handler returns, and the session's own control-flow exceptions.

A handler writes untagged data through the session and returns a :class:`Done`
(or None for the plain ``OK <command> completed``).  Refusals are raised as
``ImapBad`` / ``ImapNo`` / ``ImapBye`` (postbus.imap.proto.errors) and turned
into wire replies by the session, in one place.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Done:
    """The tagged OK: optional text and response code (without brackets).

    ``after`` runs once the tagged reply is on the wire (STARTTLS starts the
    handshake there; nothing may be written between the OK and the handshake).
    """

    text: str | None = None
    code: str | None = None
    after: Callable[[], Awaitable[None]] | None = None


class Parked(Exception):
    """The command waits for input without a task (IDLE): no reply now; the session
    runs the command again when input or a change arrives (``ImapSession.parked``)."""


class SessionClosed(Exception):
    """The connection is gone (or going): stop the command without a reply."""
