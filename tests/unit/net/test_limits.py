"""The connection limiter: how addresses are counted, and both limits."""

from __future__ import annotations

import pytest

from postbus.net.limits import ConnectionLimiter, Refused, address_key


@pytest.mark.parametrize(("address", "key"), [
    ("192.0.2.7", "192.0.2.7"),  # IPv4: exactly
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),  # IPv6: by /64
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),  # IPv4-mapped: as the IPv4 address
    ("fe80::1%eth0", "fe80::/64"),  # a zone does not make a new network
    ("", ""),  # no address (a Unix socket): counted as given
])
def test_address_key(address: str, key: str) -> None:
    assert address_key(address) == key


def test_per_address_limit_and_release() -> None:
    limiter = ConnectionLimiter(per_address=2, total=0)
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    assert limiter.acquire("a") is Refused.PER_ADDRESS
    assert limiter.acquire("b") is None  # another address is still served
    limiter.release("a")
    assert limiter.acquire("a") is None
    assert limiter.count("a") == 2 and limiter.open == 3


def test_listener_total() -> None:
    limiter = ConnectionLimiter(per_address=5, total=3)
    for key in "abc":
        assert limiter.acquire(key) is None
    assert limiter.acquire("d") is Refused.LISTENER_FULL
    limiter.release("b")
    assert limiter.acquire("d") is None
    for key in "acd":
        limiter.release(key)
    assert limiter.open == 0 and all(limiter.count(k) == 0 for k in "abcd")


def test_zero_means_unlimited() -> None:
    limiter = ConnectionLimiter(per_address=0, total=0)
    assert all(limiter.acquire("a") is None for _ in range(10_000))
