"""Where a recipient address goes: local mailboxes, remote addresses, or nowhere.

Resolution order for an address in a hosted domain (the usual hosting rules,
as in Postfix virtual maps): an existing mailbox wins; then an alias for the
exact address (a mailbox and an alias of one name both apply: the alias then
works as forwarding with a kept copy); the domain's catch-all alias (`@domain`)
only when neither exists. Plus-addressing comes between the two: when neither
a mailbox nor an alias has the exact name `user+tag@domain`, the address is
resolved as `user@domain` (and that one may reach the catch-all), so an alias
of the exact address always wins over the stripping. Alias targets are resolved again, recursively, with
loop detection: a target already on the path is dropped, and expansion stops at
`MAX_ALIAS_DEPTH`. A mailbox with forwarding (`delivery.rules`) sends its
mail to the forwarding targets, and keeps a copy only when the rule says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from postbus.accounts.address import (
    DEFAULT_RECIPIENT_DELIMITER,
    AddressError,
    base_address,
    normalize_address,
)
from postbus.delivery.rules import Rules
from postbus.store import Store
from postbus.store.model import Account

MAX_ALIAS_DEPTH = 10
MAX_EXPANSION = 1000  # targets one recipient may expand to


@dataclass
class Route:
    """The final destinations of one envelope recipient."""

    local: list[Account] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    unknown: bool = False  # a hosted domain without such a mailbox or alias
    hosted: bool = True  # False: the recipient's domain is not ours
    loop: bool = False  # expansion hit a loop or the depth limit somewhere


class Router:
    def __init__(self, store: Store, *,
                 recipient_delimiter: str = DEFAULT_RECIPIENT_DELIMITER) -> None:
        self.store = store
        self.recipient_delimiter = recipient_delimiter
        self.rules = Rules(store)

    async def is_hosted(self, domain: str) -> bool:
        return await self.store.get_domain(domain) is not None

    async def route(self, address: str) -> Route:
        try:
            address = normalize_address(address)
        except AddressError:
            return Route(unknown=True, hosted=False)
        domain = address.rpartition("@")[2]
        if not await self.is_hosted(domain):
            return Route(remote=[address], hosted=False)
        route = Route()
        seen_accounts: set[int] = set()
        await self._expand(address, route, path=(), seen_accounts=seen_accounts)
        if not route.local and not route.remote:
            route.unknown = True
        return route

    async def _expand(
        self, address: str, route: Route, path: tuple[str, ...], seen_accounts: set[int]
    ) -> None:
        if address in path or len(path) >= MAX_ALIAS_DEPTH:
            route.loop = True
            return
        if len(route.local) + len(route.remote) >= MAX_EXPANSION:
            route.loop = True
            return
        domain = address.rpartition("@")[2]
        if path and not await self.is_hosted(domain):
            if address not in route.remote:
                route.remote.append(address)
            return
        account = await self.store.get_account(address)
        alias = await self.store.get_alias(address)
        if account is None and alias is None:
            base = base_address(address, self.recipient_delimiter)
            if base is not None:  # user+tag@domain: route as user@domain
                await self._expand(base, route, (*path, address), seen_accounts)
                return
        forward = await self.rules.forward(address, account.id) if account is not None else None
        if forward is not None:
            # Forwarding set by an administrator: the mailbox keeps a copy only if asked.
            for target in forward.targets:
                await self._expand(target, route, (*path, address), seen_accounts)
        if account is not None and (forward is None or forward.keep_copy) \
                and account.id not in seen_accounts:
            seen_accounts.add(account.id)
            route.local.append(account)
        if alias is None and account is None:
            alias = await self.store.get_alias("@" + domain)  # the catch-all
        if alias is None:
            return
        for target in alias.targets:
            if target != address:
                await self._expand(target, route, (*path, address), seen_accounts)
