"""The DNS records a hosted domain publishes, and a check of what DNS answers.

Records: MX to this server; SPF allowing it (RFC 7208); the domain's DKIM key
(RFC 6376 §3.6.1); a DMARC policy (RFC 7489 §6.1); the names mail clients try
for automatic set-up: ``autoconfig.DOMAIN`` (Thunderbird) and
``autodiscover.DOMAIN`` (Outlook) pointing here, and the ``_autodiscover._tcp``
SRV record. Each lookup of the check is bounded by `CHECK_TIMEOUT_SECONDS` and
all run at once; a lookup that fails or times out is reported as such, never
as "missing".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from postbus.mailauth.resolver import DnsTempError, Resolver, normalize_name

CHECK_TIMEOUT_SECONDS = 5.0
DMARC_POLICY = "v=DMARC1; p=quarantine"
SPF_POLICY = "v=spf1 mx -all"

OK, MISSING, WRONG, FAILED, UNCHECKED = "ok", "missing", "wrong", "lookup failed", "not checked"


@dataclass(frozen=True)
class DnsRecord:
    name: str  # fully qualified, without the trailing dot
    type: str  # MX, TXT, CNAME, SRV
    value: str  # as a zone file writes it

    def zone_line(self) -> str:
        value = f'"{self.value}"' if self.type == "TXT" else self.value
        return f"{self.name}. IN {self.type} {value}"


@dataclass(frozen=True)
class DnsCheck:
    record: DnsRecord
    status: str  # OK, MISSING, WRONG, FAILED or UNCHECKED
    found: tuple[str, ...] = ()


def records(domain: str, hostname: str, dkim_selector: str, dkim_txt: str) -> list[DnsRecord]:
    out = [
        DnsRecord(domain, "MX", f"10 {hostname}."),
        DnsRecord(domain, "TXT", SPF_POLICY),
    ]
    if dkim_txt:
        out.append(DnsRecord(f"{dkim_selector}._domainkey.{domain}", "TXT", dkim_txt))
    out += [
        DnsRecord(f"_dmarc.{domain}", "TXT", DMARC_POLICY),
        DnsRecord(f"autoconfig.{domain}", "CNAME", f"{hostname}."),
        DnsRecord(f"autodiscover.{domain}", "CNAME", f"{hostname}."),
        DnsRecord(f"_autodiscover._tcp.{domain}", "SRV", f"0 0 443 {hostname}."),
    ]
    return out


async def _bounded(lookup: Awaitable[list[str]]) -> list[str] | None:
    try:
        return await asyncio.wait_for(lookup, CHECK_TIMEOUT_SECONDS)
    except (DnsTempError, TimeoutError):
        return None


def _squash(text: str) -> str:
    return "".join(text.split()).lower()


async def check(resolver: Resolver, hostname: str, wanted: list[DnsRecord]) -> list[DnsCheck]:
    """What DNS says of each record, all lookups at once."""
    host = normalize_name(hostname)

    async def mx_hosts(name: str) -> list[str]:
        return [h for _, h in await resolver.mx(name)]

    async def one(record: DnsRecord) -> DnsCheck:
        lookup: Callable[[str], Awaitable[list[str]]]
        if record.type == "MX":
            lookup, good = mx_hosts, (lambda found: host in found)
        elif record.type == "TXT" and record.value.startswith("v=spf1"):
            def good(found: list[str]) -> bool:
                spf = [t for t in found if t.lower().startswith("v=spf1")]
                return len(spf) == 1 and (" mx" in spf[0].lower() or host in spf[0].lower())
            lookup = resolver.txt
        elif record.type == "TXT" and record.value.startswith("v=DMARC1"):
            lookup, good = resolver.txt, (
                lambda found: any(t.startswith("v=DMARC1") for t in found))
        elif record.type == "TXT":
            lookup, good = resolver.txt, (
                lambda found: any(_squash(t) == _squash(record.value) for t in found))
        elif record.type == "CNAME":
            # Either a CNAME or address records will do: the name must reach this server.
            ours = set(await _bounded(resolver.addresses(host)) or [])
            lookup, good = resolver.addresses, (lambda found: bool(ours & set(found)))
        else:
            return DnsCheck(record, UNCHECKED)
        found = await _bounded(lookup(record.name))
        if found is None:
            return DnsCheck(record, FAILED)
        if not found:
            return DnsCheck(record, MISSING)
        relevant = [f for f in found if record.type != "TXT" or f.lower().startswith(
            record.value.split(";")[0].split(" ")[0].lower())] or found
        return DnsCheck(record, OK if good(found) else WRONG, tuple(relevant))

    return list(await asyncio.gather(*(one(r) for r in wanted)))
