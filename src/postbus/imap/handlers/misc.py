"""CAPABILITY, NOOP, CHECK, LOGOUT, ID, ENABLE and NAMESPACE."""

from __future__ import annotations

from typing import TYPE_CHECKING

import postbus
from postbus.imap.outcome import Done
from postbus.imap.proto import Command, EnableArgs, responses, writer
from postbus.imap.state import State
from postbus.mailbox.types import DELIMITER

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

#: RFC 2971 §3.3: what the server says about itself.
SERVER_ID = (("name", "Postbus"), ("version", postbus.__version__))
#: ENABLE-able capabilities (RFC 5161) → canonical spelling; others are ignored,
#: as RFC 5161 §3.1 asks.
ENABLEABLE = {
    "UTF8=ACCEPT": "UTF8=ACCEPT", "IMAP4REV2": "IMAP4rev2",
    "CONDSTORE": "CONDSTORE", "QRESYNC": "QRESYNC",  # RFC 7162 §3.1, §3.2.3
}


async def capability(session: ImapSession, cmd: Command) -> Done | None:
    session.send(responses.capability(session.capabilities()))
    return None


async def noop(session: ImapSession, cmd: Command) -> Done | None:
    """RFC 9051 §6.1.2: nothing to do; the session announces changes afterwards."""
    return None


async def check(session: ImapSession, cmd: Command) -> Done | None:
    """RFC 3501 §6.4.1: every change is already durable, so CHECK is a NOOP."""
    return None


async def logout(session: ImapSession, cmd: Command) -> Done | None:
    session.send(writer.untagged_status("BYE", "Logging out"))  # RFC 9051 §6.1.3
    session.state = State.LOGOUT
    return None


async def id_(session: ImapSession, cmd: Command) -> Done | None:
    session.send(responses.id_(SERVER_ID))
    return None


async def enable(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, EnableArgs)
    enabled: list[str] = []
    for name in args.capabilities:
        canonical = ENABLEABLE.get(name.upper())
        if canonical == "CONDSTORE" or canonical == "QRESYNC":
            # RFC 5161 §3.2: list only what this command newly enabled.
            if not (session.qresync if canonical == "QRESYNC" else session.condstore):
                session.enable_condstore(qresync=canonical == "QRESYNC")
                enabled.append(canonical)
            continue
        if canonical == "IMAP4rev2" and not session.rev2:
            session.rev2 = True  # RFC 9051 §6.3.1: rev2 names are UTF-8
        elif canonical != "UTF8=ACCEPT" or session.utf8:
            continue
        session.utf8 = session.receiver.utf8 = True
        enabled.append(canonical)
    session.send(responses.enabled(enabled))
    return None


async def namespace(session: ImapSession, cmd: Command) -> Done | None:
    """RFC 2342: one personal namespace with no prefix; no shared folders."""
    session.send(responses.namespace((("", DELIMITER),)))
    return None
