"""The log lines of logins, the same for IMAP, POP3 and SMTP AUTH (docs/logging.md).

Users type passwords into the user-name field, so a failed login's user name is
a secret until shown otherwise. It is logged as the address only when it is a
well-formed address (``accounts.address.normalize_address``) in a domain hosted
here, which a password almost never is; anything else is logged as
:data:`REDACTED`. No hash of it either: a password's hash can be searched for.
The client address and protocol come from the connection's logger prefix
(``net.connection.ConnectionLog``), so fail2ban can match one line format:

    ... proto=imap listener=imaps ip=203.0.113.5 port=51234 login failed user=<redacted> method=LOGIN
"""

from __future__ import annotations

import logging
from typing import Protocol

from postbus import metrics
from postbus.accounts.address import normalize_address

REDACTED = "<redacted>"


class _Domains(Protocol):
    async def get_domain(self, name: str) -> object | None: ...


async def loggable_user(accounts: _Domains, name: str) -> str:
    """``name`` normalised when it is an address of a hosted domain, else :data:`REDACTED`."""
    try:
        address = normalize_address(name)
    except ValueError:  # AddressError included
        return REDACTED
    if await accounts.get_domain(address.rpartition("@")[2]) is None:
        return REDACTED
    return address


async def log_failed_login(
    log: logging.LoggerAdapter[logging.Logger], accounts: _Domains, name: str, method: str
) -> None:
    """One INFO line: ``login failed user=... method=...`` (the password never)."""
    metrics.login(_proto(log), ok=False)
    log.info("login failed user=%s method=%s", await loggable_user(accounts, name), method)


def log_login(log: logging.LoggerAdapter[logging.Logger], address: str, method: str) -> None:
    metrics.login(_proto(log), ok=True)
    log.info("login user=%s method=%s", address, method)


def _proto(log: logging.LoggerAdapter[logging.Logger]) -> str:
    """The protocol of the connection behind ``log`` (a ``ConnectionLog``)."""
    connection = getattr(log, "connection", None)
    fields = connection.log_fields() if connection is not None else {}
    return str(fields.get("proto") or log.logger.name.rpartition(".")[2])
