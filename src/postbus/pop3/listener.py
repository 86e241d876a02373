"""The POP3 listeners: `pop3s` (implicit TLS, RFC 8314 §3.3) and `pop3` (STLS).

`server.py` binds the sockets; each connection gets a fresh `Pop3Session` on
the net layer, which does the implicit TLS handshake and holds the listener's
connection limits (the one past a limit gets "-ERR [SYS/TEMP]" and is closed,
before any login).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from postbus.app import App
from postbus.net.connection import make_listener
from postbus.pop3.session import Pop3Session

SERVICES = ("pop3s", "pop3")


def protocol_factory(app: App, service: str) -> Callable[[], asyncio.Protocol]:
    if service not in SERVICES:
        raise ValueError(f"not a POP3 service: {service}")
    listener = make_listener(app, service)

    def factory() -> asyncio.Protocol:
        return Pop3Session(app, service, listener)

    return factory
