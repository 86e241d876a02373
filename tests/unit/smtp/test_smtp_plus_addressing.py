"""Plus-addressing through the session: user+tag at RCPT on the MX, and as the user's own
address on submission (MAIL FROM and the originator fields)."""

from __future__ import annotations

from pathlib import Path

from postbus.smtp import policy
from tests.unit.smtp.harness import DOMAIN, Client, Harness, message, smtp_app


async def send(c: Client, sender: str, rcpt: str, body: bytes) -> int:
    await c.expect(f"MAIL FROM:<{sender}>", 250)
    await c.expect(f"RCPT TO:<{rcpt}>", 250)
    await c.expect("DATA", 354)
    await c.send(body + b".\r\n")
    return (await c.reply())[0]


async def submission(h: Harness) -> Client:
    c = await h.connect("submissions")
    await c.expect("EHLO client.example", 250)
    await c.login()
    return c


async def test_mx_delivers_user_plus_tag_to_the_user(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        assert await send(c, "x@remote.test", f"Bob+Lists@{DOMAIN}", message("tagged")) == 250
        (stored,) = await h.inbox(f"bob@{DOMAIN}")
        assert b"Subject: tagged\r\n" in stored and b"for <bob+lists@example.test>;" in stored
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        await c.expect(f"RCPT TO:<nobody+x@{DOMAIN}>", 550)  # only users' tags


async def test_submission_accepts_the_users_own_tags(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await submission(h)
        body = message("from tag", sender=f"Anna <anna+shop@{DOMAIN}>")
        assert await send(c, f"anna+shop@{DOMAIN}", f"bob@{DOMAIN}", body) == 250
        body = message("alias tag", sender=f"info+desk@{DOMAIN}")  # info is anna's alias
        assert await send(c, f"info+desk@{DOMAIN}", f"bob@{DOMAIN}", body) == 250
        await c.expect(f"MAIL FROM:<bob+x@{DOMAIN}>", 553)  # someone else's tag
        assert len(await h.inbox(f"bob@{DOMAIN}")) == 2


async def test_an_exact_alias_of_the_tagged_name_wins(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        await h.app.accounts.add_alias(f"anna+boss@{DOMAIN}", [f"bob@{DOMAIN}"])
        c = await submission(h)
        await c.expect(f"MAIL FROM:<anna+boss@{DOMAIN}>", 553)  # it is bob's, not anna's
        anna = await h.app.store.get_account(f"anna@{DOMAIN}")
        assert anna is not None
        assert not await policy.owns(h.app.store, anna, f"anna+boss@{DOMAIN}")
        assert await policy.owns(h.app.store, anna, f"anna+other@{DOMAIN}")
        assert not await policy.owns(h.app.store, anna, f"anna+other@{DOMAIN}", recipient_delimiter="")
        m = await h.connect()
        await m.expect("EHLO client.example", 250)
        assert await send(m, "x@remote.test", f"anna+boss@{DOMAIN}", message("boss")) == 250
        assert len(await h.inbox(f"bob@{DOMAIN}")) == 1 and await h.inbox(f"anna@{DOMAIN}") == []


async def test_plus_addressing_can_be_turned_off(tmp_path: Path) -> None:
    async with smtp_app(tmp_path, delivery={"recipient_delimiter": ""}) as h:
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        await c.expect(f"RCPT TO:<anna+tag@{DOMAIN}>", 550)
        s = await submission(h)
        await s.expect(f"MAIL FROM:<anna+tag@{DOMAIN}>", 553)
