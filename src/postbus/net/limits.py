"""Connection limits of one listener: per source address and in total.

One :class:`ConnectionLimiter` per listener counts its open connections from
accept (before any TLS handshake) until they are lost. The source address is
counted as the client's network: an IPv4 address exactly, an IPv6 address by
its /64 (one customer line or one host's privacy addresses), and an
IPv4-mapped IPv6 address as the IPv4 address it maps.

Policy when a limit is reached: the connection is refused with the protocol's
own "try again later" line (SMTP 421 4.7.0, IMAP ``* BYE [UNAVAILABLE]``,
POP3 ``-ERR [SYS/TEMP]``) and closed. On an implicit-TLS listener that line
needs a handshake; at most :data:`MAX_TLS_REFUSALS` such handshakes run at
once per listener, and past that the connection is closed without a word.
"""

from __future__ import annotations

import enum
import ipaddress

#: Refused connections on an implicit-TLS listener still handshaking to be told
#: why. Policy: past this, a refused connection is closed at once, unanswered,
#: so that refusals cannot themselves become the flood.
MAX_TLS_REFUSALS = 64

#: IPv6 sources are counted per network of this prefix length (RFC 6177: a /64
#: is what one subscriber's link gets; one host can hold many of its addresses).
IPV6_PREFIX = 64


class Refused(enum.Enum):
    PER_ADDRESS = "Too many connections from your address"
    LISTENER_FULL = "Too many connections, try again later"


def address_key(address: str) -> str:
    """The key a client address is counted under (see the module docstring)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address  # not an IP (e.g. a Unix socket): counted as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


class ConnectionLimiter:
    """Counts the open connections of one listener (0 means no limit)."""

    __slots__ = ("_open", "open", "per_address", "tls_refusals", "total")

    def __init__(self, per_address: int, total: int) -> None:
        self.per_address = per_address
        self.total = total
        self.open = 0
        self.tls_refusals = 0
        self._open: dict[str, int] = {}

    def acquire(self, key: str) -> Refused | None:
        """Count one more connection from ``key``, or say which limit refuses it."""
        if self.total > 0 and self.open >= self.total:
            return Refused.LISTENER_FULL
        count = self._open.get(key, 0)
        if self.per_address > 0 and count >= self.per_address:
            return Refused.PER_ADDRESS
        self._open[key] = count + 1
        self.open += 1
        return None

    def release(self, key: str) -> None:
        count = self._open.get(key, 0) - 1
        if count > 0:
            self._open[key] = count
        else:
            self._open.pop(key, None)
        self.open -= 1

    def count(self, key: str) -> int:
        return self._open.get(key, 0)
