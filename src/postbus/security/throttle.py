"""Login throttling and bans: one policy for every login (IMAP, POP3, SMTP AUTH,
and the webmail and admin logins, which call the same `Accounts.authenticate`).

What is counted, in the store (`Store.count_events`, so every worker process
and every node counts in the same rows), within `security.ban_window`:

- failures per *source*: the client address as `net.limits.address_key` makes
  it (IPv4 exactly, IPv6 by its /64). `security.ban_after` of them ban the
  source for `security.ban_duration`: the ban goes into the store (it holds
  across restarts and nodes), its end is announced in the protocol's own words
  (IMAP ``BYE [UNAVAILABLE]``, POP3 ``-ERR [SYS/TEMP]``, SMTP ``421 4.7.0``),
  and until it ends the source is refused at connect and at login;
- failures per *account and source*: each failure waits
  `security.auth_failure_delay`, doubled for each earlier failure of that
  account from that source, at most `security.auth_failure_max_delay`;
- failures per *account* from all sources: past `security.account_slow_after`
  every login to that account from a source it is not known from waits
  `security.account_delay` (mild) before its password is checked. An attacker
  with many addresses thus slows the account down a little but never bans it
  nor its owner: bans are per source only, and a source the owner logged in
  from before (`known`) skips that wait.

Known sources: a successful login makes its source's network (`address_key`)
known-good for its account for `KNOWN_SOURCE_SECONDS`. The record is in the
store (`Store.remember_known_source`), so every worker process and every node
recognises it, and a login from it goes ahead of the guesses in
`security.hashing.HashGate` wherever it lands. The store keeps no address:
only `known_key`, the SHA-256 of the account and the address key (which hides
the pairs from a casual reader of the database, not from someone who tests
candidate pairs against it). An in-memory map is a cache in front: a positive
answer is remembered; the store is read only when the cache does not know the
pair and a password is about to be hashed; a success writes only when the
cache did not know the pair (or knew an end more than `KNOWN_SOURCE_REFRESH`
older than a fresh one), so a burst of logins writes once. Expired records
are removed by the hourly maintenance (`expire_known`).

Invariants:
- A password is never stored nor logged. The same wrong password sent again
  from the same source for the same account (clients retry) is recognised by an
  HMAC under a per-process random key, kept in memory for the ban window, and
  is not counted again (nor hashed again: it is known to be wrong for that
  stored hash). A retry that lands on another worker process counts once more.
- A source in `security.trusted_networks` is never counted nor banned
  (loopback is not trusted unless listed).
- Bans are read from the store at every login (authoritative); connection
  accept, which cannot wait for the store, asks an in-memory copy refreshed
  every `security.ban_refresh` (and at once when this process bans).
- Known sources live in the store; each process caches the positive answers
  in memory, bounded (`MAX_KNOWN_SOURCES`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from postbus.net.limits import IPV6_PREFIX, address_key
from postbus.store.security import Ban

if TYPE_CHECKING:
    from postbus.config import Settings
    from postbus.store import Store

log = logging.getLogger("postbus.security")

T = TypeVar("T")

#: Distinct wrong (source, account, password) tries remembered per process.
#: Policy: past this the oldest are forgotten (and would count again).
MAX_REMEMBERED_TRIES = 20_000
#: (account, source) pairs cached as known-good per process; the oldest go first.
MAX_KNOWN_SOURCES = 100_000
#: How long a successful login makes its source known for its account.
KNOWN_SOURCE_SECONDS = 30 * 86400.0
#: A success extends a known pair's record in the store only when the end this
#: process knows is older than a fresh one by more than this: at most one write
#: a day per pair and process, however often the user logs in.
KNOWN_SOURCE_REFRESH = 86400.0
#: Accounts whose global failure count this process remembers; the oldest go first.
MAX_HOT_ACCOUNTS = 10_000


class Banned(Exception):
    """The source is banned until `until` (Unix time)."""

    def __init__(self, until: float) -> None:
        super().__init__(ban_text(until))
        self.until = until

    @property
    def text(self) -> str:
        return ban_text(self.until)


def ban_text(until: float) -> str:
    end = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(until))
    return f"Too many failed logins from your address, try again after {end}"


def ban_key(address: str) -> str:
    """What a ban of `address` is kept under: an IPv4 address, or the /64 of an
    IPv6 address (written either as an address or as its /64)."""
    text = address.strip()
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            if network.version == 6 and network.prefixlen == IPV6_PREFIX:
                return str(network)
            if network.version == 4 and network.prefixlen == 32:
                return str(network.network_address)
            raise ValueError
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        raise ValueError(f"{address!r} is not an IP address (or an IPv6 /{IPV6_PREFIX})") from None
    return address_key(text)


def known_key(account: str, source: str) -> str:
    """What a known-good (account, source) pair is kept under, in the store and
    the cache: the hex SHA-256 of the account and the source's `address_key`,
    each prefixed by its length."""
    message = b"".join(len(f).to_bytes(4, "big") + f
                       for f in (account.encode("utf-8", "surrogatepass"),
                                 address_key(source).encode()))
    return hashlib.sha256(message).hexdigest()


@dataclass(frozen=True, slots=True)
class Policy:
    delay: float
    max_delay: float
    ban_after: int
    window: float
    ban_duration: float
    account_slow_after: int
    account_delay: float
    refresh: float
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        sec = settings.security

        def d(key: str) -> float:
            return settings.duration("security", key)

        return cls(d("auth_failure_delay"), d("auth_failure_max_delay"), sec.ban_after,
                   d("ban_window"), d("ban_duration"), sec.account_slow_after,
                   d("account_delay"), d("ban_refresh"),
                   tuple(ipaddress.ip_network(n, strict=False) for n in sec.trusted_networks))


class LoginThrottle:
    def __init__(self, store: Store, policy: Policy, *,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.store = store
        self.policy = policy
        self._clock = clock
        self._sleep = sleep
        self._key = secrets.token_bytes(32)
        self._tried: OrderedDict[bytes, float] = OrderedDict()  # digest -> expiry
        self._known: OrderedDict[str, float] = OrderedDict()  # known_key -> end (a cache)
        self._hot: OrderedDict[str, tuple[int, float]] = OrderedDict()  # account -> (count, expiry)
        self._bans: dict[str, float] = {}  # source key -> until, as last read
        self._bans_read = float("-inf")
        self._refreshing: asyncio.Task[None] | None = None

    # -- sources ------------------------------------------------------------------------
    def trusted(self, source: str) -> bool:
        try:
            ip = ipaddress.ip_address(source.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.policy.trusted)

    def _digest(self, *fields: str) -> bytes:
        message = b"".join(len(f.encode()).to_bytes(4, "big") + f.encode("utf-8", "surrogatepass")
                           for f in fields)
        return hmac.new(self._key, message, hashlib.sha256).digest()

    async def known(self, account: str, source: str) -> bool:
        """Whether `account` logged in from `source` (its network) within
        `KNOWN_SOURCE_SECONDS`, on any process or node: the cache, else the store."""
        pair = known_key(account, source)
        now = self._clock()
        until = self._known.get(pair)
        if until is not None and until > now:
            return True
        until = await self.store.known_source(pair, now)
        if until is None:
            return False
        self._remember(self._known, pair, until, MAX_KNOWN_SOURCES)
        return True

    # -- bans -----------------------------------------------------------------------------
    def banned_until(self, source: str) -> float | None:
        """The end of the source's ban, from the in-memory copy (for accept, which cannot wait)."""
        now = self._clock()
        if now - self._bans_read >= self.policy.refresh and self._refreshing is None:
            try:
                self._refreshing = asyncio.get_running_loop().create_task(self._refresh_soon())
            except RuntimeError:
                pass  # no loop: the copy stays as it is
        if not self._bans or self.trusted(source):
            return None
        until = self._bans.get(address_key(source))
        return until if until is not None and until > now else None

    async def _refresh_soon(self) -> None:
        try:
            await self.refresh()
        except Exception:  # the store is down: keep the old copy, try again later
            log.warning("bans not re-read from the store", exc_info=True)
            self._bans_read = self._clock()
        finally:
            self._refreshing = None

    async def close(self) -> None:
        """Stops a re-read of the bans in flight (before the store closes)."""
        task, self._refreshing = self._refreshing, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def refresh(self) -> None:
        now = self._clock()
        bans = await self.store.list_bans(now)
        self._bans = {b.address: b.until for b in bans}
        self._bans_read = now

    async def check(self, source: str) -> None:
        """Raises `Banned` if the source is banned now (read from the store)."""
        if self.trusted(source):
            return
        key = address_key(source)
        ban = await self.store.get_ban(key, self._clock())
        if ban is not None:
            self._bans[key] = ban.until
            raise Banned(ban.until)
        self._bans.pop(key, None)

    async def list_bans(self) -> list[Ban]:
        return await self.store.list_bans(self._clock())

    async def remove_ban(self, address: str) -> bool:
        """Lifts the ban of an address or network (`ban_key`); False when it had none."""
        key = ban_key(address)
        self._bans.pop(key, None)
        removed = await self.store.remove_ban(key)
        if removed:
            log.warning("ban lifted ip=%s", key)
        return removed

    async def ban(self, source: str, reason: str, duration: float | None = None) -> float:
        """Bans the source's network now; returns the ban's end."""
        now = self._clock()
        key = ban_key(source)
        until = now + (self.policy.ban_duration if duration is None else duration)
        await self.store.add_ban(key, until, reason, now)
        self._bans[key] = until
        log.warning("ban ip=%s until=%s reason=%s", key,
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until)), reason)
        return until

    # -- logins ----------------------------------------------------------------------------
    def repeated(self, source: str, account: str, password: str, password_hash: str) -> bool:
        """Whether this exact wrong try was seen from this source within the window."""
        digest = self._digest(address_key(source), account, password, password_hash)
        expiry = self._tried.get(digest)
        return expiry is not None and expiry > self._clock()

    async def before_verify(self, account: str, source: str, *, known: bool | None = None,
                            ) -> None:
        """The mild wait of an account under attack, for sources it is not known
        from (`known`: the caller's answer of `known`, else asked here)."""
        p = self.policy
        if p.account_slow_after <= 0 or p.account_delay <= 0:
            return
        hot = self._hot.get(account)
        if hot is None or hot[0] < p.account_slow_after or hot[1] <= self._clock():
            return
        if known is None:
            known = await self.known(account, source)
        if not known:
            await self._sleep(p.account_delay)

    async def failed(self, source: str, account: str | None, password: str,
                     password_hash: str = "", *, name: str = "") -> None:
        """Counts one failed login, bans the source when it reaches the limit
        (raising `Banned`), else waits the growing delay.

        `account` is None when the name is no account of ours: then only the
        source is counted (the name may be a password typed in the wrong field),
        and `name`, as typed, tells retries apart (it is only hashed, in memory)."""
        p = self.policy
        now = self._clock()
        digest = self._digest(address_key(source), account or name, password, password_hash)
        if digest in self._tried and self._tried[digest] > now:
            await self._pause(p.delay)  # a client's retry: not counted again
            return
        self._remember(self._tried, digest, now + p.window, MAX_REMEMBERED_TRIES)
        if self.trusted(source):
            await self._pause(p.delay)
            return
        key = address_key(source)
        keys = [f"src:{key}"]
        if account is not None:
            keys += [f"acct:{account}", f"acctsrc:{account}|{key}"]
        counts = await self.store.count_events(keys, p.window, now)
        if account is not None:
            self._hot[account] = (counts[1], now + p.window)
            self._hot.move_to_end(account)
            while len(self._hot) > MAX_HOT_ACCOUNTS:
                self._hot.popitem(last=False)
        if p.ban_after > 0 and counts[0] >= p.ban_after:
            until = await self.ban(source, f"{counts[0]} failed logins")
            raise Banned(until)
        streak = counts[2] if account is not None else counts[0]
        await self._pause(min(p.max_delay, p.delay * 2 ** min(streak - 1, 30)))

    async def succeeded(self, account: str, source: str) -> None:
        """Makes `source` known-good for `account` (see the module docstring)."""
        pair = known_key(account, source)
        until = self._clock() + KNOWN_SOURCE_SECONDS
        cached = self._known.get(pair)
        if cached is not None and cached >= until - KNOWN_SOURCE_REFRESH:
            self._known.move_to_end(pair)
            return
        # cached first, so that the logins of a burst write once
        self._remember(self._known, pair, until, MAX_KNOWN_SOURCES)
        try:
            await self.store.remember_known_source(pair, until)
        except Exception:  # the login stands; the next one tries again
            log.warning("known source not recorded in the store", exc_info=True)
            if self._known.get(pair) == until:
                del self._known[pair]

    async def expire_known(self) -> int:
        """Removes the expired known-source records from the store (the hourly maintenance)."""
        return await self.store.expire_known_sources(self._clock())

    async def _pause(self, delay: float) -> None:
        if delay > 0:
            await self._sleep(delay)

    @staticmethod
    def _remember(entries: OrderedDict[T, float], digest: T, expiry: float,
                  limit: int) -> None:
        entries[digest] = expiry
        entries.move_to_end(digest)
        while len(entries) > limit:
            entries.popitem(last=False)
