"""Password hashing and verification with Argon2id.

Passwords are stored only as Argon2id hashes in the PHC string format
(`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), with the OWASP parameters
m=19 MiB, t=2, p=1 (about 34 ms per verification on our reference machine;
argon2-cffi's defaults cost 216-259 ms). Hashing is CPU-bound and blocking:
the plain functions are for synchronous callers (the CLI, tests), and code on
the event loop uses `PasswordVerifier`, which runs them on the "cpu" pool of
the executor seam (`postbus.executor`; argon2-cffi releases the GIL, so the
pool's threads run in parallel). Verifications pass `security.hashing.HashGate`
first: one per cpu thread at a time, one at a time per source, known-good
sources first. A full gate or pool raises `executor.Overloaded`.
Invariants: verification never raises for a wrong password or a malformed
hash, it returns False; nothing in this module logs or keeps a password.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from postbus import executor as executor_mod
from postbus.executor import CPU, Executor
from postbus.security.hashing import HashGate

# OWASP Password Storage Cheat Sheet, Argon2id profile 2 (m=19 MiB, t=2, p=1).
ARGON2_MEMORY_COST_KIB = 19456
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
ARGON2_HASH_LEN = 32
ARGON2_SALT_LEN = 16

_HASHER = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_COST_KIB,
    parallelism=ARGON2_PARALLELISM,
    hash_len=ARGON2_HASH_LEN,
    salt_len=ARGON2_SALT_LEN,
    type=Type.ID,
)


def hash_password(pw: str) -> str:
    """Return a new Argon2id hash of `pw` (blocking; about 34 ms)."""
    return _HASHER.hash(pw)


def verify_password(hash: str, pw: str) -> bool:
    """Return True if `pw` matches `hash`; False for a wrong password or a bad hash."""
    try:
        return _HASHER.verify(hash, pw)
    except (VerificationError, InvalidHashError, ValueError, TypeError):
        # VerifyMismatchError is a VerificationError; a hash of another
        # algorithm or a truncated one raises InvalidHashError (a ValueError).
        return False


def needs_rehash(hash: str) -> bool:
    """Return True if `hash` was not made with the current parameters.

    A malformed hash needs rehashing too (it can never verify, so callers
    only reach this after a successful verification of a well-formed hash).
    """
    try:
        return _HASHER.check_needs_rehash(hash)
    except (InvalidHashError, ValueError):
        return True


class PasswordVerifier:
    """Runs Argon2 hashing and verification off the event loop, on the executor's cpu pool.

    `executor` is the App's; without one, the executor installed for the
    running loop (`postbus.executor.current`) is used at each call.
    """

    def __init__(self, executor: Executor | None = None, gate: HashGate | None = None) -> None:
        self._executor = executor
        # as many verifications at once as the executor has cpu threads
        self.gate = gate or (HashGate() if executor is None else HashGate.sized_for(executor))
        self._closed = False

    async def verify(self, hash: str, pw: str, *, source: str | None = None,
                     priority: bool = False) -> bool:
        """Return True if `pw` matches `hash`; never raises for a wrong or bad hash.

        `source` (a `net.limits.address_key`) puts the attempt in that source's
        line; `priority` (a known-good source) puts it ahead of every line."""
        async with self.gate.turn(source, priority=priority):
            return await self._pool().run(CPU, verify_password, hash, pw)

    async def hash(self, pw: str) -> str:
        """Return a new Argon2id hash of `pw`."""
        return await self._pool().run(CPU, hash_password, pw)

    def close(self) -> None:
        """Refuse further work; the executor itself belongs to its owner (the App)."""
        self._closed = True

    def _pool(self) -> Executor:
        if self._closed:
            raise RuntimeError("the password verifier is closed")
        return self._executor or executor_mod.current()
