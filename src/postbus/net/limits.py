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
import mmap
import zlib
from collections.abc import Sequence

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


#: With worker processes, per-address counts are shared in this many buckets
#: per listener (by a CRC of the address key). Policy: two addresses in one
#: bucket share a count, so a collision can only make the limit stricter for
#: them, never looser.
SHARED_BUCKETS = 4096


class SharedCounts:
    """The open connections of every worker process, in memory shared across fork.

    The supervisor makes it before it forks. Each worker writes only its own
    slot (a single writer: no lock); a check sums the slots of all workers, so
    the limits hold for the server as a whole, exactly but for connections
    that two workers accept at the same instant. The supervisor zeroes a dead
    worker's slot before it starts the next one (`reset`), so the counts of a
    killed worker's lost connections do not linger."""

    def __init__(self, workers: int, listeners: Sequence[str]) -> None:
        self.workers = workers
        self.index = {name: i for i, name in enumerate(listeners)}
        self.stride = SHARED_BUCKETS + 1  # [total, bucket 0 .. n-1] per listener
        self.slot = len(listeners) * self.stride
        self._mem = mmap.mmap(-1, max(1, workers * self.slot * 4))  # MAP_SHARED, anonymous
        self.counts = memoryview(self._mem).cast("I")
        self.worker = 0  # this process's slot (set in each worker)

    def reset(self, worker: int) -> None:
        start = worker * self.slot * 4
        self._mem[start:start + self.slot * 4] = bytes(self.slot * 4)


class ConnectionLimiter:
    """Counts the open connections of one listener (0 means no limit); with
    `shared` (worker processes), over every worker."""

    __slots__ = ("_open", "_shared_base", "open", "per_address", "shared", "tls_refusals", "total")

    def __init__(self, per_address: int, total: int, shared: SharedCounts | None = None,
                 name: str = "") -> None:
        self.per_address = per_address
        self.total = total
        self.open = 0
        self.tls_refusals = 0
        self._open: dict[str, int] = {}
        self.shared = shared if shared is not None and name in shared.index else None
        self._shared_base = 0 if self.shared is None else self.shared.index[name] * self.shared.stride

    def _shared(self, offset: int) -> int:
        shared = self.shared
        assert shared is not None
        counts, base = shared.counts, self._shared_base + offset
        return sum(counts[w * shared.slot + base] for w in range(shared.workers))

    def acquire(self, key: str) -> Refused | None:
        """Count one more connection from ``key``, or say which limit refuses it."""
        count = self._open.get(key, 0)
        if self.shared is None:
            total, from_key = self.open, count
        else:
            bucket = 1 + zlib.crc32(key.encode()) % SHARED_BUCKETS
            total, from_key = self._shared(0), self._shared(bucket)
        if self.total > 0 and total >= self.total:
            return Refused.LISTENER_FULL
        if self.per_address > 0 and from_key >= self.per_address:
            return Refused.PER_ADDRESS
        self._open[key] = count + 1
        self.open += 1
        self._add(key, 1)
        return None

    def _add(self, key: str, delta: int) -> None:
        shared = self.shared
        if shared is None:
            return
        own = shared.worker * shared.slot + self._shared_base
        shared.counts[own] += delta
        shared.counts[own + 1 + zlib.crc32(key.encode()) % SHARED_BUCKETS] += delta

    def release(self, key: str) -> None:
        count = self._open.get(key, 0) - 1
        if count > 0:
            self._open[key] = count
        else:
            self._open.pop(key, None)
        self.open -= 1
        self._add(key, -1)

    def count(self, key: str) -> int:
        return self._open.get(key, 0)
