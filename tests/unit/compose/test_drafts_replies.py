"""Drafts (saved, replaced, reopened, discarded on send), replies (RFC 5322
§3.6.4 threading fields, reply-all without one's own addresses, \\Answered)
and forwards (inline with the attachments, or the original as message/rfc822)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from postbus.compose import Attachment, ComposeRefused, Draft, Source
from postbus.compose.submit import delivery_of
from postbus.delivery.pipeline import Envelope, Recipient
from postbus.delivery.trace import ClientInfo
from postbus.store.model import INBOX
from tests.unit.compose.conftest import DOMAIN, World

ANNA, BOB, CARL = f"anna@{DOMAIN}", f"bob@{DOMAIN}", f"carl@{DOMAIN}"
ATTRIBUTION = "On {date}, {name} wrote:"


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


async def test_a_draft_is_replaced_reopened_and_gone_once_sent(world: World) -> None:
    c = world.compose
    first = await c.save_draft(world.anna, Draft(to=BOB, bcc=CARL, subject="plan", body="v1",
                                                 attachments=(Attachment("a.txt", "text/plain", b"A"),)))
    second = await c.save_draft(world.anna, Draft(to=BOB, bcc=CARL, subject="plan", body="v2",
                                                  draft_uid=first.uid), autosave=True)
    assert [a.filename for a in second.attachments] == ["a.txt"]  # autosave keeps them
    drafts = await world.folder(world.anna, "Drafts")
    assert len(drafts) == 1 and {"\\Draft", "\\Seen"} <= drafts[0][1]
    form, parts = await c.open_draft(world.anna, second.uid)
    assert (form.to, form.bcc, form.subject, form.body.strip()) == (BOB, CARL, "plan", "v2")
    assert [(p.index, p.filename, p.size) for p in parts] == [(0, "a.txt", 1)]
    third = await c.save_draft(world.anna, Draft(to=BOB, body="v3", draft_uid=second.uid,
                                                 drop=(0,)))
    assert third.attachments == ()
    await c.send(world.anna, Draft(to=BOB, body="final", draft_uid=third.uid))
    assert await world.folder(world.anna, "Drafts") == []
    with pytest.raises(ComposeRefused):
        await c.open_draft(world.anna, third.uid)


async def test_a_draft_uid_never_reaches_past_drafts(world: World) -> None:
    await world.compose.send(world.bob, Draft(to=ANNA, body="keep me"))
    [entry] = await world.app.store.list_messages(
        (await world.app.store.get_mailbox(world.anna.id, INBOX)).id)  # type: ignore[union-attr]
    await world.compose.discard_draft(world.anna, entry.uid)  # an Inbox UID: not a draft
    assert len(await world.inbox(world.anna)) == 1


async def deliver(world: World, raw: bytes, to: str) -> int:
    route = await delivery_of(world.app).route(to)
    envelope = Envelope("x@remote.test", [Recipient(to, route)], client=ClientInfo(ip="192.0.2.1"))
    outcome = await delivery_of(world.app).deliver_bytes(envelope, raw)
    return outcome.delivered[0].uid


ORIGINAL = (
    "From: Dora <dora@remote.test>\r\nReply-To: Desk <desk@remote.test>\r\n"
    f"To: Anna <{ANNA}>, {BOB}\r\nCc: info@{DOMAIN}, {CARL}\r\n"
    "Subject: Planning\r\nDate: Mon, 1 Dec 2025 10:00:00 +0100\r\n"
    "Message-ID: <m2@remote.test>\r\nReferences: <m0@remote.test> <m1@remote.test>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCan we meet?\r\n> earlier\r\n"
    "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=agenda.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n").encode()


async def test_reply_and_reply_all(world: World) -> None:
    uid = await deliver(world, ORIGINAL, ANNA)
    source = Source(INBOX, uid)
    form = await world.compose.reply(world.anna, source, everyone=False, attribution=ATTRIBUTION)
    assert (form.to, form.cc, form.subject) == ('Desk <desk@remote.test>', "", "Re: Planning")
    assert form.in_reply_to == "<m2@remote.test>"
    assert form.references == "<m0@remote.test> <m1@remote.test> <m2@remote.test>"
    assert "On Mon, 01 Dec 2025 10:00:00 +0100, Dora wrote:\n> Can we meet?\n>> earlier" in form.body
    everyone = await world.compose.reply(world.anna, source, everyone=True, attribution=ATTRIBUTION)
    assert everyone.cc == f"{BOB}, {CARL}"  # not anna, not her alias info@
    await world.compose.send(world.anna, Draft(
        to=BOB, subject=form.subject, body=form.body, in_reply_to=form.in_reply_to,
        references=form.references, replied=form.replied))
    msg = parse((await world.inbox(world.bob))[-1])
    assert msg["In-Reply-To"] == "<m2@remote.test>"
    assert msg["References"].split() == ["<m0@remote.test>", "<m1@remote.test>", "<m2@remote.test>"]
    [(_, flags)] = await world.folder(world.anna, INBOX)
    assert "\\Answered" in flags


async def test_forward_inline_and_as_attachment(world: World) -> None:
    uid = await deliver(world, ORIGINAL, ANNA)
    source = Source(INBOX, uid)
    inline = await world.compose.forward(world.anna, source, inline=True,
                                         heading="Forwarded message", labels={})
    assert inline.subject == "Fwd: Planning" and "Subject: Planning" in inline.body
    assert "Can we meet?" in inline.body
    await world.compose.send(world.anna, Draft(to=BOB, subject=inline.subject, body=inline.body,
                                               forwarded=source, forward_mode="inline"))
    msg = parse((await world.inbox(world.bob))[-1])
    assert [p.get_filename() for p in msg.iter_attachments()] == ["agenda.pdf"]

    attached = await world.compose.forward(world.anna, source, inline=False,
                                           heading="Forwarded message", labels={})
    saved = await world.compose.save_draft(world.anna, Draft(
        to=CARL, subject=attached.subject, body=attached.body, forwarded=source,
        forward_mode="attachment"))
    assert [a.content_type for a in saved.attachments] == ["message/rfc822"]
    await world.compose.send(world.anna, Draft(to=CARL, subject=attached.subject,
                                               draft_uid=saved.uid, forwarded=source,
                                               forward_mode="attachment"))
    raw = (await world.inbox(world.carl))[-1]
    msg = parse(raw)
    [part] = list(msg.iter_attachments())
    assert part.get_content_type() == "message/rfc822"
    assert part["Content-Transfer-Encoding"] == "7bit"
    assert ORIGINAL.rstrip(b"\r\n") in raw  # byte for byte, not re-encoded
    [(_, flags)] = await world.folder(world.anna, INBOX)
    assert "$Forwarded" in flags
