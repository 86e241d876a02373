"""What the store keeps for abuse resistance (issue 15): the records and the
rules of the windowed counters, shared by both backends.

- A failure counter (`count_events`) starts its window with its first event;
  an event after the window's end starts a new window at 1. So "N failures in
  10 minutes" means N events within 10 minutes of the first of them.
- A sending counter (`take_sending`) counts in windows aligned to its period
  (an hour from hh:00, a day from 00:00 UTC). A submission is counted in every
  window at once, or, when one limit would be passed, in none.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ban:
    address: str  # an IPv4 address or an IPv6 /64 (net.limits.address_key)
    until: float  # Unix time
    reason: str
    created: float


@dataclass(frozen=True, slots=True)
class SendLimit:
    """At most `messages` messages and `recipients` recipients per `period` seconds (0: no limit)."""

    scope: str  # "mailbox:ADDRESS" or "domain:NAME"
    period: int
    messages: int
    recipients: int


@dataclass(frozen=True, slots=True)
class SendingBlock:
    address: str
    since: float
    reason: str


def window_start(now: float, period: int) -> float:
    """The start of the aligned window of `period` seconds that holds `now`."""
    return float(int(now) - int(now) % period)


def passes(limit: SendLimit, messages: int, recipients: int, more: int) -> bool:
    """Whether one more message with `more` recipients stays within `limit`."""
    if limit.messages and messages + 1 > limit.messages:
        return False
    return not (limit.recipients and recipients + more > limit.recipients)
