"""What the administration service hands its front ends: plain records without
secrets (no password hashes, no token digests), ready to be shown or turned
into JSON."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DomainView:
    name: str  # IDNA A-label form
    suspended: bool


@dataclass(frozen=True)
class MailboxView:
    address: str
    domain: str
    quota_bytes: int  # 0: unlimited
    used_bytes: int
    used_messages: int
    enabled: bool
    last_login: float | None = None  # Unix time of the last successful login; None: never


@dataclass(frozen=True)
class NewMailbox:
    mailbox: MailboxView
    password: str | None  # the generated password, shown once; None when one was chosen


@dataclass(frozen=True)
class AliasView:
    source: str  # an address, or "@domain" for a catch-all
    targets: tuple[str, ...]


@dataclass(frozen=True)
class AdminView:
    name: str
    operator: bool
    domains: tuple[str, ...]
    totp: bool  # whether a second factor is enrolled


@dataclass(frozen=True)
class TokenView:
    id: int
    admin: str
    label: str
    created: float


@dataclass(frozen=True)
class NewToken:
    token: TokenView
    secret: str  # the bearer token itself, shown once


@dataclass(frozen=True)
class AuditView:
    id: int
    at: float
    actor: str
    remote: str
    action: str
    target: str
    domain: str
    detail: str


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str  # base32
    uri: str  # otpauth://totp/...
