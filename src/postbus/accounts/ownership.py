"""Which addresses an account may send as: the one rule SMTP submission and the
webmail share (DESIGN.md: the webmail sends through the same submission rules).

An account owns its own address and every alias whose targets include it (a
catch-all does not confer ownership), and either of those with a plus-address
tag (`anna+news@`) when no mailbox or alias has the tagged name itself: the
names that route to the account, as the router reads them.
"""

from __future__ import annotations

from postbus.accounts.address import (
    DEFAULT_RECIPIENT_DELIMITER,
    AddressError,
    base_address,
    normalize_address,
)
from postbus.store import Store
from postbus.store.model import Account


async def owns(store: Store, account: Account, address: str, *,
               recipient_delimiter: str = DEFAULT_RECIPIENT_DELIMITER) -> bool:
    """True when the account may use `address` as its sender (see the module rule)."""
    try:
        normalized = normalize_address(address)
    except AddressError:
        return False
    if await _owns_exactly(store, account, normalized):
        return True
    base = base_address(normalized, recipient_delimiter)
    if base is None or await store.get_account(normalized) is not None \
            or await store.get_alias(normalized) is not None:
        return False  # an exact mailbox or alias of the tagged name wins, as in routing
    return await _owns_exactly(store, account, base)


async def _owns_exactly(store: Store, account: Account, normalized: str) -> bool:
    if normalized == account.address:
        return True
    alias = await store.get_alias(normalized)
    return alias is not None and account.address in alias.targets


async def owned_addresses(store: Store, account: Account) -> list[str]:
    """The account's address, then the aliases of its domain that point to it,
    by name: what a sender-address picker offers (`owns` also accepts aliases
    in other domains and plus-address tags, which the user types)."""
    domain = account.address.rpartition("@")[2]
    aliases = sorted(a.source for a in await store.list_aliases(domain)
                     if account.address in a.targets and not a.source.startswith("@"))
    return [account.address, *aliases]
