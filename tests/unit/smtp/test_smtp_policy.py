"""The recipient and sender rules as functions: relay tricks, ownership, quota hints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.app import App
from postbus.config import from_dict
from postbus.delivery.pipeline import Delivery
from postbus.delivery.router import Route
from postbus.message import parse
from postbus.smtp import policy
from postbus.smtp.errors import Refusal
from postbus.smtp.proto import RcptParams, parse_path
from postbus.store.model import Account


@pytest.fixture
async def delivery(tmp_path: Path) -> AsyncIterator[Delivery]:
    app = App(from_dict({"data_dir": str(tmp_path), "hostname": "mx.example.test"}))
    await app.open()
    await app.store.add_domain("example.test")
    await app.store.add_domain("xn--bcher-kva.test")  # bücher.test
    for address in ("anna@example.test", "post@xn--bcher-kva.test"):
        await app.store.add_account(address, "x", quota_bytes=0)
    await app.store.set_alias("info@example.test", ["anna@example.test"])
    yield Delivery(app)
    await app.close()


async def resolve(delivery: Delivery, raw: str, *, submission: bool = False) -> str:
    path = parse_path(raw, utf8=True, allow_postmaster=True)
    assert path is not None
    rcpt = await policy.resolve_recipient(delivery, path, RcptParams(), submission=submission,
                                          hostname="mx.example.test")
    return rcpt.address


async def refused(delivery: Delivery, raw: str, *, submission: bool = False) -> tuple[int, str]:
    with pytest.raises(Refusal) as info:
        await resolve(delivery, raw, submission=submission)
    reply = info.value.reply
    assert reply.enhanced is not None
    return reply.code, reply.enhanced


@pytest.mark.parametrize("raw", [
    "<anna%remote.test@example.test>",  # percent hack (RFC 2505 §3.2)
    "<remote.test!anna@example.test>",  # bang path
    '<"anna@remote.test"@example.test>',  # quoted local part hiding an address
    '<"anna%remote.test"@example.test>',
    "<@example.test:anna@remote.test>",  # source route through us to elsewhere
    "<@example.test,@mx.example.test:anna@remote.test>",
    "<anna@remote.test.>",  # trailing dot on someone else's domain
    "<anna@REMOTE.Test>",  # case
    "<anna@[127.0.0.1]>",  # address literal
    "<anna@[IPv6:::1]>",
    "<anna@bücher.example>",  # IDN of a domain that is not ours
    "<anna@xn--bcher-kva.example>",
    "<anna@example.test.remote.test>",  # our name as a prefix of theirs
])
async def test_relay_tricks_are_refused_on_the_mx(delivery: Delivery, raw: str) -> None:
    code, enhanced = await refused(delivery, raw)
    assert code in (550, 553) and enhanced.startswith("5.")


@pytest.mark.parametrize(("raw", "address"), [
    ("<Anna@Example.TEST>", "anna@example.test"),  # mixed case
    ("<anna@example.test.>", "anna@example.test"),  # trailing dot: the same FQDN
    ('<"anna"@example.test>', "anna@example.test"),  # RFC 5321 §4.1.2: the same mailbox
    ("<@remote.test:anna@example.test>", "anna@example.test"),  # route ignored, never used
    ("<post@bücher.test>", "post@xn--bcher-kva.test"),  # U-label form of our domain
    ("<POST@XN--BCHER-KVA.test>", "post@xn--bcher-kva.test"),
    ("<info@example.test>", "info@example.test"),
    ("<Postmaster>", "postmaster@example.test"),
])
async def test_our_spellings_are_delivered_locally(
        delivery: Delivery, raw: str, address: str) -> None:
    await delivery.store.set_alias("postmaster@example.test", ["anna@example.test"])
    assert await resolve(delivery, raw) == address


async def test_submission_accepts_any_domain_but_keeps_the_rules_for_ours(delivery: Delivery) -> None:
    assert await resolve(delivery, '<"John Doe"@Remote.Test>', submission=True) == (
        '"John Doe"@remote.test')
    assert await resolve(delivery, "<Carol@bücher.example>", submission=True) == (
        "Carol@xn--bcher-kva.example")
    assert await refused(delivery, "<anna%remote.test@example.test>", submission=True) == (550, "5.7.1")
    assert await refused(delivery, "<nobody@example.test>", submission=True) == (550, "5.1.1")


def test_postmaster_domain() -> None:
    assert policy.postmaster_address("mx.example.test") == "postmaster@example.test"
    assert policy.postmaster_address("example.test") == "postmaster@example.test"
    assert policy.postmaster_address("localhost") == "postmaster@localhost"


def _account(used: int, quota: int) -> Account:
    return Account(1, "anna@example.test", 1, "x", quota, True, used, 0)


def test_check_room() -> None:
    policy.check_room(Route(local=[_account(0, 0)]), 10**9)  # unlimited
    policy.check_room(Route(local=[_account(50, 100)]), 50)
    for used, hint in ((100, None), (50, 51)):
        with pytest.raises(Refusal) as info:
            policy.check_room(Route(local=[_account(used, 100)]), hint)
        assert (info.value.reply.code, info.value.reply.enhanced) == (452, "4.2.2")


async def test_ownership(delivery: Delivery) -> None:
    anna = await delivery.store.get_account("anna@example.test")
    assert anna is not None
    store = delivery.store
    assert await policy.owns(store, anna, "ANNA@example.test.")
    assert await policy.owns(store, anna, "info@example.test")
    assert not await policy.owns(store, anna, "post@xn--bcher-kva.test")
    assert not await policy.owns(store, anna, '"anna"@example.test x')
    await store.set_alias("@example.test", ["anna@example.test"])  # a catch-all is not ownership
    assert not await policy.owns(store, anna, "anything@example.test")
    meta = parse(b"From: Anna <anna@example.test>, grp: info@example.test;\r\n\r\n")
    assert policy.from_addresses(meta) == ["anna@example.test", "info@example.test"]
    await policy.check_from_header(store, anna, meta)
