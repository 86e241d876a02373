"""The administration service: every operation the CLI, the JSON API and the
admin panel offer, written once.

Each public method takes the `Actor` first and calls `permissions.authorize`
before it reads or changes anything; each change is written to the audit log
(who, when, from which address, what) in the same store transaction as the
change itself (the store's `audit=` argument), so that neither commits
without the other. Nothing an
administrator enters is used as a template, a shell word or a file path: it
is data that goes to the store, bounded by `admin.limits`. Store and value
refusals become the service's own (`admin.errors`), so that front ends map
one taxonomy to their replies.

An administrator changing their own credentials (password, second factor, a
new API token) gives their current password (`_confirm_own`), so that a stolen
panel session or API token cannot take the account over; a wrong one is a
failed login to the login throttle. The command line (`CLI`, the machine's
operator) is not asked.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from postbus.accounts.address import normalize_address, normalize_alias_source, normalize_domain
from postbus.accounts.dns import DnsRecord, domain_records
from postbus.accounts.policy import WeakPassword
from postbus.accounts.service import Accounts
from postbus.admin import dns, limits, totp
from postbus.admin.actor import CLI, NOBODY, Actor
from postbus.admin.dns import DnsCheck
from postbus.admin.errors import Conflict, Forbidden, Invalid, NotFound, Throttled, Unauthenticated
from postbus.admin.permissions import authorize
from postbus.admin.views import (
    AdminView,
    AliasView,
    AuditView,
    DomainView,
    MailboxView,
    NewMailbox,
    NewToken,
    TokenView,
    TotpEnrolment,
)
from postbus.config import Settings
from postbus.delivery.rules import Forward, Rules, Vacation
from postbus.mailauth.resolver import Resolver
from postbus.security.throttle import Banned
from postbus.store import AlreadyExists, Store, StoreError
from postbus.store import NotFound as StoreNotFound
from postbus.store.admin_model import ApiToken, AuditEntry
from postbus.store.model import Account, Admin

T = TypeVar("T")

TOKEN_PREFIX = "pb_"
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password() -> str:
    """A strong random password, grouped for reading aloud: "k7Qm-x2Pw-...".."""
    return "-".join("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4))
                    for _ in range(limits.GENERATED_PASSWORD_GROUPS))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@contextmanager
def _refusals() -> Iterator[None]:
    """Store and value refusals as the service's own."""
    try:
        yield
    except StoreNotFound as exc:
        raise NotFound(str(exc)) from None
    except AlreadyExists as exc:
        raise Conflict(str(exc)) from None
    except StoreError as exc:
        raise Invalid(str(exc)) from None
    except ValueError as exc:  # AddressError, WeakPassword, rule checks
        raise Invalid(str(exc)) from None


def _address(text: str) -> tuple[str, str]:
    """(normalised address, its domain); Invalid when it is no address."""
    with _refusals():
        address = normalize_address(text)
    return address, address.rpartition("@")[2]


def _domain(text: str) -> str:
    with _refusals():
        return normalize_domain(text)


def _bounded(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise Invalid(f"{what} is longer than {limit} characters")
    return value


def _mailbox(account: Account) -> MailboxView:
    return MailboxView(account.address, account.address.rpartition("@")[2], account.quota_bytes,
                       account.used_bytes, account.used_messages, account.enabled,
                       account.last_login)


def _token(t: ApiToken) -> TokenView:
    return TokenView(t.id, t.admin, t.label, t.created)


class Administration:
    def __init__(self, store: Store, accounts: Accounts, settings: Settings, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.accounts = accounts
        self.settings = settings
        self.rules = Rules(store)
        self.issuer = settings.hostname  # names the service in TOTP apps and DNS
        self.clock = clock

    def _entry(self, actor: Actor, action: str, target: str, domain: str,
               detail: str = "") -> AuditEntry:
        """The audit entry of a change, to be written in the change's transaction."""
        return AuditEntry(0, self.clock(), actor.name, actor.remote, action, target, domain,
                          detail)

    # -- domains ----------------------------------------------------------------
    async def list_domains(self, actor: Actor) -> list[DomainView]:
        authorize(actor, "domain.list")
        suspended = set(await self.store.list_suspended_domains())
        return [DomainView(d.name, d.name in suspended) for d in await self.store.list_domains()
                if actor.manages(d.name)]

    async def get_domain(self, actor: Actor, name: str) -> DomainView:
        domain = _domain(name)
        authorize(actor, "domain.read", domain=domain)
        if await self.store.get_domain(domain) is None:
            raise NotFound(f"no domain {domain}")
        return DomainView(domain, domain in await self.store.list_suspended_domains())

    async def add_domain(self, actor: Actor, name: str) -> tuple[DomainView, str]:
        """The new domain and the DKIM TXT record to publish for it."""
        authorize(actor, "domain.add")
        domain = _domain(name)
        with _refusals():
            made = await self.accounts.add_domain(
                domain, audit=self._entry(actor, "domain.add", domain, domain))
        return DomainView(made.domain.name, False), made.dkim_txt

    async def remove_domain(self, actor: Actor, name: str) -> None:
        domain = _domain(name)
        authorize(actor, "domain.remove")
        with _refusals():
            if await self.store.get_domain(domain) is None:
                raise StoreNotFound(f"no domain {domain}")
            count = len(await self.store.list_accounts(domain))
            await self.accounts.remove_domain(domain, audit=self._entry(
                actor, "domain.remove", domain, domain, f"{count} mailboxes removed"))

    async def suspend_domain(self, actor: Actor, name: str, suspended: bool) -> DomainView:
        domain = _domain(name)
        authorize(actor, "domain.suspend")
        action = "domain.suspend" if suspended else "domain.resume"
        with _refusals():
            await self.store.set_domain_suspended(domain, suspended,
                                                  audit=self._entry(actor, action, domain, domain))
        self.accounts.forget_suspensions()
        return DomainView(domain, suspended)

    async def dns_records(self, actor: Actor, name: str) -> list[DnsRecord]:
        """The records the domain should publish (`accounts.dns.domain_records`)."""
        domain = _domain(name)
        authorize(actor, "domain.read", domain=domain)
        found = await self.store.get_domain(domain)
        if found is None:
            raise NotFound(f"no domain {domain}")
        return domain_records(found, self.settings)

    async def check_dns(self, actor: Actor, name: str, resolver: Resolver) -> list[DnsCheck]:
        """Which of the domain's records DNS has, lacks or has wrong (lookups bounded)."""
        return await dns.check(resolver, self.issuer, await self.dns_records(actor, name))

    # -- mailboxes --------------------------------------------------------------
    async def list_mailboxes(self, actor: Actor, domain_name: str) -> list[MailboxView]:
        domain = _domain(domain_name)
        authorize(actor, "mailbox.list", domain=domain)
        if await self.store.get_domain(domain) is None:
            raise NotFound(f"no domain {domain}")
        return [_mailbox(a) for a in await self.accounts.list_users(domain)]

    async def get_mailbox(self, actor: Actor, address_text: str) -> MailboxView:
        address, domain = _address(address_text)
        authorize(actor, "mailbox.read", domain=domain)
        return _mailbox(await self._account(address))

    async def _account(self, address: str) -> Account:
        account = await self.store.get_account(address)
        if account is None:
            raise NotFound(f"no mailbox {address}")
        return account

    def _check_quota(self, quota: int | None) -> None:
        if quota is not None and not 0 <= quota <= limits.MAX_QUOTA_BYTES:
            raise Invalid(f"a quota is between 0 (unlimited) and {limits.MAX_QUOTA_BYTES} bytes")

    async def create_mailbox(self, actor: Actor, address_text: str, password: str | None = None,
                             *, quota: int | None = None) -> NewMailbox:
        """Creates the mailbox with the chosen password (it must pass the policy) or,
        without one, a generated strong password that is returned once."""
        address, domain = _address(address_text)
        authorize(actor, "mailbox.create", domain=domain)
        self._check_quota(quota)
        entry = self._entry(actor, "mailbox.create", address, domain,
                            f"quota {self.accounts.default_quota if quota is None else quota}"
                            + (", generated password" if password is None else ""))
        if password is None:
            generated, account = await self._generated(
                lambda p: self.accounts.add_user(address, p, quota=quota, audit=entry))
        else:
            generated = None
            _bounded(password, limits.MAX_PASSWORD_LENGTH, "the password")
            with _refusals():
                account = await self.accounts.add_user(address, password, quota=quota,
                                                       audit=entry)
        return NewMailbox(_mailbox(account), generated)

    async def update_mailbox(self, actor: Actor, address_text: str, *, quota: int | None = None,
                             enabled: bool | None = None) -> MailboxView:
        address, domain = _address(address_text)
        authorize(actor, "mailbox.update", domain=domain)
        self._check_quota(quota)
        account = await self._account(address)
        changes = ([] if quota is None else [f"quota {quota}"]) + (
            [] if enabled is None else ["enabled" if enabled else "disabled"])
        if changes:
            with _refusals():
                account = await self.accounts.update_user(
                    address, quota=quota, enabled=enabled,
                    audit=self._entry(actor, "mailbox.update", address, domain,
                                      ", ".join(changes)))
        return _mailbox(account)

    async def delete_mailbox(self, actor: Actor, address_text: str) -> None:
        address, domain = _address(address_text)
        authorize(actor, "mailbox.delete", domain=domain)
        with _refusals():
            await self.accounts.remove_user(
                address, audit=self._entry(actor, "mailbox.delete", address, domain))
        # Rules of a removed mailbox go with it (were this cut short, a mailbox made
        # again under the name would still start clean: rules name their account id).
        await self.rules.clear_forward(address)
        await self.rules.clear_vacation(address)

    async def set_password(self, actor: Actor, address_text: str,
                           password: str | None = None) -> str | None:
        """Sets the chosen password, or a generated one that is returned once."""
        address, domain = _address(address_text)
        authorize(actor, "mailbox.password", domain=domain)
        await self._account(address)
        entry = self._entry(actor, "mailbox.password", address, domain,
                            "generated" if password is None else "chosen")
        if password is None:
            generated, _ = await self._generated(
                lambda p: self.accounts.set_password(address, p, audit=entry))
        else:
            generated = None
            _bounded(password, limits.MAX_PASSWORD_LENGTH, "the password")
            with _refusals():
                await self.accounts.set_password(address, password, audit=entry)
        return generated

    async def _generated(self, use: Callable[[str], Awaitable[T]]) -> tuple[str, T]:
        """Calls `use` with generated passwords until the policy takes one: a random
        password can still contain a short user name ("m44")."""
        for _ in range(limits.GENERATE_ATTEMPTS - 1):
            password = generate_password()
            with _refusals():
                try:
                    return password, await use(password)
                except WeakPassword:
                    continue
        password = generate_password()
        with _refusals():
            return password, await use(password)

    # -- aliases ----------------------------------------------------------------
    async def list_aliases(self, actor: Actor, domain_name: str) -> list[AliasView]:
        domain = _domain(domain_name)
        authorize(actor, "alias.list", domain=domain)
        if await self.store.get_domain(domain) is None:
            raise NotFound(f"no domain {domain}")
        return [AliasView(a.source, a.targets) for a in await self.accounts.list_aliases(domain)]

    def _alias_source(self, source: str) -> tuple[str, str]:
        with _refusals():
            normalized = normalize_alias_source(source)
        return normalized, normalized.rpartition("@")[2]

    async def add_alias(self, actor: Actor, source_text: str,
                        targets: Sequence[str]) -> AliasView:
        """Adds targets to an alias (an address, or "@domain" for a catch-all)."""
        source, domain = self._alias_source(source_text)
        authorize(actor, "alias.add", domain=domain)
        if len(targets) > limits.MAX_ALIAS_TARGETS:
            raise Invalid(f"at most {limits.MAX_ALIAS_TARGETS} targets")
        with _refusals():
            made = await self.accounts.add_alias(
                source, targets, max_targets=limits.MAX_ALIAS_TARGETS,
                audit=self._entry(actor, "alias.add", source, domain, ", ".join(targets)))
        return AliasView(made.source, made.targets)

    async def remove_alias(self, actor: Actor, source_text: str,
                           targets: Sequence[str] = ()) -> None:
        """Removes the given targets, or the whole alias without any."""
        source, domain = self._alias_source(source_text)
        authorize(actor, "alias.remove", domain=domain)
        with _refusals():
            await self.accounts.remove_alias(
                source, targets,
                audit=self._entry(actor, "alias.remove", source, domain, ", ".join(targets)))

    # -- forwarding and vacation replies ------------------------------------------
    async def get_forward(self, actor: Actor, address_text: str) -> Forward | None:
        address, domain = _address(address_text)
        authorize(actor, "forward.read", domain=domain)
        await self._account(address)
        return await self.rules.forward(address)

    async def set_forward(self, actor: Actor, address_text: str, targets: Sequence[str], *,
                          keep_copy: bool = False) -> Forward | None:
        """Forwards to `targets`; with none, forwarding stops."""
        address, domain = _address(address_text)
        authorize(actor, "forward.set", domain=domain)
        await self._account(address)
        rule: Forward | None = None
        with _refusals():
            if targets:
                # the targets as the rule keeps them: normalised, each once
                kept = dict.fromkeys(normalize_address(t) for t in targets)
                entry = self._entry(actor, "forward.set", address, domain, ", ".join(kept)
                                    + (" (keeping a copy)" if keep_copy else ""))
                rule = await self.rules.set_forward(address, targets, keep_copy=keep_copy,
                                                    audit=entry)
            else:
                await self.rules.clear_forward(
                    address, audit=self._entry(actor, "forward.set", address, domain, "cleared"))
        return rule

    async def get_vacation(self, actor: Actor, address_text: str) -> Vacation | None:
        address, domain = _address(address_text)
        authorize(actor, "vacation.read", domain=domain)
        await self._account(address)
        return await self.rules.vacation(address)

    async def set_vacation(self, actor: Actor, address_text: str,
                           vacation: Vacation | None) -> Vacation | None:
        """Turns the reply on with `vacation`, or off with None. The subject and
        body are stored as text and sent as text: never a template."""
        address, domain = _address(address_text)
        authorize(actor, "vacation.set", domain=domain)
        await self._account(address)
        if vacation is not None:
            _bounded(vacation.subject, limits.MAX_VACATION_SUBJECT, "the subject")
            _bounded(vacation.body, limits.MAX_VACATION_BODY, "the reply text")
            if vacation.interval_days > limits.MAX_VACATION_INTERVAL_DAYS:
                raise Invalid(f"the reply interval is at most {limits.MAX_VACATION_INTERVAL_DAYS}"
                              " days")
        entry = self._entry(actor, "vacation.set", address, domain,
                            "off" if vacation is None else "on")
        with _refusals():
            if vacation is None:
                await self.rules.clear_vacation(address, audit=entry)
            else:
                await self.rules.set_vacation(address, vacation, audit=entry)
        return vacation

    # -- administrators ---------------------------------------------------------
    async def _admin_view(self, admin: Admin) -> AdminView:
        secret = await self.store.get_totp_secret(admin.name)
        return AdminView(admin.name, admin.operator, admin.domains, secret is not None)

    async def list_admins(self, actor: Actor) -> list[AdminView]:
        authorize(actor, "admin.list")
        return [await self._admin_view(a) for a in await self.accounts.list_admins()]

    async def add_admin(self, actor: Actor, name: str, password: str, *, operator: bool,
                        domains: Sequence[str] = ()) -> AdminView:
        authorize(actor, "admin.add")
        name = _bounded(name.strip().lower(), limits.MAX_ADMIN_NAME, "an administrator name")
        if not name.isprintable() or "@" in name:
            # "@" keeps administrator names apart from mailbox addresses
            raise Invalid("an administrator name is one word of printable characters without @")
        _bounded(password, limits.MAX_PASSWORD_LENGTH, "the password")
        with _refusals():
            scope = "operator" if operator else "of " + ", ".join(
                normalize_domain(d) for d in domains)
            made = await self.accounts.add_admin(
                name, password, operator=operator, domains=domains,
                audit=self._entry(actor, "admin.add", name, "", scope))
        return await self._admin_view(made)

    async def remove_admin(self, actor: Actor, name: str) -> None:
        authorize(actor, "admin.remove")
        with _refusals():
            await self.accounts.remove_admin(
                name, audit=self._entry(actor, "admin.remove", name.strip().lower(), ""))

    async def _confirm_own(self, actor: Actor, name: str, current_password: str | None) -> None:
        """Returns when `actor` may change `name`'s credentials without more proof
        (the command line; an operator acting on another administrator) or has
        given `name`'s current password. A wrong one is refused (Forbidden) and
        counted as a failed administrator login from the actor's address, by the
        same throttle and with the same delays and bans (`security.throttle`);
        a banned address is refused (Throttled) whatever it sends."""
        if actor is CLI or name != actor.name:
            return
        if current_password is None:
            raise Forbidden("the current password is required")
        if len(current_password) > limits.MAX_PASSWORD_LENGTH:
            raise Forbidden("the current password is wrong")  # as login: refused unhashed
        try:
            admin = await self.accounts.authenticate_admin(name, current_password,
                                                           source=actor.remote or None)
        except Banned as banned:
            raise Throttled("too many failed logins from this address; try again later",
                            banned.until) from None
        if admin is None:
            raise Forbidden("the current password is wrong")

    async def set_admin_password(self, actor: Actor, name: str, password: str, *,
                                 current_password: str | None = None) -> None:
        """An administrator's own new password (or any, for the operator); it must
        pass the password policy. Their own needs their current password."""
        name = name.strip().lower()
        authorize(actor, "admin.password", admin=name)
        _bounded(password, limits.MAX_PASSWORD_LENGTH, "the password")
        await self._confirm_own(actor, name, current_password)
        with _refusals():
            await self.accounts.set_admin_password(
                name, password, audit=self._entry(actor, "admin.password", name, ""))

    async def enrol_totp(self, actor: Actor, name: str, *,
                         current_password: str | None = None) -> TotpEnrolment:
        """A new RFC 6238 secret for the administrator (replacing any old one).
        Their own needs their current password."""
        name = name.strip().lower()
        authorize(actor, "admin.totp", admin=name)
        await self._confirm_own(actor, name, current_password)
        secret = totp.new_secret()
        with _refusals():
            await self.store.set_totp_secret(
                name, secret, audit=self._entry(actor, "admin.totp", name, "", "enrolled"))
        return TotpEnrolment(secret, totp.provisioning_uri(secret, name, self.issuer))

    async def remove_totp(self, actor: Actor, name: str, *,
                          current_password: str | None = None) -> None:
        """Their own needs their current password."""
        name = name.strip().lower()
        authorize(actor, "admin.totp", admin=name)
        await self._confirm_own(actor, name, current_password)
        with _refusals():
            await self.store.set_totp_secret(
                name, None, audit=self._entry(actor, "admin.totp", name, "", "removed"))

    async def login(self, name: str, password: str, code: str | None, remote: str) -> Actor:
        """The administrator for these credentials (and TOTP code, when enrolled).
        Mailbox credentials are not administrator credentials: they never match."""
        if len(name) > limits.MAX_ADMIN_NAME or len(password) > limits.MAX_PASSWORD_LENGTH:
            raise Unauthenticated("wrong name or password")
        # throttled with every other login (security.throttle): raises Banned
        admin = await self.accounts.authenticate_admin(name, password, source=remote or None)
        if admin is None:
            raise Unauthenticated("wrong name or password")
        secret = await self.store.get_totp_secret(admin.name)
        if secret is not None:
            step = None if code is None else totp.matching_step(secret, code, self.clock())
            if step is None or not await self.store.claim_totp_step(admin.name, step):
                raise Unauthenticated("wrong or reused one-time code")
        return Actor(admin.name, admin.operator, frozenset(admin.domains), remote)

    # -- panel sessions -----------------------------------------------------------
    async def open_session(self, actor: Actor) -> tuple[str, str]:
        """A new panel session for a logged-in administrator: (the id for the
        cookie, the CSRF token). Only the id's SHA-256 is stored."""
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with _refusals():
            await self.store.create_admin_session(actor.name, token_digest(session_id), csrf,
                                                  self.clock())
        return session_id, csrf

    async def resume_session(self, session_id: str, remote: str) -> tuple[Actor, str] | None:
        """The administrator and CSRF token of a live session, or None (expired
        after `limits.SESSION_IDLE_SECONDS` unused, or the administrator is gone)."""
        if not session_id or len(session_id) > limits.MAX_TOKEN_LENGTH:
            return None
        key = token_digest(session_id)
        found = await self.store.get_admin_session(key)
        if found is None:
            return None
        now = self.clock()
        if now - found.last_seen > limits.SESSION_IDLE_SECONDS:
            await self.store.delete_admin_session(key)
            return None
        admin = await self.store.get_admin(found.admin)
        if admin is None:
            return None
        if now - found.last_seen > limits.SESSION_TOUCH_SECONDS:
            await self.store.touch_admin_session(key, now)
        return Actor(admin.name, admin.operator, frozenset(admin.domains), remote), found.csrf_token

    async def close_session(self, session_id: str) -> None:
        if session_id and len(session_id) <= limits.MAX_TOKEN_LENGTH:
            await self.store.delete_admin_session(token_digest(session_id))

    # -- API tokens -------------------------------------------------------------
    async def create_token(self, actor: Actor, admin_name: str, label: str = "", *,
                           current_password: str | None = None) -> NewToken:
        """A new API token, shown once. One's own needs one's current password."""
        name = admin_name.strip().lower()
        authorize(actor, "token.create", admin=name)
        _bounded(label, limits.MAX_LABEL, "a token label")
        await self._confirm_own(actor, name, current_password)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with _refusals():
            made = await self.store.add_api_token(
                name, token_digest(secret), label=label, created=self.clock(),
                audit=lambda t: self._entry(actor, "token.create", name, "", f"token {t.id}"))
        return NewToken(_token(made), secret)

    async def list_tokens(self, actor: Actor, admin_name: str) -> list[TokenView]:
        name = admin_name.strip().lower()
        authorize(actor, "token.list", admin=name)
        return [_token(t) for t in await self.store.list_api_tokens(name)]

    async def revoke_token(self, actor: Actor, admin_name: str, token_id: int) -> None:
        name = admin_name.strip().lower()
        authorize(actor, "token.revoke", admin=name)
        with _refusals():
            await self.store.remove_api_token(
                name, token_id,
                audit=self._entry(actor, "token.revoke", name, "", f"token {token_id}"))

    async def actor_for_token(self, token: str, remote: str) -> Actor:
        """The administrator a bearer token belongs to, or NOBODY."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > limits.MAX_TOKEN_LENGTH:
            return NOBODY
        found = await self.store.find_api_token(token_digest(token))
        admin = None if found is None else await self.store.get_admin(found.admin)
        if admin is None:
            return NOBODY
        return Actor(admin.name, admin.operator, frozenset(admin.domains), remote)

    # -- audit ------------------------------------------------------------------
    async def list_audit(self, actor: Actor, *, before: int | None = None,
                         limit: int = 100) -> list[AuditView]:
        """Newest first; a domain administrator reads the entries of their domains."""
        authorize(actor, "audit.list")
        limit = max(1, min(limit, limits.AUDIT_PAGE_MAX))
        domains = None if actor.operator else sorted(actor.domains)
        found = await self.store.list_audit(domains=domains, before=before, limit=limit)
        return [AuditView(e.id, e.at, e.actor, e.remote, e.action, e.target, e.domain, e.detail)
                for e in found]
