"""Per-mailbox delivery rules set by administrators: forwarding and vacation.

Mailbox users cannot set these themselves (house rule): only the CLI, the admin
panel and the API call `set_forward` / `set_vacation`. Both are small records
kept in the store's settings, so every backend and node sees them:

- forwarding: `forward:<address>` → {"targets": [...], "keep_copy": bool, "account"};
- vacation: `vacation:<address>` → {"subject", "body", "start", "end", "interval_days",
  "account"};
  "account" is the id of the mailbox the rule was set for: a mailbox removed
  and made again under the same name does not inherit its predecessor's rules
  (records without it, from before, still apply);
- replies sent: the store's `vacation_replies` records (RFC 3834 §2: at most
  one reply per sender per interval), claimed atomically so that two nodes
  delivering at once still send one reply.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from postbus.accounts.address import normalize_address
from postbus.store import NotFound, Store
from postbus.store.admin_model import AuditEntry
from postbus.store.model import Account

DEFAULT_VACATION_INTERVAL_DAYS = 7  # RFC 5230 §4.1: default 7 days
MAX_VACATION_INTERVAL_DAYS = 365
MAX_FORWARD_TARGETS = 20
MAX_VACATION_SUBJECT = 200  # characters
MAX_VACATION_BODY = 16 * 1024  # characters of reply text


@dataclass(frozen=True)
class Forward:
    targets: tuple[str, ...]
    keep_copy: bool


@dataclass(frozen=True)
class Vacation:
    subject: str  # "" replies with "Auto: " and the original subject (RFC 3834 §3.1.5)
    body: str  # plain text, sent as written: never a template
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
        return (await self._account(address)).address

    async def _account(self, address: str) -> Account:
        address = normalize_address(address)
        account = await self.store.get_account(address)
        if account is None:
            raise NotFound(f"no mailbox {address}")
        return account

    async def set_forward(self, address: str, targets: Sequence[str], *, keep_copy: bool,
                          audit: AuditEntry | None = None) -> Forward:
        account = await self._account(address)
        address = account.address
        normalized = tuple(dict.fromkeys(normalize_address(t) for t in targets))
        if not normalized:
            raise ValueError("forwarding needs at least one target")
        if len(normalized) > MAX_FORWARD_TARGETS:
            raise ValueError(f"at most {MAX_FORWARD_TARGETS} forwarding targets")
        if address in normalized:
            raise ValueError("a mailbox cannot forward to itself; use --keep-copy")
        rule = Forward(normalized, keep_copy)
        await self.store.set_setting(f"forward:{address}", json.dumps(
            {"targets": list(normalized), "keep_copy": keep_copy, "account": account.id}),
            audit=audit)
        return rule

    async def clear_forward(self, address: str, *, audit: AuditEntry | None = None) -> None:
        await self.store.set_setting(f"forward:{normalize_address(address)}", None, audit=audit)

    async def forward(self, address: str, account_id: int | None = None) -> Forward | None:
        """The forwarding of `address`; with `account_id`, only a rule set for that
        very mailbox (one removed and made again under the same name starts clean)."""
        raw = await self.store.get_setting(f"forward:{address}")
        if raw is None:
            return None
        data = json.loads(raw)
        if account_id is not None and data.get("account", account_id) != account_id:
            return None
        return Forward(tuple(data["targets"]), bool(data["keep_copy"]))

    async def set_vacation(self, address: str, vacation: Vacation, *,
                           audit: AuditEntry | None = None) -> Vacation:
        account = await self._account(address)
        if any(c in vacation.subject for c in "\r\n\0"):
            raise ValueError("the subject of a vacation reply is one line")
        if len(vacation.subject) > MAX_VACATION_SUBJECT:
            raise ValueError(f"the subject is longer than {MAX_VACATION_SUBJECT} characters")
        if len(vacation.body) > MAX_VACATION_BODY or "\0" in vacation.body:
            raise ValueError(f"the reply text is longer than {MAX_VACATION_BODY} characters")
        if vacation.start is not None and vacation.end is not None and vacation.end <= vacation.start:
            raise ValueError("the vacation ends before it starts")
        if not 1 <= vacation.interval_days <= MAX_VACATION_INTERVAL_DAYS:
            raise ValueError(f"the reply interval is 1 to {MAX_VACATION_INTERVAL_DAYS} days")
        record = {**asdict(vacation), "account": account.id}
        await self.store.set_setting(f"vacation:{account.address}", json.dumps(record),
                                     audit=audit)
        # A new or changed absence answers everyone afresh (RFC 5230 §4.2).
        await self.store.clear_vacation_replies(account.id)
        return vacation

    async def clear_vacation(self, address: str, *, audit: AuditEntry | None = None) -> None:
        address = normalize_address(address)
        await self.store.set_setting(f"vacation:{address}", None, audit=audit)
        account = await self.store.get_account(address)
        if account is not None:
            await self.store.clear_vacation_replies(account.id)

    async def vacation(self, address: str, account_id: int | None = None) -> Vacation | None:
        """The vacation rule of `address` (with `account_id`: as for `forward`)."""
        raw = await self.store.get_setting(f"vacation:{address}")
        if raw is None:
            return None
        data = json.loads(raw)
        if account_id is not None and data.pop("account", account_id) != account_id:
            return None
        data.pop("account", None)
        return Vacation(**data)

    async def vacation_due(self, account_id: int, sender: str, now: float, interval_days: int) -> bool:
        """True, and records the reply, when `sender` has not had one within the
        interval (RFC 3834 §2); atomic across nodes (`Store.claim_vacation_reply`)."""
        return await self.store.claim_vacation_reply(account_id, sender.lower(), now,
                                                     interval_days * 86400.0)
