"""Tests for postbus.accounts.authcache: the cache of successful verifications."""

from __future__ import annotations

import pickle

import pytest

from postbus.accounts.authcache import AuthCache

HASH_A = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdGFhYWE$aGFzaGFhYWFhYWFhYWFhYQ"
HASH_B = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdGJiYmI$aGFzaGJiYmJiYmJiYmJiYg"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_miss_then_hit(clock: FakeClock) -> None:
    cache = AuthCache(clock=clock)
    assert not cache.hit("weak@example.test", "Tq7#mZ2v!pLx", HASH_A)
    cache.remember("weak@example.test", "Tq7#mZ2v!pLx", HASH_A)
    assert cache.hit("weak@example.test", "Tq7#mZ2v!pLx", HASH_A)


def test_every_field_is_part_of_the_key(clock: FakeClock) -> None:
    cache = AuthCache(clock=clock)
    cache.remember("weak@example.test", "Tq7#mZ2v!pLx", HASH_A)
    assert not cache.hit("weak@example.test", "wrong", HASH_A)
    assert not cache.hit("other@example.test", "Tq7#mZ2v!pLx", HASH_A)
    # The password changed elsewhere (another node): the new hash never hits.
    assert not cache.hit("weak@example.test", "Tq7#mZ2v!pLx", HASH_B)


def test_fields_cannot_be_shifted_into_each_other(clock: FakeClock) -> None:
    cache = AuthCache(clock=clock)
    cache.remember("ab", "c", HASH_A)
    assert not cache.hit("a", "bc", HASH_A)
    assert not cache.hit("abc", "", HASH_A)


def test_entries_expire_after_ttl(clock: FakeClock) -> None:
    cache = AuthCache(ttl=300.0, clock=clock)
    cache.remember("u@example.test", "pw", HASH_A)
    clock.now += 299.9
    assert cache.hit("u@example.test", "pw", HASH_A)
    clock.now += 0.1
    assert not cache.hit("u@example.test", "pw", HASH_A)
    assert len(cache) == 0


def test_remember_again_renews_ttl(clock: FakeClock) -> None:
    cache = AuthCache(ttl=10.0, clock=clock)
    cache.remember("u@example.test", "pw", HASH_A)
    clock.now += 8
    cache.remember("u@example.test", "pw", HASH_A)
    clock.now += 8
    assert cache.hit("u@example.test", "pw", HASH_A)
    assert len(cache) == 1


def test_expired_entries_are_purged_on_remember(clock: FakeClock) -> None:
    cache = AuthCache(ttl=10.0, clock=clock)
    for i in range(5):
        cache.remember(f"u{i}@example.test", "pw", HASH_A)
    clock.now += 11
    cache.remember("new@example.test", "pw", HASH_A)
    assert len(cache) == 1


def test_forget_user_drops_all_entries_of_that_user(clock: FakeClock) -> None:
    cache = AuthCache(clock=clock)
    cache.remember("u@example.test", "old", HASH_A)
    cache.remember("u@example.test", "new", HASH_B)
    cache.remember("v@example.test", "old", HASH_A)
    cache.forget_user("u@example.test")
    assert not cache.hit("u@example.test", "old", HASH_A)
    assert not cache.hit("u@example.test", "new", HASH_B)
    assert cache.hit("v@example.test", "old", HASH_A)
    cache.forget_user("nobody@example.test")  # no error
    assert len(cache) == 1


def test_clear(clock: FakeClock) -> None:
    cache = AuthCache(clock=clock)
    cache.remember("u@example.test", "pw", HASH_A)
    cache.clear()
    assert not cache.hit("u@example.test", "pw", HASH_A)
    assert len(cache) == 0
    cache.forget_user("u@example.test")


def test_max_entries_evicts_oldest(clock: FakeClock) -> None:
    cache = AuthCache(clock=clock, max_entries=3)
    for i in range(4):
        clock.now += 1
        cache.remember(f"u{i}@example.test", "pw", HASH_A)
    assert len(cache) == 3
    assert not cache.hit("u0@example.test", "pw", HASH_A)
    assert all(cache.hit(f"u{i}@example.test", "pw", HASH_A) for i in (1, 2, 3))
    cache.forget_user("u0@example.test")  # its index entry went with it


def test_caches_have_independent_keys(clock: FakeClock) -> None:
    first, second = AuthCache(clock=clock), AuthCache(clock=clock)
    first.remember("u@example.test", "pw", HASH_A)
    assert not second.hit("u@example.test", "pw", HASH_A)
    assert first._digest("u", "pw", HASH_A) != second._digest("u", "pw", HASH_A)


def test_password_is_not_stored(clock: FakeClock) -> None:
    cache = AuthCache(clock=clock)
    password = "Unmistakable-Secret-9431"
    cache.remember("u@example.test", password, HASH_A)
    state = pickle.dumps((cache._entries, cache._by_user))
    assert password.encode() not in state
    assert HASH_A.encode() not in state


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        AuthCache(ttl=0)
    with pytest.raises(ValueError):
        AuthCache(max_entries=0)
