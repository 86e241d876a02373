"""A short-lived in-memory cache of successful password verifications.

Mail clients log in again every few minutes, and each Argon2id verification
costs about 34 ms of CPU; like Dovecot's `auth_cache`, Postbus remembers a
successful (user, password, stored hash) triple for a few minutes and answers
repeat logins without Argon2. Entries are keyed by HMAC-SHA256 under a random
key made once per process, over the user, the password and the stored hash, so
a changed password hash can never hit an old entry, and `forget_user` drops a
user's entries at once when their password changes. Invariants: the cache never
holds a password, nor an unkeyed digest of one (the HMAC key never leaves the
process); only successful verifications are remembered; it holds at most
`max_entries` entries, evicting the oldest; it is not thread-safe and is meant
to be used from the event loop thread.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

DEFAULT_TTL_SECONDS = 300.0
DEFAULT_MAX_ENTRIES = 10_000
_HMAC_KEY_BYTES = 32


def _field(value: str) -> bytes:
    # Length-prefixed so that no two (user, password, hash) triples encode alike.
    data = value.encode("utf-8", "surrogatepass")
    return len(data).to_bytes(4, "big") + data


class AuthCache:
    """Remembers successful verifications for `ttl` seconds of `clock` time."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        if ttl <= 0 or max_entries <= 0:
            raise ValueError("ttl and max_entries must be positive")
        self._ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._key = secrets.token_bytes(_HMAC_KEY_BYTES)
        # digest -> (expiry time, user); insertion order is age order.
        self._entries: OrderedDict[bytes, tuple[float, str]] = OrderedDict()
        self._by_user: dict[str, set[bytes]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _digest(self, user: str, password: str, password_hash: str) -> bytes:
        message = _field(user) + _field(password) + _field(password_hash)
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _drop(self, digest: bytes) -> None:
        _, user = self._entries.pop(digest)
        keys = self._by_user[user]
        keys.discard(digest)
        if not keys:
            del self._by_user[user]

    def hit(self, user: str, password: str, password_hash: str) -> bool:
        """Return True if this exact triple verified successfully within the TTL."""
        digest = self._digest(user, password, password_hash)
        entry = self._entries.get(digest)
        if entry is None:
            return False
        if entry[0] <= self._clock():
            self._drop(digest)
            return False
        return True

    def remember(self, user: str, password: str, password_hash: str) -> None:
        """Record a successful verification of `password` against `password_hash`."""
        digest = self._digest(user, password, password_hash)
        if digest in self._entries:
            self._drop(digest)  # re-inserted below as the youngest entry
        now = self._clock()
        # Expiry times grow with insertion order (one TTL, a monotonic clock),
        # so expired entries and the oldest live ones are all at the front.
        while self._entries:
            oldest, (expiry, _) = next(iter(self._entries.items()))
            if len(self._entries) < self._max_entries and expiry > now:
                break
            self._drop(oldest)
        self._entries[digest] = (now + self._ttl, user)
        self._by_user.setdefault(user, set()).add(digest)

    def forget_user(self, user: str) -> None:
        """Drop every entry of `user` (call it when their password changes)."""
        for digest in self._by_user.pop(user, set()):
            del self._entries[digest]

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
        self._by_user.clear()
