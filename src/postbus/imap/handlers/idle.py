"""IDLE (RFC 2177, RFC 9051 §6.3.13).

After ``+ idling`` the session sleeps until the client sends DONE, the store
reports a change to the account's folders, or the server shuts down.  A
change to the selected folder is announced at once (EXISTS, EXPUNGE, FETCH
FLAGS: all allowed while idling), well within the 100 ms clients expect.
The autologout timer keeps running: a client that idles past
``limits.idle_timeout`` without re-issuing IDLE is logged out (RFC 2177 §3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import Command, IdleDone, ImapBad, ProtocolError, writer

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def idle(session: ImapSession, cmd: Command) -> Done | None:
    session.send(writer.continuation("idling"))
    session.receiver.expect_idle_done(cmd.tag)
    while True:
        await session.sync(expunge=True)
        await session.drain()
        event = await session.poll_event()
        if isinstance(event, IdleDone):
            return None
        if isinstance(event, ProtocolError):
            raise ImapBad(event.message, event.code)
        if event is not None:  # the receiver yields nothing else in IDLE mode
            raise ImapBad("Expected DONE to end IDLE")
        await _wait(session)


async def _wait(session: ImapSession) -> None:
    """Sleep until input arrives or the account's folders change.

    The subscription wakes the session through a callback rather than a task
    waiting on it, so that an idling connection holds one suspended task only
    (issue 11, ``bench/imap_idle_memory.py``)."""
    changes = session.changes
    if changes is None:
        await session.sleep(None)
        return
    if changes.has_pending:
        return
    changes.on_change = session.wake
    try:
        await session.sleep(None)
    finally:
        changes.on_change = None
