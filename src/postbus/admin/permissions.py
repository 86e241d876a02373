"""Who may do what: every operation of the administration service, as data,
and the one function that checks it.

An operation is either the operator's alone (domains, administrators), or one
of a domain (its mailboxes, aliases, forwarding, vacation replies), which the
operator and that domain's administrators may do. A domain administrator who
names something of another domain is told it does not exist (`NotFound`), so
that no administrator can learn which mailboxes another customer has; an
operator-only operation is refused as such (`Forbidden`). Reading lists
(domains, audit) is open to every administrator and filtered to their domains
by the service.
"""

from __future__ import annotations

from enum import Enum

from postbus.admin.actor import Actor
from postbus.admin.errors import Forbidden, NotFound, Unauthenticated


class Scope(Enum):
    OPERATOR = "operator"  # the operator only
    DOMAIN = "domain"  # the operator and the administrators of the domain
    ANY = "any"  # every administrator; the service filters what it returns
    # the operator, or an administrator acting on their own record; a change of
    # one's own credentials also needs one's current password (service._confirm_own)
    SELF = "self"


OPERATIONS: dict[str, Scope] = {
    "domain.list": Scope.ANY,
    "domain.read": Scope.DOMAIN,
    "domain.add": Scope.OPERATOR,
    "domain.remove": Scope.OPERATOR,
    "domain.suspend": Scope.OPERATOR,
    "mailbox.list": Scope.DOMAIN,
    "mailbox.create": Scope.DOMAIN,
    "mailbox.read": Scope.DOMAIN,
    "mailbox.update": Scope.DOMAIN,
    "mailbox.delete": Scope.DOMAIN,
    "mailbox.password": Scope.DOMAIN,
    "alias.list": Scope.DOMAIN,
    "alias.add": Scope.DOMAIN,
    "alias.remove": Scope.DOMAIN,
    "forward.read": Scope.DOMAIN,
    "forward.set": Scope.DOMAIN,
    "vacation.read": Scope.DOMAIN,
    "vacation.set": Scope.DOMAIN,
    "admin.list": Scope.OPERATOR,
    "admin.add": Scope.OPERATOR,
    "admin.remove": Scope.OPERATOR,
    "admin.totp": Scope.SELF,
    "admin.password": Scope.SELF,
    "token.list": Scope.SELF,
    "token.create": Scope.SELF,
    "token.revoke": Scope.SELF,
    "audit.list": Scope.ANY,
}


def authorize(actor: Actor, operation: str, *, domain: str = "", admin: str = "") -> None:
    """Returns when `actor` may do `operation` (on `domain`, or on administrator
    `admin`'s own record); raises Unauthenticated, Forbidden or NotFound."""
    scope = OPERATIONS[operation]  # an unknown operation is a bug: KeyError
    if not actor.authenticated:
        raise Unauthenticated("administrator credentials required")
    if actor.operator or scope is Scope.ANY:
        return
    if scope is Scope.OPERATOR:
        raise Forbidden(f"{operation} is for operators only")
    if scope is Scope.SELF:
        if admin != actor.name:
            raise Forbidden(f"{operation} of another administrator is for operators only")
        return
    if not domain or domain not in actor.domains:
        raise NotFound(f"no such {operation.partition('.')[0]}")
