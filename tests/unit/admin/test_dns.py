"""The check of what DNS answers for a domain's records (`accounts.dns`): ok,
missing, wrong, and failed or slow lookups reported as such (never as missing)."""

from __future__ import annotations

import asyncio
import functools

import pytest

from postbus.accounts.dns import DnsRecord, domain_records
from postbus.admin import dns
from postbus.config import from_dict
from postbus.mailauth.dkim import dns_txt_record, generate_key
from postbus.mailauth.resolver import StaticResolver
from postbus.store.model import Domain

HOST = "mail.example.test"
CHECKED = 6  # MX, SPF, DKIM, DMARC, autoconfig, autodiscover; then SRV records


@functools.cache
def key() -> str:
    return generate_key()


def wanted() -> list[DnsRecord]:
    return domain_records(Domain(1, "a.test", "s2026", key()), from_dict({"hostname": HOST}))


async def test_all_present() -> None:
    resolver = StaticResolver({
        "MX a.test": ["10 mail.example.test"],
        "TXT a.test": ["v=spf1 mx -all", "google-site-verification=x"],
        "TXT s2026._domainkey.a.test": [dns_txt_record(key()).replace("; ", ";  ")],
        "TXT _dmarc.a.test": ["v=DMARC1; p=reject"],
        "A mail.example.test": ["192.0.2.10"],
        "A autoconfig.a.test": ["192.0.2.10"],
        "A autodiscover.a.test": ["192.0.2.10"],
    })
    results = await dns.check(resolver, HOST, wanted())
    assert [r.status for r in results[:CHECKED]] == ["ok"] * CHECKED
    assert {r.status for r in results[CHECKED:]} == {"not checked"}
    assert {r.record.type for r in results[CHECKED:]} == {"SRV"}
    assert results[1].found == ("v=spf1 mx -all",)


async def test_missing_wrong_and_failed() -> None:
    resolver = StaticResolver({
        "MX a.test": ["10 mx.elsewhere.test"],
        "TXT a.test": ["v=spf1 include:elsewhere.test -all"],
        "TXT s2026._domainkey.a.test": ["v=DKIM1; k=rsa; p=OLDKEY"],
        "A mail.example.test": ["192.0.2.10"],
        "A autoconfig.a.test": ["198.51.100.1"],
    }, failing=["_dmarc.a.test"])
    results = await dns.check(resolver, HOST, wanted())
    assert [r.status for r in results[:CHECKED]] == [
        "wrong", "wrong", "wrong", "lookup failed", "wrong", "missing"]
    assert results[0].found == ("mx.elsewhere.test",)


async def test_a_slow_lookup_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dns, "CHECK_TIMEOUT_SECONDS", 0.01)
    never = asyncio.Event()

    class Slow(StaticResolver):
        async def txt(self, name: str) -> list[str]:
            await never.wait()
            return []

    results = await dns.check(Slow({"MX a.test": ["10 mail.example.test"]}), HOST, wanted()[:2])
    assert [r.status for r in results] == ["ok", "lookup failed"]
