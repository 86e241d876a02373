"""Tests for postbus.accounts.passwords: Argon2id hashing and the async verifier."""

from __future__ import annotations

import asyncio
import threading

import pytest
from argon2 import PasswordHasher

from postbus.accounts import passwords
from postbus.accounts.passwords import (
    PasswordVerifier,
    hash_password,
    needs_rehash,
    verify_password,
)
from postbus.executor import CPU, Executor, PoolSpec

PHC_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"


def test_hash_uses_argon2id_with_owasp_parameters() -> None:
    stored = hash_password("Tq7#mZ2v!pLx")
    assert stored.startswith(PHC_PREFIX)
    assert "Tq7#mZ2v!pLx" not in stored


def test_hashes_are_salted() -> None:
    assert hash_password("same password") != hash_password("same password")


def test_verify_right_and_wrong_password() -> None:
    stored = hash_password("Tq7#mZ2v!pLx")
    assert verify_password(stored, "Tq7#mZ2v!pLx") is True
    assert verify_password(stored, "tq7#mZ2v!pLx") is False
    assert verify_password(stored, "") is False


def test_verify_unicode_password() -> None:
    stored = hash_password("wachtwoord-ĳ-été-🔑")
    assert verify_password(stored, "wachtwoord-ĳ-été-🔑")
    assert not verify_password(stored, "wachtwoord-ij-ete-🔑")


@pytest.mark.parametrize(
    "bad_hash",
    [
        "",
        "not a hash",
        "$argon2id$v=19$m=19456,t=2,p=1$",
        "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",  # bcrypt
        "{SHA512-CRYPT}$6$salt$hash",
    ],
)
def test_verify_malformed_hash_returns_false(bad_hash: str) -> None:
    assert verify_password(bad_hash, "password") is False


def test_verify_truncated_hash_returns_false() -> None:
    stored = hash_password("Tq7#mZ2v!pLx")
    assert verify_password(stored[:-10], "Tq7#mZ2v!pLx") is False


def test_verify_unencodable_password_returns_false() -> None:
    stored = hash_password("Tq7#mZ2v!pLx")
    assert verify_password(stored, "\ud800") is False


def test_needs_rehash() -> None:
    assert needs_rehash(hash_password("Tq7#mZ2v!pLx")) is False
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("x")
    assert verify_password(old, "x")  # old hashes still verify...
    assert needs_rehash(old) is True  # ...and are flagged for an upgrade
    assert needs_rehash("garbage") is True


async def test_async_verifier_runs_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    executor = Executor()
    verifier = PasswordVerifier(executor)
    threads: list[str] = []
    original = passwords.verify_password

    def spy(hash: str, pw: str) -> bool:
        threads.append(threading.current_thread().name)
        return original(hash, pw)

    monkeypatch.setattr(passwords, "verify_password", spy)
    try:
        stored = await verifier.hash("Tq7#mZ2v!pLx")
        assert stored.startswith(PHC_PREFIX)
        results = await asyncio.gather(
            verifier.verify(stored, "Tq7#mZ2v!pLx"),
            verifier.verify(stored, "wrong"),
            verifier.verify("garbage", "Tq7#mZ2v!pLx"),
        )
    finally:
        verifier.close()
        executor.shutdown()
    assert results == [True, False, False]
    assert len(threads) == 3
    assert all(name.startswith("postbus-cpu") for name in threads)


async def test_event_loop_stays_responsive_during_verification() -> None:
    executor = Executor({CPU: PoolSpec(workers=1, max_waiting=4)})
    verifier = PasswordVerifier(executor)
    stored = hash_password("Tq7#mZ2v!pLx")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        for _ in range(3):
            assert await verifier.verify(stored, "Tq7#mZ2v!pLx")
    finally:
        task.cancel()
        executor.shutdown()
    # Three verifications take ~100 ms; a blocked loop would tick at most 3 times.
    assert ticks >= 10


async def test_verifier_after_close_refuses_work() -> None:
    verifier = PasswordVerifier()
    verifier.close()
    with pytest.raises(RuntimeError):
        await verifier.hash("x")
