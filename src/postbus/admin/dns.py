"""A check of what DNS answers for the records a domain should publish
(`accounts.dns.domain_records`, the one list the CLI, panel and API show).

MX, SPF, DKIM and DMARC are looked up through the mail resolver (MX and TXT);
`autoconfig` and `autodiscover` by their addresses (a CNAME or A records both
reach the server); the SRV records (RFC 6186 client set-up, `_autodiscover`)
by SRV, each right when one of its records has the listed port and target
(RFC 2782: a target is a host name, not an alias, so it is compared as it is;
"0 0 0 ." is RFC 6186 §3.4's "not offered" and wants target "."). Each lookup
is bounded by `CHECK_TIMEOUT_SECONDS` and all run at once; a lookup that fails
or times out is reported as such, never as "missing".
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from postbus.accounts.dns import DnsRecord
from postbus.mailauth.resolver import DnsTempError, Resolver, normalize_name

CHECK_TIMEOUT_SECONDS = 5.0

OK, MISSING, WRONG, FAILED = "ok", "missing", "wrong", "lookup failed"


@dataclass(frozen=True)
class DnsCheck:
    record: DnsRecord
    status: str  # OK, MISSING, WRONG or FAILED
    found: tuple[str, ...] = ()


async def _bounded(lookup: Awaitable[list[str]]) -> list[str] | None:
    try:
        return await asyncio.wait_for(lookup, CHECK_TIMEOUT_SECONDS)
    except (DnsTempError, TimeoutError):
        return None


def _squash(text: str) -> str:
    return "".join(text.split()).lower()


def _srv_key(value: str) -> tuple[int, str]:
    """(port, target) of an SRV value "priority weight port target."."""
    _, _, port, target = value.split()
    return int(port), normalize_name(target)


_CHARACTER_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _txt(value: str) -> str:
    """A TXT value as listed ('"v=DKIM1; ... p=MIIB" "IjAN..."') as the resolver
    gives it: its character-strings unquoted and joined (RFC 7208 §3.3)."""
    if not value.startswith('"'):
        return value
    return "".join(re.sub(r"\\(.)", r"\1", s) for s in _CHARACTER_STRING.findall(value))


async def check(resolver: Resolver, hostname: str, wanted: list[DnsRecord]) -> list[DnsCheck]:
    """What DNS says of each record, all lookups at once."""
    host = normalize_name(hostname)

    async def mx_hosts(name: str) -> list[str]:
        return [h for _, h in await resolver.mx(name)]

    async def srv_values(name: str) -> list[str]:
        return [f"{p} {w} {port} {target}." for p, w, port, target in await resolver.srv(name)]

    async def one(record: DnsRecord) -> DnsCheck:
        value = _txt(record.value)
        good: Callable[[list[str]], bool]
        lookup: Callable[[str], Awaitable[list[str]]]
        if record.type == "MX":
            lookup, good = mx_hosts, (lambda found: host in found)
        elif record.type == "TXT" and value.startswith("v=spf1"):
            def good(found: list[str]) -> bool:
                spf = [t for t in found if t.lower().startswith("v=spf1")]
                return len(spf) == 1 and (" mx" in spf[0].lower() or host in spf[0].lower())
            lookup = resolver.txt
        elif record.type == "TXT" and value.startswith("v=DMARC1"):
            lookup, good = resolver.txt, (
                lambda found: any(t.startswith("v=DMARC1") for t in found))
        elif record.type == "TXT":
            lookup, good = resolver.txt, (
                lambda found: any(_squash(t) == _squash(value) for t in found))
        elif record.type == "CNAME":
            ours = set(await _bounded(resolver.addresses(host)) or [])
            lookup, good = resolver.addresses, (lambda found: bool(ours & set(found)))
        else:  # SRV
            want = _srv_key(record.value)
            lookup, good = srv_values, (lambda found: any(_srv_key(f) == want for f in found))
        found = await _bounded(lookup(normalize_name(record.name)))
        if found is None:
            return DnsCheck(record, FAILED)
        if not found:
            return DnsCheck(record, MISSING)
        if record.type == "TXT":  # only the records of the same kind (SPF, DMARC, DKIM)
            kind = value.split(";")[0].split(" ")[0].lower()
            found = [f for f in found if f.lower().startswith(kind)] or found
        return DnsCheck(record, OK if good(found) else WRONG, tuple(found))

    return list(await asyncio.gather(*(one(r) for r in wanted)))
