"""The administration and authentication service.

One service serves the CLI, the admin panel, the JSON API and every protocol's
login: addresses are normalised here, every password that is set passes the
password policy here, hashing, verification, policy checks and key generation
run on the executor's cpu pool (a full pool raises `executor.Overloaded`),
successful verifications are cached briefly (dropped on a password change), and
each successful login is noted as the mailbox's last login (`lastlogin`).
A change given an `audit` entry writes it in the change's own transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from postbus.accounts.address import (
    normalize_address,
    normalize_alias_source,
    normalize_domain,
)
from postbus.accounts.authcache import AuthCache
from postbus.accounts.lastlogin import LastLogins
from postbus.accounts.passwords import PasswordVerifier
from postbus.accounts.policy import PasswordPolicy
from postbus.executor import CPU, Executor, current
from postbus.net.limits import address_key
from postbus.security.throttle import LoginThrottle
from postbus.store import NotFound, Store
from postbus.store.admin_model import AuditEntry
from postbus.store.model import Account, Admin, Alias, Domain

#: Seconds the list of suspended domains is reused by logins (see `_suspended`).
SUSPENSIONS_TTL = 5.0


@dataclass(frozen=True)
class NewDomain:
    domain: Domain
    dkim_txt: str  # the TXT record to publish at <selector>._domainkey.<domain>


class Accounts:
    def __init__(
        self,
        store: Store,
        *,
        default_quota: int,
        verifier: PasswordVerifier | None = None,
        policy: PasswordPolicy | None = None,
        cache: AuthCache | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.store = store
        self.default_quota = default_quota
        self.executor = executor  # None: the one installed for the running loop
        self.verifier = verifier or PasswordVerifier(executor)
        self.policy = policy or PasswordPolicy()
        self.cache = cache or AuthCache()
        self.last_logins = LastLogins(store)
        # login throttling (security.throttle); the App sets it, bare services have none
        self.throttle: LoginThrottle | None = None
        self._suspensions: tuple[float, frozenset[str]] | None = None  # (expires, names)

    def close(self) -> None:
        self.verifier.close()

    async def _check_policy(self, password: str, username: str) -> None:
        """The policy check takes up to ~25 ms (zxcvbn): run it off the loop."""
        await self._executor().run(CPU, self.policy.check, password, username)

    def _executor(self) -> Executor:
        return self.executor or current()

    # -- domains --------------------------------------------------------------
    async def add_domain(self, name: str, *, audit: AuditEntry | None = None) -> NewDomain:
        from postbus.mailauth.dkim import dns_txt_record, generate_key, selector_for_today

        domain = normalize_domain(name)
        key_pem = await self._executor().run(CPU, generate_key)
        selector = selector_for_today()
        created = await self.store.add_domain(domain, dkim_selector=selector,
                                              dkim_private_key=key_pem, audit=audit)
        return NewDomain(created, dns_txt_record(key_pem))

    async def remove_domain(self, name: str, *, audit: AuditEntry | None = None) -> None:
        """Removes the domain with its mailboxes; their mail leaves the disk at once."""
        name = normalize_domain(name)
        bodies = [body for account in await self.store.list_accounts(name)
                  for body in await self.store.account_bodies(account.id)]
        started = time.time()
        await self.store.remove_domain(name, audit=audit)
        await self._free(bodies, started)

    async def list_domains(self) -> list[Domain]:
        return await self.store.list_domains()

    async def get_domain(self, name: str) -> Domain | None:
        return await self.store.get_domain(normalize_domain(name))

    # -- mailboxes ------------------------------------------------------------
    async def add_user(self, address: str, password: str, *, quota: int | None = None,
                       audit: AuditEntry | None = None) -> Account:
        address = normalize_address(address)
        domain = address.rpartition("@")[2]
        if await self.store.get_domain(domain) is None:
            raise NotFound(f"domain {domain} is not hosted here; add it first")
        await self._check_policy(password, address)
        password_hash = await self.verifier.hash(password)
        return await self.store.add_account(
            address, password_hash, quota_bytes=self.default_quota if quota is None else quota,
            audit=audit,
        )

    async def set_password(self, address: str, password: str, *,
                           audit: AuditEntry | None = None) -> Account:
        address = normalize_address(address)
        await self._check_policy(password, address)
        password_hash = await self.verifier.hash(password)
        account = await self.store.update_account(address, password_hash=password_hash,
                                                  audit=audit)
        self.cache.forget_user(address)
        return account

    async def update_user(self, address: str, *, quota: int | None = None,
                          enabled: bool | None = None,
                          audit: AuditEntry | None = None) -> Account:
        """Sets the quota and/or whether the mailbox may log in, in one write."""
        address = normalize_address(address)
        self.cache.forget_user(address)
        return await self.store.update_account(address, quota_bytes=quota, enabled=enabled,
                                               audit=audit)

    async def set_quota(self, address: str, quota: int) -> Account:
        return await self.store.update_account(normalize_address(address), quota_bytes=quota)

    async def set_enabled(self, address: str, enabled: bool) -> Account:
        address = normalize_address(address)
        self.cache.forget_user(address)
        return await self.store.update_account(address, enabled=enabled)

    async def remove_user(self, address: str, *, audit: AuditEntry | None = None) -> None:
        """Removes the mailbox; its mail leaves the disk at once."""
        address = normalize_address(address)
        self.cache.forget_user(address)
        account = await self.store.get_account(address)
        bodies = [] if account is None else await self.store.account_bodies(account.id)
        started = time.time()
        await self.store.remove_account(address, audit=audit)
        await self._free(bodies, started)

    async def _free(self, bodies: list[str], started: float) -> None:
        """Collects the bodies the removed mail used, without the usual grace period:
        a body stored again since `started` (a delivery in flight with the same
        bytes) is renewed and kept; other fresh bodies are not candidates at all."""
        if bodies:
            await self.store.collect_garbage(grace_seconds=max(0.0, time.time() - started),
                                             bodies=bodies)

    async def list_users(self, domain: str | None = None) -> list[Account]:
        return await self.store.list_accounts(None if domain is None else normalize_domain(domain))

    async def get_user(self, address: str) -> Account | None:
        try:
            return await self.store.get_account(normalize_address(address))
        except ValueError:
            return None

    async def authenticate(self, address: str, password: str, *,
                           source: str | None = None) -> Account | None:
        """The account when the credentials are right and the account is enabled.

        Every login of every front end comes here. With `source` (the client's
        IP address) the login is throttled (security.throttle): `Banned` is
        raised when the source is banned, or becomes banned by this failure,
        and a failure waits its growing delay here, so the caller answers at once."""
        throttle = self.throttle
        if source is None or throttle is None:
            return await self._authenticate(address, password)
        await throttle.check(source)
        typed = address
        try:
            address = normalize_address(address)
        except ValueError:
            await throttle.failed(source, None, password, name=typed)
            return None
        line = address_key(source)
        account = await self.store.get_account(address)
        if account is None or not account.enabled or await self._suspended(address):
            if not throttle.repeated(source, address, password, ""):
                # the same time as a real one
                await self.verifier.verify(_DUMMY_HASH, password, source=line)
            await throttle.failed(source, None, password, name=address)
            return None
        if not self.cache.hit(address, password, account.password_hash):
            if throttle.repeated(source, address, password, account.password_hash):
                # the same wrong password again: known to be wrong, not hashed again
                await throttle.failed(source, address, password, account.password_hash)
                return None
            # security.hashing: a source this account logged in from (on any
            # worker or node: the store) goes first; others wait in their source's line
            known = await throttle.known(address, source)
            await throttle.before_verify(address, source, known=known)
            if not await self.verifier.verify(account.password_hash, password, source=line,
                                              priority=known):
                await throttle.failed(source, address, password, account.password_hash)
                return None
            self.cache.remember(address, password, account.password_hash)
        await throttle.succeeded(address, source)
        self.last_logins.note(account)
        return account

    async def _authenticate(self, address: str, password: str) -> Account | None:
        """`authenticate` without throttling (no source: the CLI, tests)."""
        try:
            address = normalize_address(address)
        except ValueError:
            return None
        account = await self.store.get_account(address)
        if account is None or not account.enabled or await self._suspended(address):
            # Spend the same time as a real verification so that timing does
            # not reveal which addresses exist.
            await self.verifier.verify(_DUMMY_HASH, password)
            return None
        if not self.cache.hit(address, password, account.password_hash):
            if not await self.verifier.verify(account.password_hash, password):
                return None
            self.cache.remember(address, password, account.password_hash)
        self.last_logins.note(account)
        return account

    async def _suspended(self, address: str) -> bool:
        """Whether the address's domain is suspended (`postbus domain suspend`).

        The list is read at most every SUSPENSIONS_TTL seconds, so a login costs
        no store round trip for it: a suspension reaches other processes and
        nodes within that time, this process at once (`forget_suspensions`)."""
        now = time.monotonic()
        if self._suspensions is None or now >= self._suspensions[0]:
            names = frozenset(await self.store.list_suspended_domains())
            self._suspensions = (now + SUSPENSIONS_TTL, names)
        return address.rpartition("@")[2] in self._suspensions[1]

    def forget_suspensions(self) -> None:
        self._suspensions = None

    # -- aliases --------------------------------------------------------------
    async def add_alias(self, source: str, targets: Sequence[str], *,
                        max_targets: int | None = None,
                        audit: AuditEntry | None = None) -> Alias:
        """Adds targets to the alias `source` (created when new); ValueError when
        it would have more than `max_targets`."""
        source = normalize_alias_source(source)
        normalized = [normalize_address(t) for t in targets]
        if not normalized:
            raise ValueError("an alias needs at least one target")
        existing = await self.store.get_alias(source)
        merged = list(existing.targets) if existing else []
        merged += [t for t in normalized if t not in merged]
        if max_targets is not None and len(merged) > max_targets:
            raise ValueError(f"at most {max_targets} targets")
        return await self.store.set_alias(source, merged, audit=audit)

    async def remove_alias(self, source: str, targets: Sequence[str] = (), *,
                           audit: AuditEntry | None = None) -> None:
        """Removes the given targets, or the whole alias when none are given."""
        source = normalize_alias_source(source)
        if not targets:
            await self.store.remove_alias(source, audit=audit)
            return
        existing = await self.store.get_alias(source)
        if existing is None:
            raise NotFound(f"no alias {source}")
        drop = {normalize_address(t) for t in targets}
        left = [t for t in existing.targets if t not in drop]
        if left:
            await self.store.set_alias(source, left, audit=audit)
        else:
            await self.store.remove_alias(source, audit=audit)

    async def list_aliases(self, domain: str | None = None) -> list[Alias]:
        return await self.store.list_aliases(None if domain is None else normalize_domain(domain))

    # -- administrators -------------------------------------------------------
    async def add_admin(
        self, name: str, password: str, *, operator: bool, domains: Sequence[str] = (),
        audit: AuditEntry | None = None,
    ) -> Admin:
        name = name.strip().lower()
        if not name or any(c.isspace() for c in name):
            raise ValueError("an administrator name is one word")
        if operator and domains:
            raise ValueError("an operator manages every domain; give --operator or --domain, not both")
        if not operator and not domains:
            raise ValueError("a domain administrator needs at least one --domain")
        normalized = [normalize_domain(d) for d in domains]
        for d in normalized:
            if await self.store.get_domain(d) is None:
                raise NotFound(f"domain {d} is not hosted here")
        await self._check_policy(password, name)
        password_hash = await self.verifier.hash(password)
        return await self.store.add_admin(name, password_hash, operator=operator, domains=normalized,
                                          audit=audit)

    async def remove_admin(self, name: str, *, audit: AuditEntry | None = None) -> None:
        await self.store.remove_admin(name.strip().lower(), audit=audit)

    async def list_admins(self) -> list[Admin]:
        return await self.store.list_admins()

    async def set_admin_password(self, name: str, password: str, *,
                                 audit: AuditEntry | None = None) -> Admin:
        name = name.strip().lower()
        await self._check_policy(password, name)
        return await self.store.update_admin(name, password_hash=await self.verifier.hash(password),
                                             audit=audit)

    async def authenticate_admin(self, name: str, password: str, *,
                                 source: str | None = None) -> Admin | None:
        """The administrator when the credentials are right; with `source`, throttled
        as `authenticate` is (the same bans; counted per "admin:NAME")."""
        name = name.strip().lower()
        throttle = self.throttle if source is not None else None
        line = None if source is None else address_key(source)
        if throttle is not None and source is not None:
            await throttle.check(source)
        admin = await self.store.get_admin(name)
        if admin is None:
            await self.verifier.verify(_DUMMY_HASH, password, source=line)
            if throttle is not None and source is not None:
                await throttle.failed(source, None, password, name=f"admin:{name}")
            return None
        if throttle is None or source is None:
            return admin if await self.verifier.verify(admin.password_hash, password) else None
        who = f"admin:{name}"
        if throttle.repeated(source, who, password, admin.password_hash):
            await throttle.failed(source, who, password, admin.password_hash)
            return None
        known = await throttle.known(who, source)
        if not await self.verifier.verify(admin.password_hash, password, source=line,
                                          priority=known):
            await throttle.failed(source, who, password, admin.password_hash)
            return None
        await throttle.succeeded(who, source)
        return admin


# A valid Argon2id hash of a random password, verified when the user does not exist.
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
    "2Jm1qJ8Gq0X2a6o3TcHq1m1zj0M5cJ0s8b9z3Y4n5Qo"
)
