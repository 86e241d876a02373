"""MX and submission rules through the session: trace fields, ownership, quota, aliases, DSN."""

from __future__ import annotations

from pathlib import Path

from tests.unit.smtp.harness import DOMAIN, Client, Harness, message, smtp_app


async def send(c: Client, sender: str, recipients: list[str], body: bytes,
               mail_params: str = "") -> tuple[int, list[str]]:
    await c.expect(f"MAIL FROM:<{sender}>{mail_params}", 250)
    for rcpt in recipients:
        await c.expect(f"RCPT TO:<{rcpt}>", 250)
    await c.expect("DATA", 354)
    await c.send(body + b".\r\n")
    return await c.reply()


async def submission(h: Harness, user: str = f"anna@{DOMAIN}") -> Client:
    c = await h.connect("submissions")
    await c.expect("EHLO client.example", 250)
    await c.login(user)
    return c


async def test_mx_message_gets_trace_fields_and_is_stored_byte_exact(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        body = message("trace", body="a\r\n..dot\r\nb\r\n")
        code, text = await send(c, "x@remote.test", [f"anna@{DOMAIN}"], body.replace(b"..", b"..."))
        assert code == 250 and text[0].startswith("2.0.0 Message accepted, id ")
        (stored,) = await h.inbox(f"anna@{DOMAIN}")
        assert stored.startswith(b"Authentication-Results: mx.example.test;")
        message_id = text[0].rsplit(" ", 1)[1].encode()
        assert (b"\r\nReturn-Path: <x@remote.test>\r\n"
                b"Received: from client.example (client.localhost [127.0.0.1])\r\n"
                b"\tby mx.example.test (Postbus) with ESMTP id " + message_id) in stored
        assert b"\tfor <anna@example.test>;\r\n" in stored
        assert stored.endswith(b"\r\n" + body.replace(b"...", b".."))


async def test_submission_sender_and_from_must_be_owned(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await submission(h)
        assert (await c.expect("MAIL FROM:<bob@example.test>", 553))[0].startswith("5.7.1 Sender")
        await c.expect("MAIL FROM:<>", 553)
        code, text = await send(c, f"anna@{DOMAIN}", [f"bob@{DOMAIN}"],
                                message("forged", sender=f"bob@{DOMAIN}"))
        assert code == 553 and text[0].startswith("5.7.1 From header rejected")
        code, _ = await send(c, f"anna@{DOMAIN}", [f"bob@{DOMAIN}"], b"Subject: no from\r\n\r\nx\r\n")
        assert code == 553
        two = message("two", sender=f"anna@{DOMAIN}, bob@{DOMAIN}")
        assert (await send(c, f"anna@{DOMAIN}", [f"bob@{DOMAIN}"], two))[0] == 553
        assert await h.inbox(f"bob@{DOMAIN}") == []
        # the alias info@ points to anna: she may use it, in either place and any case
        ok = message("alias", sender=f'"Info desk" <Info@{DOMAIN.upper()}>')
        assert (await send(c, f"info@{DOMAIN}", [f"bob@{DOMAIN}"], ok))[0] == 250
        (stored,) = await h.inbox(f"bob@{DOMAIN}")
        assert b"with ESMTPSA id" in stored and b"Return-Path: <info@example.test>" in stored
        # bob does not own anna's alias
        b = await submission(h, f"bob@{DOMAIN}")
        await b.expect(f"MAIL FROM:<info@{DOMAIN}>", 553)


async def test_submission_queues_remote_recipients_with_dsn_parameters(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await submission(h)
        await c.expect(f"MAIL FROM:<anna@{DOMAIN}> RET=HDRS ENVID=env+2B1", 250)
        await c.expect('RCPT TO:<"John Doe"@Remote.TEST> NOTIFY=FAILURE,DELAY', 250)
        await c.expect(f"RCPT TO:<bob@{DOMAIN}> ORCPT=rfc822;bob@{DOMAIN}", 250)
        await c.expect("RCPT TO:<nobody@example.test>", 550)  # hosted domains are still checked
        await c.expect("DATA", 354)
        body = message("out", sender=f"anna@{DOMAIN}")
        await c.send(body + b".\r\n")
        assert (await c.reply())[0] == 250
        (item,) = await h.queued()
        assert item.sender == f"anna@{DOMAIN}" and item.envid == "env+1" and item.ret == "HDRS"
        (rcpt,) = item.recipients
        assert rcpt.address == '"John Doe"@remote.test' and rcpt.notify == "DELAY,FAILURE"
        queued = await h.app.store.read_blob(item.blob_id)
        assert queued.endswith(body) and not queued.startswith(b"Return-Path")  # relayed copy
        (local,) = await h.inbox(f"bob@{DOMAIN}")
        assert local == queued  # one blob for both


async def test_mx_refuses_unknown_users_and_other_domains(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        assert await c.expect("RCPT TO:<nobody@example.test>", 550) == ["5.1.1 No such user here"]
        assert (await c.expect("RCPT TO:<someone@remote.test>", 550))[0].startswith("5.7.1")
        await h.app.accounts.add_alias("a@example.test", ["b@example.test"])
        await h.app.accounts.add_alias("b@example.test", ["a@example.test"])
        assert (await c.expect("RCPT TO:<a@example.test>", 550))[0].startswith("5.4.6")
        await c.expect("RCPT TO:<Postmaster>", 550)  # no postmaster@example.test mailbox
        await h.app.accounts.add_alias("postmaster@example.test", ["anna@example.test"])
        await c.expect("RCPT TO:<Postmaster>", 250)  # RFC 5321 §4.5.1, domain of mx.example.test


async def test_mx_alias_to_remote_is_queued_with_original_recipient(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        await h.app.accounts.add_alias(f"fwd@{DOMAIN}", ["carol@remote.test", f"bob@{DOMAIN}"])
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        assert (await send(c, "x@remote.test", [f"fwd@{DOMAIN}"], message("fwd")))[0] == 250
        (item,) = await h.queued()
        assert [(r.address, r.orcpt) for r in item.recipients] == [
            ("carol@remote.test", f"rfc822;fwd@{DOMAIN}")]
        assert len(await h.inbox(f"bob@{DOMAIN}")) == 1


async def test_quota_is_checked_at_rcpt_and_after_data(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        await h.app.accounts.set_quota(f"bob@{DOMAIN}", 1500)
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        big = message("big", body="z" * 700 + "\r\n")
        assert (await send(c, "x@remote.test", [f"bob@{DOMAIN}"], big))[0] == 250
        used = (await h.app.store.get_account(f"bob@{DOMAIN}")).used_bytes  # type: ignore[union-attr]
        assert 1000 < used < 1500
        # SIZE= says it will not fit: refused at RCPT
        await c.expect("MAIL FROM:<x@remote.test> SIZE=800", 250)
        assert (await c.expect(f"RCPT TO:<bob@{DOMAIN}>", 452))[0].startswith("4.2.2")
        await c.expect("RSET", 250)
        # no SIZE=: refused after the data, for every recipient (one DATA reply)
        code, text = await send(c, "x@remote.test", [f"anna@{DOMAIN}", f"bob@{DOMAIN}"], big)
        assert (code, text[0][:5]) == (452, "4.2.2")
        assert await h.inbox(f"anna@{DOMAIN}") == [] and len(await h.inbox(f"bob@{DOMAIN}")) == 1
        # an account already over its quota is refused at RCPT
        await h.app.accounts.set_quota(f"bob@{DOMAIN}", 1000)
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        await c.expect(f"RCPT TO:<bob@{DOMAIN}>", 452)


async def test_smtputf8_recipient(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        await h.app.accounts.add_user("jörg@example.test", "Tq7#mZ2v!pLx")
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        assert (await c.expect("RCPT TO:<jörg@example.test>", 553))[0].startswith("5.6.7")
        await c.expect("RSET", 250)
        code, _ = await send(c, "x@remote.test", ["JÖRG@example.test"], message("utf8"),
                             mail_params=" SMTPUTF8")
        assert code == 250
        (stored,) = await h.inbox("jörg@example.test")
        assert b" with UTF8SMTP id " in stored
