"""The records of the administration area (issue 14): audit log entries and API
tokens. Plain frozen dataclasses shared by both backends, like `store.model`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change made through the administration service."""

    id: int  # 0 for an entry not stored yet
    at: float  # seconds since the epoch, UTC
    actor: str  # the administrator's name, or "cli" for the local command line
    remote: str  # the client's address, or "local"
    action: str  # e.g. "mailbox.create"
    target: str  # what it acted on: an address, a domain, an administrator
    domain: str  # the domain it belongs to; "" for service-wide changes
    detail: str = ""  # a short description; never a secret


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An administrator's API token: only the SHA-256 of the token is kept."""

    id: int
    admin: str  # the administrator's name
    digest: str  # lowercase hex SHA-256 of the token
    label: str
    created: float


@dataclass(frozen=True, slots=True)
class AdminSession:
    """An admin panel login; `id_hash` is the SHA-256 (hex) of the cookie's id."""

    id_hash: str
    admin: str  # the administrator's name
    csrf_token: str
    created: float
    last_seen: float
