"""DMARC: record parsing (checked against the `dmarc` package's parser),
organisational domains, alignment and policy discovery."""

from __future__ import annotations

import dmarc as dmarc_pkg
import pytest

from postbus.mailauth.dkim import DkimResult
from postbus.mailauth.dmarc import aligned, evaluate, organizational_domain, parse_record
from postbus.mailauth.resolver import StaticResolver
from postbus.mailauth.spf import SpfResult


@pytest.mark.parametrize("record", [
    "v=DMARC1; p=reject",
    "v=DMARC1; p=quarantine; sp=none; adkim=s; aspf=s; pct=50",
    "v=DMARC1;p=none;rua=mailto:d@example.com",
    "v=DMARC1; p=reject; sp=quarantine; aspf=r",
])
def test_parse_agrees_with_dmarc_package(record: str) -> None:
    ours = parse_record(record)
    theirs = dmarc_pkg.DMARC().parse_record(record, domain="example.com")
    assert ours is not None
    assert ours.p == theirs.p.value
    assert ours.sp == (theirs.sp.value if theirs.sp.value else theirs.p.value)
    assert (ours.adkim, ours.aspf, ours.pct) == (theirs.adkim.value, theirs.aspf.value, theirs.pct)


def test_unusable_records() -> None:
    assert parse_record("v=spf1 -all") is None
    assert parse_record("v=DMARC1; p=bogus") is None
    assert parse_record("v=DMARC1; rua=mailto:x@example.com").p == "none"  # type: ignore[union-attr]


def test_organizational_domain_and_alignment() -> None:
    assert organizational_domain("a.b.example.co.uk") == "example.co.uk"
    assert organizational_domain("mail.remote.test") == "remote.test"
    assert aligned("example.com", "mail.example.com", "r")
    assert not aligned("example.com", "mail.example.com", "s")
    assert not aligned("example.com", "com", "r")  # the dmarc package's evaluator accepts this
    assert not aligned("example.co.uk", "other.co.uk", "r")


ZONE = {
    "TXT _dmarc.example.com": ["v=DMARC1; p=reject; sp=quarantine; adkim=s"],
    "TXT _dmarc.two.example": ["v=DMARC1; p=reject", "v=DMARC1; p=none"],
}


async def test_evaluate() -> None:
    resolver = StaticResolver(ZONE, failing=["_dmarc.down.example"])
    spf_pass = SpfResult("pass", "bounces.example.com")
    dkim_sub = DkimResult("pass", "mail.example.com", "s")
    r = await evaluate(resolver, "example.com", spf_pass, [])
    assert (r.result, r.policy, r.record_domain) == ("pass", "reject", "example.com")
    r = await evaluate(resolver, "example.com", SpfResult("fail", "example.com"), [dkim_sub])
    assert (r.result, r.policy) == ("fail", "reject")  # adkim=s: a subdomain does not align
    r = await evaluate(resolver, "news.example.com", SpfResult("none", ""), [
        DkimResult("pass", "example.com", "s")])
    assert (r.result, r.policy, r.record_domain) == ("fail", "quarantine", "example.com")
    r = await evaluate(resolver, "news.example.com", None, [DkimResult("pass", "news.example.com")])
    assert r.result == "pass"
    assert (await evaluate(resolver, "nodmarc.example", spf_pass, [])).result == "none"
    assert (await evaluate(resolver, "two.example", spf_pass, [])).result == "none"
    assert (await evaluate(resolver, "down.example", spf_pass, [])).result == "temperror"
