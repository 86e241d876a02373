"""The recipient and sender rules as functions: relay tricks, ownership, quota hints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.app import App
from postbus.config import from_dict
from postbus.delivery.pipeline import Delivery
from postbus.delivery.router import Route
from postbus.message.headers import parse_fields
from postbus.message.limits import MAX_HEADER_FIELDS
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
    await policy.check_header(store, anna, b"From: Anna <anna@example.test>, grp: info@example.test;\r\n")


def shape(header: bytes) -> dict[str, list[list[str]]]:
    return policy.check_header_shape(parse_fields(header, 0, len(header)))


def shape_refused(header: bytes) -> tuple[int, str, str]:
    with pytest.raises(Refusal) as info:
        shape(header)
    reply = info.value.reply
    assert reply.enhanced is not None
    return reply.code, reply.enhanced, reply.text


@pytest.mark.parametrize("header", [
    b"From: bob@example.test\r\nFrom: CEO <ceo@bank.test>\r\n",  # the case
    b"from: a@example.test\r\nSubject: x\r\nFROM : b@example.test\r\n",  # any case, obs blank
    b"From: a@example.test\r\nSender: a@example.test\r\nSender: b@example.test\r\n",
    b"Date: Tue, 1 Jul 2025 10:00:00 +0000\r\nFrom: a@example.test\r\nDate: Wed, 2 Jul 2025 10:00:00 +0000\r\n",
    b"From: a@example.test\r\nFrom:\r\n",  # an empty second one counts too
])
def test_more_than_one_from_sender_or_date_is_refused(header: bytes) -> None:
    code, enhanced, text = shape_refused(header)
    assert (code, enhanced) == (550, "5.6.0") and "more than one" in text


def test_header_shape() -> None:
    got = shape(b"Date: x\r\nFrom: a@example.test, B <b@example.test>\r\nSender: s@example.test\r\n"
                b"Resent-From: r@example.test\r\nResent-Sender: t@example.test\r\n"
                b"Resent-From: u@example.test\r\nTo: x@remote.test\r\n")
    assert got == {"from": [["a@example.test", "b@example.test"]], "sender": [["s@example.test"]],
                   "resent-from": [["r@example.test"], ["u@example.test"]],
                   "resent-sender": [["t@example.test"]]}
    assert shape_refused(b"Subject: x\r\n")[:2] == (553, "5.7.1")  # no From
    assert shape_refused(b"From:\r\n")[:2] == (553, "5.7.1")  # no mailbox in it
    for sender in (b"Sender: a@example.test, b@example.test\r\n", b"Sender:  \r\n"):
        assert shape_refused(b"From: a@example.test\r\n" + sender)[:2] == (550, "5.6.0")
    many = ", ".join(f"u{n}@example.test" for n in range(policy.MAX_ORIGINATOR_MAILBOXES + 1))
    assert shape_refused(f"From: {many}\r\n".encode())[:2] == (550, "5.6.0")
    assert shape_refused(b"X: y\r\n" * MAX_HEADER_FIELDS + b"From: a@example.test\r\n")[:2] \
        == (552, "5.3.4")


@pytest.mark.parametrize(("field", "enhanced_text"), [
    (b"Sender: bob@example.test", "5.7.1 Sender header"),
    (b"Resent-From: bob@example.test", "5.7.1 Resent-From"),
    (b"Resent-Sender: Bob <bob@example.test>", "5.7.1 Resent-From"),
    (b"Resent-From: anna@example.test, bob@example.test", "5.7.1 Resent-From"),
    (b"Sender: nobody", "5.7.1 Sender header"),  # no domain: parsed as nobody@MISSING_DOMAIN
])
async def test_sender_and_resent_fields_must_be_owned(delivery: Delivery, field: bytes,
                                                      enhanced_text: str) -> None:
    anna = await delivery.store.get_account("anna@example.test")
    assert anna is not None
    with pytest.raises(Refusal) as info:
        await policy.check_header(delivery.store, anna, b"From: anna@example.test\r\n" + field + b"\r\n")
    reply = info.value.reply
    assert reply.code == 553 and f"{reply.enhanced} {reply.text}".startswith(enhanced_text)
    await policy.check_header(delivery.store, anna, b"From: anna@example.test\r\nSender: info@example.test\r\n"
                              b"Resent-From: Anna <anna@example.test>\r\nResent-Sender: info@example.test\r\n")
