"""The DNS records of a domain and the check of what DNS answers: ok, missing,
wrong, and failed or slow lookups reported as such (never as missing)."""

from __future__ import annotations

import asyncio

import pytest

from postbus.admin import dns
from postbus.mailauth.resolver import StaticResolver

HOST = "mail.example.test"
DKIM = "v=DKIM1; k=rsa; p=MIIBIjANBg"


def wanted() -> list[dns.DnsRecord]:
    return dns.records("a.test", HOST, "s2026", DKIM)


def test_the_records_to_publish() -> None:
    lines = [r.zone_line() for r in wanted()]
    assert lines == [
        "a.test. IN MX 10 mail.example.test.",
        'a.test. IN TXT "v=spf1 mx -all"',
        f's2026._domainkey.a.test. IN TXT "{DKIM}"',
        '_dmarc.a.test. IN TXT "v=DMARC1; p=quarantine"',
        "autoconfig.a.test. IN CNAME mail.example.test.",
        "autodiscover.a.test. IN CNAME mail.example.test.",
        "_autodiscover._tcp.a.test. IN SRV 0 0 443 mail.example.test.",
    ]


async def test_all_present() -> None:
    resolver = StaticResolver({
        "MX a.test": ["10 mail.example.test"],
        "TXT a.test": ["v=spf1 mx -all", "google-site-verification=x"],
        "TXT s2026._domainkey.a.test": ["v=DKIM1; k=rsa;  p=MIIBIjANBg"],
        "TXT _dmarc.a.test": ["v=DMARC1; p=reject"],
        "A mail.example.test": ["192.0.2.10"],
        "A autoconfig.a.test": ["192.0.2.10"],
        "A autodiscover.a.test": ["192.0.2.10"],
    })
    results = await dns.check(resolver, HOST, wanted())
    assert [r.status for r in results] == ["ok"] * 6 + ["not checked"]
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
    assert [r.status for r in results] == [
        "wrong", "wrong", "wrong", "lookup failed", "wrong", "missing", "not checked"]
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
