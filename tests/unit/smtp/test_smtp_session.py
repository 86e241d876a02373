"""The SMTP session byte by byte: greeting, EHLO, grammar, sequence, pipelining, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from postbus.smtp import handlers
from tests.unit.smtp.harness import DOMAIN, message, smtp_app


async def test_greeting_and_mx_extensions(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect("smtp", greet=False)
        code, text = await c.reply()
        assert (code, text) == (220, ["mx.example.test ESMTP Postbus"])
        lines = await c.expect("EHLO client.example", 250)
        assert lines[0] == "mx.example.test Hello [127.0.0.1]"
        assert lines[1:] == ["SIZE 12582912", "8BITMIME", "SMTPUTF8", "PIPELINING",
                             "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "STARTTLS"]
        await c.starttls()
        lines = await c.expect("EHLO client.example", 250)
        assert "STARTTLS" not in lines and not any(x.startswith("AUTH") for x in lines)
        await c.expect("QUIT", 221)
        assert await c.closed()


async def test_submission_advertises_auth_only_inside_tls(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect("submission")
        lines = await c.expect("EHLO client.example", 250)
        assert "STARTTLS" in lines and not any(x.startswith("AUTH") for x in lines)
        await c.starttls()
        lines = await c.expect("EHLO client.example", 250)
        assert "AUTH PLAIN LOGIN" in lines and "STARTTLS" not in lines
        c2 = await h.connect("submissions")
        lines = await c2.expect("EHLO client.example", 250)
        assert "AUTH PLAIN LOGIN" in lines and "STARTTLS" not in lines
        await c.close()
        await c2.close()


async def test_strict_grammar_and_sequence(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        assert await c.expect("MAIL FROM:<a@b.example>", 503) == ["5.5.1 Send EHLO or HELO first"]
        await c.expect("EHLO client.example", 250)
        assert (await c.expect("MAIL FROM:alice@example.com", 501))[0].startswith("5.5.4")
        await c.expect("RCPT TO:<anna@example.test>", 503)
        await c.expect("DATA", 503)
        await c.expect("FOO bar", 500)
        await c.expect("MAIL FROM:<a@b.example> SIZE=12", 250)
        await c.expect("MAIL FROM:<a@b.example>", 503)
        await c.expect("DATA", 554)  # no valid recipients (RFC 2920 §3.1)
        await c.expect("RCPT TO:<anna@example.test> FOO=bar", 555)
        await c.expect("VRFY anna", 252)
        await c.expect("EXPN list", 502)
        await c.expect("HELP", 214)
        await c.expect("NOOP whatever", 250)
        await c.expect("RSET", 250)
        await c.expect("MAIL FROM:<> BODY=BINARYMIME", 555)
        await c.send(b"NOOP\n")
        assert (await c.reply())[0] == 500  # bare LF is never a line end
        await c.expect(b"NOOP " + b"x" * 5000, 500)  # too long, discarded; the session goes on
        await c.expect("NOOP", 250)
        await c.close()


async def test_helo_replies_have_no_enhanced_codes(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        assert await c.expect("HELO client.example", 250) == ["mx.example.test"]
        assert await c.expect("MAIL FROM:<a@b.example>", 250) == ["Sender OK"]
        await c.close()


async def test_pipelined_transaction_answers_in_order(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        await c.send(b"EHLO client.example\r\nMAIL FROM:<x@remote.test>\r\n"
                     b"RCPT TO:<anna@example.test>\r\nRCPT TO:<nobody@example.test>\r\n"
                     b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
        codes = [(await c.reply())[0] for _ in range(6)]
        assert codes == [250, 250, 250, 550, 250, 354]
        body = message("pipelined")
        await c.send(body + b".\r\nNOOP\r\nQUIT\r\n")
        assert [(await c.reply())[0] for _ in range(3)] == [250, 250, 221]
        for user in ("anna", "bob"):
            (stored,) = await h.inbox(f"{user}@{DOMAIN}")
            assert stored.endswith(b"\r\n\r\n" + body.split(b"\r\n\r\n", 1)[1])
            assert stored.endswith(body)


async def test_too_many_errors_closes_with_421(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        await c.send(b"BOGUS\r\n" * handlers_errors_limit())
        codes = [(await c.reply())[0] for _ in range(handlers_errors_limit() + 1)]
        assert codes[-1] == 421 and set(codes[:-1]) == {500}
        assert await c.closed()


def handlers_errors_limit() -> int:
    from postbus.smtp.session import MAX_ERRORS

    return MAX_ERRORS


async def test_idle_session_times_out(tmp_path: Path) -> None:
    async with smtp_app(tmp_path, limits={"command_timeout": "0.3"}) as h:
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        code, text = await c.reply(timeout=5)
        assert code == 421 and text[0].startswith("4.4.2")
        assert await c.closed()


async def test_too_many_recipients(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "MAX_RECIPIENTS", 3)
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        for _ in range(3):
            await c.expect("RCPT TO:<anna@example.test>", 250)
        assert (await c.expect("RCPT TO:<bob@example.test>", 452))[0].startswith("4.5.3")
        await c.expect("DATA", 354)
        await c.send(message() + b".\r\n")
        assert (await c.reply())[0] == 250
        assert len(await h.inbox(f"anna@{DOMAIN}")) == 1  # one copy per mailbox
        await c.close()


async def test_size_limits(tmp_path: Path) -> None:
    async with smtp_app(tmp_path, limits={"max_message_size": "1KB"}) as h:
        c = await h.connect()
        lines = await c.expect("EHLO client.example", 250)
        assert "SIZE 1024" in lines
        assert (await c.expect("MAIL FROM:<x@remote.test> SIZE=1025", 552))[0].startswith("5.3.4")
        await c.expect("MAIL FROM:<x@remote.test> SIZE=1024", 250)
        await c.expect("RCPT TO:<anna@example.test>", 250)
        await c.expect("DATA", 354)
        await c.send(b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n" + (b"y" * 78 + b"\r\n") * 20
                     + b".\r\nNOOP\r\n")
        code, text = await c.reply()
        assert code == 552 and text[0].startswith("5.3.4")
        assert (await c.reply())[0] == 250  # the pipelined NOOP: still in step
        assert await h.inbox(f"anna@{DOMAIN}") == []
        await c.close()


async def test_bdat_chunks_are_stored_exactly(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        await c.expect("RCPT TO:<anna@example.test>", 250)
        body = message("chunked", body="line one\r\n.leading dot stays\r\n")
        first, second = body[:30], body[30:]
        await c.send(b"BDAT %d\r\n" % len(first) + first)
        assert await c.reply() == (250, [f"2.0.0 {len(first)} octets received"])
        await c.send(b"BDAT %d LAST\r\n" % len(second) + second)
        assert (await c.reply())[0] == 250
        (stored,) = await h.inbox(f"anna@{DOMAIN}")
        assert stored.endswith(b"\r\n" + body) and b"\r\n.leading dot" in stored
        await c.close()


async def test_refused_bdat_chunk_is_read_not_executed(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        payload = b"MAIL FROM:<evil@remote.test>\r\nRCPT TO:<anna@example.test>\r\n"
        await c.send(b"BDAT %d LAST\r\n" % len(payload) + payload)
        assert (await c.reply())[0] == 503
        await c.expect("RCPT TO:<anna@example.test>", 503)  # the payload was never a command
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        await c.expect("RCPT TO:<anna@example.test>", 250)
        await c.send(b"BDAT 12 LAST\r\nSubject: x\nA")  # bare LF
        assert (await c.reply())[0] == 550
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        await c.close()
        assert await h.inbox(f"anna@{DOMAIN}") == []


async def test_bdat_over_the_limit_fails_every_chunk(tmp_path: Path) -> None:
    async with smtp_app(tmp_path, limits={"max_message_size": "100"}) as h:
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        await c.expect("RCPT TO:<anna@example.test>", 250)
        await c.send(b"BDAT 80\r\n" + b"a" * 80)
        assert (await c.reply())[0] == 250
        await c.send(b"BDAT 80\r\n" + b"b" * 80)
        assert (await c.reply())[0] == 552
        await c.expect("MAIL FROM:<x@remote.test>", 503)  # still in the BDAT transfer
        await c.send(b"BDAT 5 LAST\r\nccccc")
        assert (await c.reply())[0] == 552
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        await c.close()


async def test_connection_limit_per_address(tmp_path: Path) -> None:
    async with smtp_app(tmp_path, limits={"max_connections_per_ip": 2}) as h:
        a, b = await h.connect(), await h.connect()
        c = await h.connect(greet=False)
        code, text = await c.reply()
        assert code == 421 and text[0].startswith("4.7.0")
        assert await c.closed()
        await a.close()
        await asyncio.sleep(0.05)
        d = await h.connect()
        await d.expect("NOOP", 250)
        for client in (b, d):
            await client.close()


async def test_shutdown_says_421(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        for session in list(h.app.sessions):
            session.shutdown()
        code, text = await c.reply()
        assert code == 421 and text[0].startswith("4.3.2")
        assert await c.closed()


@pytest.mark.allow_errors
async def test_server_fault_is_451_logged_and_survivable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from postbus.delivery.pipeline import Delivery

    async def broken(self: Delivery, *args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Delivery, "deliver", broken)
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        await c.expect("EHLO client.example", 250)
        await c.expect("MAIL FROM:<x@remote.test>", 250)
        await c.expect("RCPT TO:<anna@example.test>", 250)
        await c.expect("DATA", 354)
        await c.send(message() + b".\r\n")
        assert await c.reply() == (451, ["4.3.0 Local error in processing"])
        await c.expect("MAIL FROM:<x@remote.test>", 250)  # the transaction was reset
    assert any("server fault" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_half_closed_client_still_gets_every_reply(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect()
        await c.send(b"EHLO client.example\r\nMAIL FROM:<x@remote.test>\r\n"
                     b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
        assert [(await c.reply())[0] for _ in range(4)] == [250, 250, 250, 354]
        await c.send(message("half") + b".\r\nQUIT\r\n")
        c.writer.write_eof()
        assert [(await c.reply())[0] for _ in range(2)] == [250, 221]
        assert len(await h.inbox(f"bob@{DOMAIN}")) == 1
