"""The Authentication-Results field: formatting and the MX-side entry point."""

from __future__ import annotations

import email
import email.policy
from types import SimpleNamespace

from postbus.config import from_dict
from postbus.mailauth import dkim
from postbus.mailauth.authres import ResInfo, header, quote_value
from postbus.mailauth.inbound import authentication_results, from_domain
from postbus.mailauth.resolver import StaticResolver


def test_quote_value() -> None:
    assert quote_value("alice@example.com") == "alice@example.com"
    assert quote_value("example.com") == "example.com"
    assert quote_value("a b") == '"a b"'
    assert quote_value('x"\r\ny') == '"x\\"  y"'


def test_header_shape() -> None:
    field = header("mx.example.org", [
        ResInfo("spf", "pass", (("smtp.mailfrom", "a@example.com"),)),
        ResInfo("dmarc", "fail", (("header.from", "example.com"),), comment="p=reject"),
    ])
    assert field == (b"Authentication-Results: mx.example.org;\r\n\tspf=pass smtp.mailfrom=a@example.com;"
                     b"\r\n\tdmarc=fail (p=reject) header.from=example.com\r\n")
    assert header("h", []) == b"Authentication-Results: h; none\r\n"


def test_from_domain() -> None:
    assert from_domain(b"From: A <a@Example.COM>\r\n\r\nx") == ("example.com", "")
    assert from_domain(b"Subject: x\r\n\r\n")[0] == ""
    assert from_domain(b"From: a@x.test\r\nFrom: b@y.test\r\n\r\n")[1] == "several From fields"


def _app(resolver: StaticResolver) -> SimpleNamespace:
    return SimpleNamespace(settings=from_dict({"hostname": "mx.example.org"}),
                           services={"resolver": resolver})


async def test_all_three_pass() -> None:
    pem = dkim.generate_key()
    message = (b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nhi\r\n")
    message = dkim.sign(message, domain="example.com", selector="s1", private_pem=pem) + message
    resolver = StaticResolver({
        "TXT example.com": ["v=spf1 ip4:192.0.2.0/24 -all"],
        "TXT s1._domainkey.example.com": [dkim.dns_txt_record(pem)],
        "TXT _dmarc.example.com": ["v=DMARC1; p=reject"],
    })
    field = await authentication_results(_app(resolver), client_ip="192.0.2.7", helo="mail.example.com",
                                         mail_from="alice@example.com", message=message)
    parsed = email.message_from_bytes(field + b"\r\n", policy=email.policy.default)
    value = " ".join(str(parsed["Authentication-Results"]).split())
    assert value == ("mx.example.org; spf=pass smtp.mailfrom=alice@example.com; "
                     "dkim=pass header.d=example.com header.s=s1; "
                     "dmarc=pass (p=reject) header.from=example.com")


async def test_dns_trouble_is_temperror_never_an_exception() -> None:
    resolver = StaticResolver({}, failing=["h.example.com", "_dmarc.example.com"])
    field = await authentication_results(_app(resolver), client_ip="192.0.2.7", helo="h.example.com",
                                         mail_from="", message=b"From: a@example.com\r\n\r\nx\r\n")
    assert b"spf=temperror smtp.helo=h.example.com" in field
    assert b"dkim=none" in field
    assert b"dmarc=temperror" in field


async def test_resolver_is_made_once_and_shared() -> None:
    app = SimpleNamespace(settings=from_dict({"dns": {"static": {"TXT x.test": ["v=spf1 +all"]}}}),
                          services={})
    await authentication_results(app, client_ip="192.0.2.1", helo="h", mail_from="a@x.test",
                                 message=b"Subject: no from\r\n\r\n")
    assert isinstance(app.services["resolver"], StaticResolver)
