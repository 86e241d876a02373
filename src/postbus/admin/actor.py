"""Who is asking: the operator, an administrator of some domains, or nobody.

Every operation of the administration service takes an `Actor` first; the
service decides in one place (`permissions.authorize`) what it may do."""

from __future__ import annotations

from dataclasses import dataclass

#: The name the audit log gives the local command line (the machine's operator).
CLI_NAME = "cli"
LOCAL = "local"


@dataclass(frozen=True)
class Actor:
    name: str  # the administrator's name; CLI_NAME for the command line; "" for nobody
    operator: bool
    domains: frozenset[str]  # the domains of a domain administrator; empty for an operator
    remote: str = LOCAL  # the client's address, for the audit log

    @property
    def authenticated(self) -> bool:
        return bool(self.name)

    def manages(self, domain: str) -> bool:
        return self.operator or domain in self.domains


#: The command line runs as the operator: whoever can read the configuration
#: file and the data directory owns the service anyway.
CLI = Actor(CLI_NAME, True, frozenset())
NOBODY = Actor("", False, frozenset())
