"""The IMAP listeners: ``imaps`` (implicit TLS, RFC 8314) and ``imap`` (STARTTLS).

The server binds the sockets; each connection gets one
:class:`~postbus.imap.session.ImapSession` on the net layer, which does the
implicit TLS handshake and holds the listener's connection limits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from postbus.app import App
from postbus.imap.session import ImapSession
from postbus.net.connection import make_listener

SERVICES = ("imaps", "imap")


def protocol_factory(app: App, service_name: str) -> Callable[[], asyncio.Protocol]:
    if service_name not in SERVICES:
        raise ValueError(f"not an IMAP service: {service_name}")
    listener = make_listener(app, service_name)

    def factory() -> asyncio.Protocol:
        return ImapSession(app, service_name, listener)

    return factory
