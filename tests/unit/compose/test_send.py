"""Sending from the compose service: in process through the delivery pipeline,
under SMTP submission's rules, with a copy in Sent."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from postbus.compose import Attachment, ComposeRefused, Draft
from tests.unit.compose.conftest import DOMAIN, World, make_world

ANNA, BOB, CARL = f"anna@{DOMAIN}", f"bob@{DOMAIN}", f"carl@{DOMAIN}"


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


async def test_send_to_a_local_user_with_an_attachment_and_a_copy_in_sent(world: World) -> None:
    pdf = b"%PDF-1.4 " + bytes(range(256)) * 40
    sent = await world.compose.send(world.anna, Draft(
        from_address=ANNA, to=f"Bob <{BOB}>", bcc=CARL, subject="Offerte für Q3",
        body="Hallo Bob,\n\nsee the file.\n",
        attachments=(Attachment("offer.pdf", "application/pdf", pdf),)))
    assert sent.saved and sent.recipients == (BOB, CARL)
    [delivered] = await world.inbox(world.bob)
    msg = parse(delivered)
    assert msg["Subject"] == "Offerte für Q3" and msg["From"] == ANNA
    assert msg["Bcc"] is None and b"carl" not in delivered.split(b"\r\n\r\n")[0].lower().replace(
        b"for <", b"")  # RFC 5322 §3.6.3: Bcc not shown to the others
    assert msg["Message-ID"] == sent.message_id
    [part] = list(msg.iter_attachments())
    assert part.get_filename() == "offer.pdf" and part.get_content() == pdf
    assert len(await world.inbox(world.carl)) == 1  # the Bcc recipient got it
    [(copy, flags)] = await world.folder(world.anna, "Sent")
    assert "\\Seen" in flags
    assert parse(copy)["Bcc"] == CARL  # the sender's copy keeps it
    completed = await world.compose.addressbook.complete(world.anna.id, "bo")
    assert [(s.name, s.address) for s in completed] == [("Bob", BOB)]


async def test_a_forged_from_is_refused_and_nothing_is_sent(world: World) -> None:
    for forged in (BOB, f"sales@{DOMAIN}", "ceo@elsewhere.test", f"bob+x@{DOMAIN}"):
        with pytest.raises(ComposeRefused) as refused:
            await world.compose.send(world.anna, Draft(from_address=forged, to=CARL,
                                                       subject="urgent", body="pay this"))
        assert refused.value.kind == "from" and refused.value.detail == forged
        with pytest.raises(ComposeRefused):
            await world.compose.save_draft(world.anna, Draft(from_address=forged, to=CARL))
    assert await world.inbox(world.carl) == []
    assert await world.folder(world.anna, "Sent") == []
    assert await world.folder(world.anna, "Drafts") == []


async def test_an_alias_and_a_tag_of_the_own_address_may_be_the_from(world: World) -> None:
    await world.compose.send(world.anna, Draft(from_address=f"info@{DOMAIN}", to=BOB, body="x"))
    await world.compose.send(world.anna, Draft(from_address=f"anna+shop@{DOMAIN}", to=BOB))
    froms = [parse(raw)["From"] for raw in await world.inbox(world.bob)]
    assert froms == [f"info@{DOMAIN}", f"anna+shop@{DOMAIN}"]


async def test_the_identity_gives_the_display_name_not_the_form(world: World) -> None:
    from postbus.preferences import Identity, Preferences

    await world.compose.preferences.save(world.anna, Preferences(
        identities=(Identity("Anna Jansen", ANNA), Identity("Info desk", f"info@{DOMAIN}"))))
    await world.compose.send(world.anna, Draft(from_address=f"INFO@{DOMAIN}", to=BOB))
    assert parse((await world.inbox(world.bob))[0])["From"] == f"Info desk <info@{DOMAIN}>"


@pytest.mark.parametrize(("to", "kind"), [
    ("", "no_recipient"),
    (f"nobody@{DOMAIN}", "recipient"),
    ("not an address", "recipient"),
    (f"bob%other.test@{DOMAIN}", "recipient"),
    ("x@[192.0.2.1]", "recipient"),
])
async def test_bad_recipients_are_refused(world: World, to: str, kind: str) -> None:
    with pytest.raises(ComposeRefused) as refused:
        await world.compose.send(world.anna, Draft(from_address=ANNA, to=to, body="x"))
    assert refused.value.kind == kind
    assert await world.folder(world.anna, "Sent") == []


async def test_a_remote_recipient_goes_to_the_queue(world: World) -> None:
    sent = await world.compose.send(world.anna, Draft(to="Eve <eve@remote.test>", body="hi"))
    assert sent.queue_id is not None
    [item] = await world.app.store.list_queue()
    assert item.sender == ANNA and [r.address for r in item.recipients] == ["eve@remote.test"]


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(tmp_path, max_message_size="64KB"):
        yield w


async def test_over_the_message_size_is_refused_clearly(small: World) -> None:
    big = Attachment("big.bin", "application/octet-stream", b"\0" * (50 << 10))
    with pytest.raises(ComposeRefused) as refused:  # 50 KB base64 grows past 64 KB
        await small.compose.send(small.anna, Draft(to=BOB, attachments=(big,)))
    assert refused.value.kind == "too_big" and refused.value.detail == str(64 << 10)
    with pytest.raises(ComposeRefused) as refused:
        await small.compose.send(small.anna, Draft(to=BOB, attachments=(big, big)))
    assert refused.value.kind == "too_big"
    assert await small.inbox(small.bob) == []
    await small.compose.send(small.anna, Draft(to=BOB, attachments=(
        Attachment("ok.bin", "application/octet-stream", b"\0" * (30 << 10)),)))
    assert len(await small.inbox(small.bob)) == 1


async def test_the_submitter_is_named_and_a_sending_limit_is_said(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline takes SMTP submission's sending limits for `Envelope.submitter`;
    its refusal (RFC 3463 X.7.1) reaches the user as such, nothing stored."""
    from postbus.compose.submit import delivery_of
    from postbus.delivery.pipeline import DeliveryRefused, Envelope

    seen: list[Envelope] = []

    async def refuse(envelope: Envelope, raw: bytes) -> None:
        seen.append(envelope)
        raise DeliveryRefused("4.7.1", "Sending limit reached: 100 messages an hour")

    monkeypatch.setattr(delivery_of(world.app), "deliver_bytes", refuse)
    with pytest.raises(ComposeRefused) as refused:
        await world.compose.send(world.anna, Draft(from_address=f"info@{DOMAIN}", to=BOB))
    assert refused.value.kind == "sending_limit"
    assert [e.submitter for e in seen] == [ANNA] and seen[0].mail_from == f"info@{DOMAIN}"
    assert await world.folder(world.anna, "Sent") == []
