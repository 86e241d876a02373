"""Our async SPF evaluator against pyspf on one table of DNS records.

pyspf is given the same records by replacing its module-level `DNSLookup`;
every case must give the same result from both, and a few hand-checked
expectations (from RFC 7208's rules) guard against the two agreeing on a bug.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import spf as pyspf

from postbus.mailauth.resolver import StaticResolver
from postbus.mailauth.spf import PermError, check, check_host, parse_record

ZONE: dict[str, list[str]] = {
    "TXT example.com": ["v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"],
    "TXT soft.example": ["v=spf1 a:mail.soft.example ~all"],
    "A mail.soft.example": ["198.51.100.7"],
    "TXT neutral.example": ["v=spf1 ?all"],
    "TXT plain.example": ["v=spf1 ip4:203.0.113.5"],
    "TXT inc.example": ["v=spf1 include:example.com include:soft.example -all"],
    "TXT redir.example": ["v=spf1 redirect=example.com"],
    "TXT redirall.example": ["v=spf1 redirect=example.com ?all"],
    "TXT mx.example": ["v=spf1 mx/24 -all"],
    "MX mx.example": ["10 mx1.mx.example", "20 mx2.mx.example"],
    "A mx1.mx.example": ["192.0.2.200"],
    "A mx2.mx.example": ["198.51.100.200"],
    "AAAA mx2.mx.example": ["2001:db8:ffff::1"],
    "TXT mx6.example": ["v=spf1 mx//64 -all"],
    "MX mx6.example": ["10 mx2.mx.example"],
    "TXT a.example": ["v=spf1 a -all"],
    "A a.example": ["192.0.2.10"],
    "AAAA a.example": ["2001:db8:a::10"],
    "TXT exists.example": ["v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all"],
    "A 10.2.0.192.strong._spf.exists.example": ["127.0.0.2"],
    "TXT macro.example": ["v=spf1 exists:%{i}.%{h}.%{o}.m.macro.example -all"],
    "A 192.0.2.33.helo.test.macro.example.m.macro.example": ["127.0.0.2"],
    "TXT upper.example": ["v=spf1 exists:%{L}.u.upper.example -all"],
    "A user%2Bx.u.upper.example": ["127.0.0.2"],
    "TXT ip6macro.example": ["v=spf1 exists:%{ir}.%{v}.six.ip6macro.example -all"],
    "A 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.six.ip6macro.example":
        ["127.0.0.2"],
    "TXT ptr.example": ["v=spf1 ptr -all"],
    "PTR 192.0.2.44": ["host.ptr.example", "other.test"],
    "A host.ptr.example": ["192.0.2.44"],
    "TXT two.example": ["v=spf1 -all", "v=spf1 +all"],
    "TXT bad.example": ["v=spf1 ip4:192.0.2.300 -all"],
    "TXT badmech.example": ["v=spf1 foo:bar -all"],
    "TXT tworedir.example": ["v=spf1 redirect=a.example redirect=example.com"],
    "TXT noneinc.example": ["v=spf1 include:nospf.example -all"],
    "TXT nospf.example": ["some other text"],
    "TXT void.example": ["v=spf1 a:n1.void.example a:n2.void.example a:n3.void.example +all"],
    "TXT twovoid.example": ["v=spf1 a:n1.void.example a:n2.void.example +all"],
    "TXT loop.example": ["v=spf1 include:loop.example -all"],
    "TXT many.example": ["v=spf1 " + " ".join(f"a:h{i}.many.example" for i in range(11)) + " -all"],
    **{f"A h{i}.many.example": ["10.0.0.1"] for i in range(11)},
    "TXT tenth.example": ["v=spf1 " + " ".join(f"a:h{i}.many.example" for i in range(9))
                          + " ip4:192.0.2.1 -all"],
    "TXT temp.example": ["v=spf1 a:fail.temp.example -all"],
    "TXT case.example": ["V=SPF1 IP4:192.0.2.1 -ALL"],
    "TXT spfbis.example": ["v=spf10 -all"],
    "TXT mapped.example": ["v=spf1 ip4:192.0.2.77 -all"],
    "TXT cidr.example": ["v=spf1 ip4:192.0.2.1/33 -all"],
    "TXT unknownmod.example": ["v=spf1 foo=bar ip4:192.0.2.9 -all"],
    "TXT helo.test": ["v=spf1 ip4:192.0.2.55 -all"],
    "TXT d2.example": ["v=spf1 exists:%{d2}.x.d2.example -all"],
    "A d2.example.x.d2.example": ["127.0.0.2"],
    "TXT nulmx.example": ["v=spf1 mx -all"],
    "MX nulmx.example": ["0 ."],
    "TXT exp.example": ["v=spf1 -all exp=explain.exp.example"],
}
FAILING = {"fail.temp.example"}

# (client IP, MAIL FROM, HELO, the result RFC 7208 gives, worked out by hand)
CASES: list[tuple[str, str, str, str]] = [
    ("192.0.2.1", "a@example.com", "helo.test", "pass"),
    ("2001:db8::5", "a@example.com", "helo.test", "pass"),
    ("198.51.100.1", "a@example.com", "helo.test", "fail"),
    ("198.51.100.7", "a@soft.example", "helo.test", "pass"),
    ("198.51.100.8", "a@soft.example", "helo.test", "softfail"),
    ("198.51.100.8", "a@neutral.example", "helo.test", "neutral"),
    ("198.51.100.8", "a@plain.example", "helo.test", "neutral"),
    ("198.51.100.8", "a@nowhere.example", "helo.test", "none"),
    ("198.51.100.8", "a@nospf.example", "helo.test", "none"),
    ("192.0.2.9", "a@inc.example", "helo.test", "pass"),
    ("198.51.100.7", "a@inc.example", "helo.test", "pass"),
    ("203.0.113.9", "a@inc.example", "helo.test", "fail"),
    ("192.0.2.9", "a@redir.example", "helo.test", "pass"),
    ("203.0.113.9", "a@redir.example", "helo.test", "fail"),
    ("203.0.113.9", "a@redirall.example", "helo.test", "neutral"),
    ("192.0.2.201", "a@mx.example", "helo.test", "pass"),
    ("198.51.100.9", "a@mx.example", "helo.test", "pass"),
    ("203.0.113.9", "a@mx.example", "helo.test", "fail"),
    ("2001:db8:ffff::abcd", "a@mx6.example", "helo.test", "pass"),
    ("2001:db8:fffe::1", "a@mx6.example", "helo.test", "fail"),
    ("192.0.2.10", "a@a.example", "helo.test", "pass"),
    ("2001:db8:a::10", "a@a.example", "helo.test", "pass"),
    ("192.0.2.11", "a@a.example", "helo.test", "fail"),
    ("192.0.2.10", "strong-bad@exists.example", "helo.test", "pass"),
    ("192.0.2.11", "strong-bad@exists.example", "helo.test", "fail"),
    ("192.0.2.33", "x@macro.example", "helo.test", "pass"),
    ("192.0.2.33", "user+x@upper.example", "helo.test", "pass"),
    ("2001:db8::1", "x@ip6macro.example", "helo.test", "pass"),
    ("192.0.2.44", "x@ptr.example", "helo.test", "pass"),
    ("192.0.2.45", "x@ptr.example", "helo.test", "fail"),
    ("192.0.2.1", "x@two.example", "helo.test", "permerror"),
    ("192.0.2.1", "x@bad.example", "helo.test", "permerror"),
    ("192.0.2.1", "x@badmech.example", "helo.test", "permerror"),
    ("192.0.2.1", "x@tworedir.example", "helo.test", "permerror"),
    ("192.0.2.1", "x@noneinc.example", "helo.test", "permerror"),
    ("192.0.2.1", "x@void.example", "helo.test", "permerror"),
    ("192.0.2.1", "x@twovoid.example", "helo.test", "pass"),
    ("192.0.2.1", "x@loop.example", "helo.test", "permerror"),
    ("192.0.2.1", "x@many.example", "helo.test", "permerror"),
    ("192.0.2.1", "x@tenth.example", "helo.test", "pass"),
    ("192.0.2.1", "x@case.example", "helo.test", "pass"),
    ("192.0.2.1", "x@spfbis.example", "helo.test", "none"),
    ("::ffff:192.0.2.77", "x@mapped.example", "helo.test", "pass"),
    ("192.0.2.1", "x@cidr.example", "helo.test", "permerror"),
    ("192.0.2.9", "x@unknownmod.example", "helo.test", "pass"),
    ("192.0.2.55", "", "helo.test", "pass"),
    ("192.0.2.56", "", "helo.test", "fail"),
    ("192.0.2.1", "x@d2.example", "helo.test", "pass"),
    ("192.0.2.1", "x@nulmx.example", "helo.test", "fail"),
    ("192.0.2.1", "x@exp.example", "helo.test", "fail"),
    ("192.0.2.1", "x@bad..example", "helo.test", "none"),
]


def _pyspf_lookup(name: str, qtype: str, strict: Any = True, timeout: Any = 20) -> list[Any]:
    name = name.rstrip(".").lower()
    if name in FAILING:
        raise pyspf.TempError(f"DNS {name}")
    answers: list[Any] = []
    for key, values in ZONE.items():
        rtype, _, owner = key.partition(" ")
        if owner.lower() != name or rtype != qtype:
            continue
        for value in values:
            if qtype == "TXT":
                answers.append(((name, qtype), [value.encode()]))
            elif qtype == "MX":
                pref, _, host = value.partition(" ")
                answers.append(((name, qtype), (int(pref), host)))
            else:
                answers.append(((name, qtype), value))
    return answers


def _ptr_zone() -> dict[str, list[str]]:
    # pyspf asks for PTR by reverse name; our StaticResolver by address.
    zone = dict(ZONE)
    for key, values in ZONE.items():
        if key.startswith("PTR "):
            ip = key[4:]
            zone["PTR " + ".".join(reversed(ip.split("."))) + ".in-addr.arpa"] = values
    return zone


@pytest.fixture()
def oracle(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    saved = dict(ZONE)
    ZONE.update(_ptr_zone())
    monkeypatch.setattr(pyspf, "DNSLookup", _pyspf_lookup)
    yield
    ZONE.clear()
    ZONE.update(saved)


@pytest.mark.parametrize(("ip", "mail_from", "helo", "expected"), CASES)
async def test_spf_agrees_with_pyspf(
    oracle: None, ip: str, mail_from: str, helo: str, expected: str
) -> None:
    ours = await check(StaticResolver(ZONE, FAILING), ip=ip, mail_from=mail_from, helo=helo)
    theirs, _explanation = pyspf.check2(ip, mail_from, helo)
    assert ours.result == theirs, (mail_from, ours, theirs)
    assert ours.result == expected


async def test_dns_failure_is_temperror(oracle: None) -> None:
    resolver = StaticResolver(ZONE, FAILING)
    ours = await check(resolver, ip="192.0.2.1", mail_from="x@temp.example", helo="h.test")
    theirs, _ = pyspf.check2("192.0.2.1", "x@temp.example", "h.test")
    assert ours.result == theirs == "temperror"


async def test_failing_top_level_lookup_is_temperror() -> None:
    resolver = StaticResolver({}, {"down.example"})
    assert await check_host(resolver, "192.0.2.1", "down.example", "a@down.example") == "temperror"


def test_syntax_is_checked_before_evaluation() -> None:
    with pytest.raises(PermError):
        parse_record("v=spf1 +all ip4:1.2.3")
    with pytest.raises(PermError):
        parse_record("v=spf1 a:%{z}.example.com")
    with pytest.raises(PermError):
        parse_record("v=spf1 include:example")
    record = parse_record("v=spf1 a:mail.example.com/24//64 mx ~all")
    assert [(t.mechanism, t.arg, t.cidr4, t.cidr6) for t in record.terms] == [
        ("a", "mail.example.com", 24, 64), ("mx", "", None, None), ("all", "", None, None)]


async def test_helo_identity_is_reported() -> None:
    result = await check(StaticResolver(ZONE), ip="192.0.2.55", mail_from="", helo="helo.test")
    assert (result.result, result.identity, result.domain) == ("pass", "helo", "helo.test")
