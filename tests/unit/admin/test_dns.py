"""The check of what DNS answers for a domain's records (`accounts.dns`): ok,
missing, wrong, and failed or slow lookups reported as such (never as missing);
SRV records (RFC 6186, autodiscover) by their port and target."""

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
SRV = {  # as published, for the default listeners
    "SRV _autodiscover._tcp.a.test": ["0 0 443 mail.example.test."],
    "SRV _imaps._tcp.a.test": ["0 1 993 mail.example.test."],
    "SRV _imap._tcp.a.test": ["0 1 143 mail.example.test."],
    "SRV _pop3s._tcp.a.test": ["0 1 995 mail.example.test."],
    "SRV _pop3._tcp.a.test": ["0 1 110 mail.example.test."],
    "SRV _submissions._tcp.a.test": ["0 1 465 mail.example.test."],
    "SRV _submission._tcp.a.test": ["0 1 587 mail.example.test."],
}


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
        **SRV,
    })
    results = await dns.check(resolver, HOST, wanted())
    assert [r.status for r in results] == ["ok"] * len(results)
    assert [r.record.type for r in results[CHECKED:]] == ["SRV"] * len(SRV)
    assert results[1].found == ("v=spf1 mx -all",)
    assert results[CHECKED].found == ("0 0 443 mail.example.test.",)


async def test_srv_records_missing_wrong_and_failed() -> None:
    """Port and target are compared with what is listed; priority and weight are the
    domain's own choice; one right record among others is enough."""
    resolver = StaticResolver({
        **SRV,
        "SRV _imaps._tcp.a.test": ["10 5 993 MAIL.example.test"],  # case, no root dot: ok
        "SRV _imap._tcp.a.test": ["0 1 143 mail.elsewhere.test."],  # another target
        "SRV _pop3s._tcp.a.test": ["0 1 110 mail.example.test.",
                                   "5 1 995 mail.example.test."],  # one right one
        "SRV _pop3._tcp.a.test": [],
        "SRV _submissions._tcp.a.test": ["0 1 587 mail.example.test."],  # another port
    }, failing=["_submission._tcp.a.test"])
    results = {r.record.name: r for r in await dns.check(resolver, HOST, wanted())}
    status = {name.split(".")[0]: r.status for name, r in results.items()
              if r.record.type == "SRV"}
    assert status == {"_autodiscover": "ok", "_imaps": "ok", "_imap": "wrong", "_pop3s": "ok",
                      "_pop3": "missing", "_submissions": "wrong",
                      "_submission": "lookup failed"}
    assert results["_imap._tcp.a.test."].found == ("0 1 143 mail.elsewhere.test.",)


async def test_a_listener_that_is_off_wants_the_root_target() -> None:
    """RFC 6186 §3.4: "0 0 0 ." says the service is not offered."""
    records = domain_records(Domain(1, "a.test", "s2026", key()),
                             from_dict({"hostname": HOST, "listen": {"pop3": ""}}))
    pop3 = [r for r in records if r.name == "_pop3._tcp.a.test."]
    assert [r.value for r in pop3] == ["0 0 0 ."]
    for published, status in ((["0 0 0 ."], "ok"), (["0 1 110 mail.example.test."], "wrong"),
                              ([], "missing")):
        resolver = StaticResolver({"SRV _pop3._tcp.a.test": published})
        assert [r.status for r in await dns.check(resolver, HOST, pop3)] == [status]


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
