"""Per-mailbox delivery rules set by administrators: forwarding and vacation.

Mailbox users cannot set these themselves (house rule): only the CLI, the admin
panel and the API call `set_forward` / `set_vacation`. Both are small records
kept in the store's settings, so every backend and node sees them:

- forwarding: `forward:<address>` → {"targets": [...], "keep_copy": bool};
- vacation: `vacation:<address>` → {"subject", "body", "start", "end", "interval_days"};
- replies sent: `vacation_sent:<address>:<sender>` → epoch seconds (RFC 3834 §2:
  at most one reply per sender per interval).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from postbus.accounts.address import normalize_address
from postbus.store import NotFound, Store

DEFAULT_VACATION_INTERVAL_DAYS = 7  # RFC 3834 §4.2 recommends 7 days
MAX_FORWARD_TARGETS = 20


@dataclass(frozen=True)
class Forward:
    targets: tuple[str, ...]
    keep_copy: bool


@dataclass(frozen=True)
class Vacation:
    subject: str
    body: str
    start: float | None = None  # epoch seconds; None: from now on
    end: float | None = None  # None: until cleared
    interval_days: int = DEFAULT_VACATION_INTERVAL_DAYS
    extra: dict[str, str] = field(default_factory=dict)

    def active(self, now: float) -> bool:
        return (self.start is None or now >= self.start) and (self.end is None or now < self.end)


class Rules:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def _require_account(self, address: str) -> str:
        address = normalize_address(address)
        if await self.store.get_account(address) is None:
            raise NotFound(f"no mailbox {address}")
        return address

    async def set_forward(self, address: str, targets: Sequence[str], *, keep_copy: bool) -> Forward:
        address = await self._require_account(address)
        normalized = tuple(dict.fromkeys(normalize_address(t) for t in targets))
        if not normalized:
            raise ValueError("forwarding needs at least one target")
        if len(normalized) > MAX_FORWARD_TARGETS:
            raise ValueError(f"at most {MAX_FORWARD_TARGETS} forwarding targets")
        if address in normalized:
            raise ValueError("a mailbox cannot forward to itself; use --keep-copy")
        rule = Forward(normalized, keep_copy)
        await self.store.set_setting(
            f"forward:{address}", json.dumps({"targets": list(normalized), "keep_copy": keep_copy})
        )
        return rule

    async def clear_forward(self, address: str) -> None:
        await self.store.set_setting(f"forward:{normalize_address(address)}", None)

    async def forward(self, address: str) -> Forward | None:
        raw = await self.store.get_setting(f"forward:{address}")
        if raw is None:
            return None
        data = json.loads(raw)
        return Forward(tuple(data["targets"]), bool(data["keep_copy"]))

    async def set_vacation(self, address: str, vacation: Vacation) -> Vacation:
        address = await self._require_account(address)
        if not vacation.subject.strip() or "\n" in vacation.subject or "\r" in vacation.subject:
            raise ValueError("a vacation reply needs a one-line subject")
        if vacation.start is not None and vacation.end is not None and vacation.end <= vacation.start:
            raise ValueError("the vacation ends before it starts")
        if vacation.interval_days < 1:
            raise ValueError("the reply interval is at least one day")
        await self.store.set_setting(f"vacation:{address}", json.dumps(asdict(vacation)))
        return vacation

    async def clear_vacation(self, address: str) -> None:
        await self.store.set_setting(f"vacation:{normalize_address(address)}", None)

    async def vacation(self, address: str) -> Vacation | None:
        raw = await self.store.get_setting(f"vacation:{address}")
        return None if raw is None else Vacation(**json.loads(raw))

    async def vacation_due(self, address: str, sender: str, now: float, interval_days: int) -> bool:
        """True, and records the reply, when `sender` has not had one within the interval."""
        key = f"vacation_sent:{address}:{sender}"
        last = await self.store.get_setting(key)
        if last is not None and now - float(last) < interval_days * 86400:
            return False
        await self.store.set_setting(key, repr(now))
        return True
