"""Queue policy: backoff and RFC 3461 NOTIFY."""

from __future__ import annotations

from postbus.delivery.queue import notify_allows, retry_delay


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [retry_delay(300, 14400, n) for n in range(1, 9)] == [
        300, 600, 1200, 2400, 4800, 9600, 14400, 14400]
    assert retry_delay(300, 14400, 10_000) == 14400


def test_notify() -> None:
    assert notify_allows("", "FAILURE") and notify_allows("", "DELAY")
    assert not notify_allows("", "SUCCESS")
    assert notify_allows("SUCCESS,FAILURE", "FAILURE")
    assert not notify_allows("SUCCESS,FAILURE", "DELAY")
    assert not notify_allows("NEVER", "FAILURE")
    assert notify_allows("delay", "DELAY")
