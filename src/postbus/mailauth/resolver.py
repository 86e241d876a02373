"""DNS for mail: the few lookups SMTP delivery, SPF, DKIM and DMARC need.

Everything that asks DNS goes through a `Resolver` (DESIGN.md: the outside
world is injected). `make_resolver(settings)` gives the dnspython asynchronous
resolver, or, when `[dns] static` is set, a `StaticResolver` answering from
that table so tests run without a network.

Invariants: no lookup blocks the event loop; a name that does not exist or has
no records of the type asked gives an empty list (the caller decides what
"nothing" means: implicit MX, SPF "none", a void lookup); a lookup that could
not be answered (timeout, SERVFAIL, no reachable server) raises `DnsTempError`.
Names are compared lowercase, without the trailing root dot.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver
import dns.reversename

from postbus.config import Settings

# RFC 1035 §2.3.4: a name is at most 253 characters in dotted text.
MAX_NAME_LENGTH = 253


class DnsTempError(Exception):
    """The lookup failed in a way that may succeed later (RFC 7208 §2.6.6 temperror)."""


class Resolver(Protocol):
    async def mx(self, domain: str) -> list[tuple[int, str]]:
        """(preference, exchange) pairs, lowest preference first."""

    async def addresses(self, host: str) -> list[str]:
        """IPv4 addresses, then IPv6 addresses."""

    async def ip4(self, host: str) -> list[str]: ...

    async def ip6(self, host: str) -> list[str]: ...

    async def txt(self, name: str) -> list[str]:
        """One string per TXT record, its character-strings joined (RFC 7208 §3.3)."""

    async def ptr(self, ip: str) -> list[str]: ...

    async def srv(self, name: str) -> list[tuple[int, int, int, str]]:
        """(priority, weight, port, target) of each SRV record (RFC 2782), the
        target normalised ("" for the root: RFC 6186 §3.4, no such service)."""


def normalize_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _sorted_mx(records: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    return sorted(((pref, normalize_name(host)) for pref, host in records), key=lambda r: r[0])


class StaticResolver:
    """Answers from a fixed table (`[dns] static`): keys "TYPE name", values as in
    zone files ("10 mx.remote.test" for MX, "127.0.0.1" for A). A name in
    `failing` raises DnsTempError for every type, to test temperror paths."""

    def __init__(self, table: Mapping[str, Iterable[str]], failing: Iterable[str] = ()) -> None:
        self._table: dict[tuple[str, str], list[str]] = {}
        for key, values in table.items():
            rtype, _, name = key.strip().partition(" ")
            self._table[(rtype.upper(), normalize_name(name))] = list(values)
        self._failing = {normalize_name(n) for n in failing}
        self.queries: list[tuple[str, str]] = []  # what was asked, for tests

    def _get(self, rtype: str, name: str) -> list[str]:
        name = normalize_name(name)
        self.queries.append((rtype, name))
        if name in self._failing:
            raise DnsTempError(f"{rtype} {name}: lookup failed (static table)")
        return list(self._table.get((rtype, name), []))

    async def mx(self, domain: str) -> list[tuple[int, str]]:
        records = []
        for value in self._get("MX", domain):
            pref, _, host = value.strip().partition(" ")
            records.append((int(pref), host.strip()))
        return _sorted_mx(records)

    async def ip4(self, host: str) -> list[str]:
        if _is_ip(host, 4):
            return [host]
        return self._get("A", host)

    async def ip6(self, host: str) -> list[str]:
        if _is_ip(host, 6):
            return [host]
        return self._get("AAAA", host)

    async def addresses(self, host: str) -> list[str]:
        if _is_ip(host, 4) or _is_ip(host, 6):
            return [host]
        return await self.ip4(host) + await self.ip6(host)

    async def txt(self, name: str) -> list[str]:
        return self._get("TXT", name)

    async def ptr(self, ip: str) -> list[str]:
        return [normalize_name(n) for n in self._get("PTR", ip)]

    async def srv(self, name: str) -> list[tuple[int, int, int, str]]:
        records = []
        for value in self._get("SRV", name):
            priority, weight, port, target = value.split()
            records.append((int(priority), int(weight), int(port), normalize_name(target)))
        return records


class DnsPythonResolver:
    """dnspython's asyncio resolver with a per-lookup lifetime."""

    def __init__(self, timeout: float, nameservers: Iterable[str] = (), port: int = 53) -> None:
        servers = list(nameservers)
        if servers:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = servers
        else:
            try:
                self._resolver = dns.asyncresolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                self._resolver = dns.asyncresolver.Resolver(configure=False)
                self._resolver.nameservers = ["127.0.0.1"]
        self._resolver.port = port
        self._resolver.lifetime = timeout
        self._resolver.timeout = timeout

    async def _query(self, name: str, rtype: str) -> dns.resolver.Answer | None:
        if len(name) > MAX_NAME_LENGTH or not name:
            return None
        try:
            return await self._resolver.resolve(name, rtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        except (dns.exception.Timeout, dns.resolver.NoNameservers,
                dns.resolver.LifetimeTimeout) as exc:
            raise DnsTempError(f"{rtype} {name}: {exc}") from exc
        except (dns.name.EmptyLabel, dns.name.LabelTooLong, dns.name.NameTooLong,
                UnicodeError) as exc:
            del exc
            return None

    async def mx(self, domain: str) -> list[tuple[int, str]]:
        answer = await self._query(domain, "MX")
        if answer is None:
            return []
        return _sorted_mx((r.preference, r.exchange.to_text()) for r in answer)

    async def ip4(self, host: str) -> list[str]:
        if _is_ip(host, 4):
            return [host]
        answer = await self._query(host, "A")
        return [r.address for r in answer] if answer is not None else []

    async def ip6(self, host: str) -> list[str]:
        if _is_ip(host, 6):
            return [host]
        answer = await self._query(host, "AAAA")
        return [r.address for r in answer] if answer is not None else []

    async def addresses(self, host: str) -> list[str]:
        if _is_ip(host, 4) or _is_ip(host, 6):
            return [host]
        return await self.ip4(host) + await self.ip6(host)

    async def txt(self, name: str) -> list[str]:
        answer = await self._query(name, "TXT")
        if answer is None:
            return []
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]

    async def ptr(self, ip: str) -> list[str]:
        try:
            name = dns.reversename.from_address(ip).to_text()
        except (ValueError, dns.exception.SyntaxError):
            return []
        answer = await self._query(name, "PTR")
        return [normalize_name(r.target.to_text()) for r in answer] if answer is not None else []

    async def srv(self, name: str) -> list[tuple[int, int, int, str]]:
        answer = await self._query(name, "SRV")
        if answer is None:
            return []
        return [(r.priority, r.weight, r.port, normalize_name(r.target.to_text()))
                for r in answer]


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def make_resolver(settings: Settings) -> Resolver:
    """The static table when `[dns] static` is set (tests), else real DNS."""
    if settings.dns.static:
        return StaticResolver(settings.dns.static)
    return DnsPythonResolver(settings.duration("dns", "timeout"), settings.dns.nameservers)


class _HasServices(Protocol):
    settings: Settings
    services: dict[str, object]


def app_resolver(app: _HasServices) -> Resolver:
    """The application's shared resolver (`app.services["resolver"]`), made on first use."""
    resolver = app.services.get("resolver")
    if resolver is None:
        resolver = make_resolver(app.settings)
        app.services["resolver"] = resolver
    return resolver  # type: ignore[return-value]
