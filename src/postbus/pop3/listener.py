"""The POP3 listeners: `pop3s` (implicit TLS, RFC 8314 §3.3) and `pop3` (STLS).

`server.py` binds the sockets and wraps `pop3s` in TLS; each connection gets a
fresh `Pop3Session`. One `PeerLimit` per listener holds the number of open
connections per client address to `limits.max_connections_per_ip`: the one
past the limit gets "-ERR [SYS/TEMP]" and is closed at once, before any login.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from postbus.app import App
from postbus.pop3.session import Pop3Session

SERVICES = ("pop3s", "pop3")


class PeerLimit:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def enter(self, peer: str) -> bool:
        count = self._open.get(peer, 0)
        if self.limit > 0 and count >= self.limit:
            return False
        self._open[peer] = count + 1
        return True

    def leave(self, peer: str) -> None:
        count = self._open.get(peer, 0) - 1
        if count > 0:
            self._open[peer] = count
        else:
            self._open.pop(peer, None)


def protocol_factory(app: App, service: str) -> Callable[[], asyncio.Protocol]:
    if service not in SERVICES:
        raise ValueError(f"not a POP3 service: {service}")
    peers = PeerLimit(app.settings.limits.max_connections_per_ip)

    def factory() -> asyncio.Protocol:
        return Pop3Session(app, service, peers=peers)

    return factory
