"""The listening sockets, opened once before anything else runs.

`postbus serve` binds every configured listener here, in the first process and
with the privileges it was started with: then the process may drop to an
unprivileged user (`security.privileges`) and keep ports below 1024, and
worker processes forked afterwards all accept on the same sockets (the kernel
hands each connection to one of them). A listener whose address names a host
gets one socket per address the name resolves to, as asyncio's
`create_server(host=...)` does.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from postbus.config import Settings

# Pending connections the kernel queues per listening socket.
BACKLOG = 512


class BindError(Exception):
    """A listener that cannot be opened: `name`, its address and the reason."""

    def __init__(self, name: str, address: tuple[str, int], reason: str) -> None:
        super().__init__(f"{name} listener on {address_text(address)}: {reason}")
        self.name = name
        self.address = address
        self.reason = reason


def address_text(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass
class Listeners:
    """The open listening sockets by listener name, in configuration order."""

    sockets: dict[str, list[socket.socket]] = field(default_factory=dict)

    def port(self, name: str) -> int:
        return int(self.sockets[name][0].getsockname()[1])

    def close(self) -> None:
        for socks in self.sockets.values():
            for sock in socks:
                sock.close()
        self.sockets.clear()


def _open(family: int, sockaddr: tuple[object, ...]) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind(settings: Settings, names: tuple[str, ...]) -> Listeners:
    """Opens the listeners among `names` that have an address; on a failure the
    ones already open are closed and `BindError` names the listener."""
    listeners = Listeners()
    try:
        for name in names:
            address = settings.listen_address(name)
            if address is None:
                continue
            host, port = address
            socks: list[socket.socket] = []
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                           flags=socket.AI_PASSIVE)
                seen: set[object] = set()
                for family, _, _, _, sockaddr in infos:
                    if sockaddr in seen:
                        continue
                    seen.add(sockaddr)
                    if port == 0 and socks:
                        # Port 0: the first socket's kernel-chosen port for every address.
                        sockaddr = (sockaddr[0], socks[0].getsockname()[1], *sockaddr[2:])
                    socks.append(_open(family, sockaddr))
            except OSError as exc:
                for sock in socks:
                    sock.close()
                raise BindError(name, address, _reason(exc)) from exc
            listeners.sockets[name] = socks
    except BaseException:
        listeners.close()
        raise
    return listeners


def _reason(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return str(exc.strerror).lower()
    if exc.errno:
        # not asyncio's "error while attempting to bind..."
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__
