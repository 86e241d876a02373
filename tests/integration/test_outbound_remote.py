"""`remote.deliver_domain` against fake MX servers: the RFC 5321 §5.1 server
order and fallbacks, and the per-recipient outcomes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from postbus.config import Settings, from_dict
from postbus.delivery.remote import Envelope, deliver_domain
from postbus.mailauth.resolver import StaticResolver
from postbus.store.model import QueueRecipient
from tests.support.fake_mx import FakeMX

MESSAGE = b"From: a@example.org\r\nSubject: x\r\n\r\nhi\r\n"


def settings(port: int) -> Settings:
    return from_dict({"hostname": "mail.example.org", "dns": {"mx_port": port}})


def envelope(*addresses: str, message: bytes = MESSAGE, sender: str = "a@example.org") -> Envelope:
    return Envelope(sender, [QueueRecipient(a) for a in addresses], message)


@pytest.fixture()
async def mx() -> AsyncIterator[FakeMX]:
    server = await FakeMX().start()
    yield server
    await server.stop()


async def test_implicit_mx_uses_the_domains_address(mx: FakeMX) -> None:
    resolver = StaticResolver({"A remote.test": ["127.0.0.1"]})
    [out] = await deliver_domain(settings(mx.port), resolver, "remote.test", envelope("b@remote.test"))
    assert (out.status, out.remote_mta) == ("delivered", "remote.test")
    assert out.reply.startswith("250 2.0.0")


async def test_falls_back_to_the_next_mx(mx: FakeMX) -> None:
    resolver = StaticResolver({"MX remote.test": ["10 down.remote.test", "20 up.remote.test"],
                               "A down.remote.test": ["127.0.0.2"], "A up.remote.test": ["127.0.0.1"]})
    # 127.0.0.2 has nothing listening on the port: connection refused, then the next MX.
    [out] = await deliver_domain(settings(mx.port), resolver, "remote.test", envelope("b@remote.test"))
    assert (out.status, out.remote_mta) == ("delivered", "up.remote.test")


async def test_a_busy_greeting_defers(mx: FakeMX) -> None:
    mx.greeting = "421 4.3.2 too busy"
    resolver = StaticResolver({"MX remote.test": ["10 127.0.0.1"]})
    [out] = await deliver_domain(settings(mx.port), resolver, "remote.test", envelope("b@remote.test"))
    assert out.status == "deferred" and "421" in out.reply


async def test_mail_from_refused(mx: FakeMX) -> None:
    resolver = StaticResolver({"MX remote.test": ["10 127.0.0.1"]})
    mx.mail_reply = "553 5.7.1 sender rejected"
    outs = await deliver_domain(settings(mx.port), resolver, "remote.test",
                                envelope("b@remote.test", "c@remote.test"))
    assert [o.status for o in outs] == ["failed", "failed"]
    mx.mail_reply = "451 4.7.1 greylisted"
    [out] = await deliver_domain(settings(mx.port), resolver, "remote.test", envelope("b@remote.test"))
    assert out.status == "deferred"


async def test_per_recipient_outcomes(mx: FakeMX) -> None:
    resolver = StaticResolver({"MX remote.test": ["10 127.0.0.1"]})
    mx.rcpt_replies = {"gone@remote.test": "550 5.1.1 gone", "full@remote.test": "452 4.2.2 full"}
    outs = await deliver_domain(settings(mx.port), resolver, "remote.test",
                                envelope("gone@remote.test", "full@remote.test", "ok@remote.test"))
    assert [(o.address, o.status) for o in outs] == [
        ("gone@remote.test", "failed"), ("full@remote.test", "deferred"), ("ok@remote.test", "delivered")]
    assert mx.received[0].recipients == ["ok@remote.test"]


async def test_null_mx_and_missing_domain_fail(mx: FakeMX) -> None:
    resolver = StaticResolver({"MX nomail.test": ["0 ."]})
    [out] = await deliver_domain(settings(mx.port), resolver, "nomail.test", envelope("b@nomail.test"))
    assert out.status == "failed" and out.reply.startswith("556 5.1.10")
    [out] = await deliver_domain(settings(mx.port), resolver, "nowhere.test", envelope("b@nowhere.test"))
    assert out.status == "failed" and "5.4.4" in out.reply


async def test_dns_failure_defers(mx: FakeMX) -> None:
    resolver = StaticResolver({}, failing=["remote.test"])
    [out] = await deliver_domain(settings(mx.port), resolver, "remote.test", envelope("b@remote.test"))
    assert out.status == "deferred" and out.reply.startswith("451 4.4.3")


async def test_remote_size_limit_and_smtputf8(mx: FakeMX) -> None:
    resolver = StaticResolver({"MX remote.test": ["10 127.0.0.1"]})
    mx.extensions = ["SIZE 10", "8BITMIME"]
    [out] = await deliver_domain(settings(mx.port), resolver, "remote.test", envelope("b@remote.test"))
    assert out.status == "failed" and out.reply.startswith("552 5.3.4")
    mx.extensions = ["8BITMIME"]
    [out] = await deliver_domain(settings(mx.port), resolver, "remote.test", envelope("jos\u00e9@remote.test"))
    assert out.status == "failed" and out.reply.startswith("553 5.6.7")
    mx.extensions = ["8BITMIME", "SMTPUTF8"]
    [out] = await deliver_domain(settings(mx.port), resolver, "remote.test",
                                 envelope("jos\u00e9@remote.test", message="Subject: \u00e9\r\n\r\nx\r\n".encode()))
    assert out.status == "delivered"
    assert mx.received[-1].mail_params == ["BODY=8BITMIME", "SMTPUTF8"]
    assert mx.received[-1].recipients == ["jos\u00e9@remote.test"]


async def test_mail_for_ourselves_is_a_loop(mx: FakeMX) -> None:
    resolver = StaticResolver({"MX remote.test": ["10 mail.example.org"], "A mail.example.org": ["127.0.0.1"]})
    [out] = await deliver_domain(settings(mx.port), resolver, "remote.test", envelope("b@remote.test"))
    assert out.status == "failed" and "5.4.6" in out.reply
