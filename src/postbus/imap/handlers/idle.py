"""IDLE (RFC 2177, RFC 9051 §6.3.13).

After ``+ idling`` the session sleeps until the client sends DONE, the store
reports a change to the account's folders, or the server shuts down.  It
sleeps *parked*: the handler raises :class:`Parked` and the session's task
ends, so an idling connection holds no task and no coroutine frames (issue 11,
``bench/imap_idle_memory.py``); input, or a change reported through the
subscription's ``on_change``, starts the task again, which runs this handler
again with ``session.parked`` set.  A
change to the selected folder is announced at once (EXISTS, EXPUNGE, FETCH
FLAGS: all allowed while idling), well within the 100 ms clients expect.
The autologout timer keeps running: a client that idles past
``limits.idle_timeout`` without re-issuing IDLE is logged out (RFC 2177 §3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.outcome import Done, Parked
from postbus.imap.proto import Command, IdleDone, ImapBad, ProtocolError, writer

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def idle(session: ImapSession, cmd: Command) -> Done | None:
    changes = session.changes
    if session.parked is None:
        session.send(writer.continuation("idling"))
        session.receiver.expect_idle_done(cmd.tag)
    else:  # resumed: input or a change arrived
        session.parked = None
        if changes is not None:
            changes.on_change = None
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
        if changes is not None and changes.has_pending:
            continue
        session.parked = cmd
        if changes is not None:
            changes.on_change = session.resume
        raise Parked()

