"""What a message may carry, through the session on every listener: NUL octets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.smtp.harness import DOMAIN, Client, Harness, smtp_app

NUL_BODY = (b"From: anna@example.test\r\nTo: bob@example.test\r\nSubject: nul\r\n\r\n"
            b"line\r\n\x00.\r\nafter\r\n")


async def open_session(h: Harness, listener: str) -> Client:
    c = await h.connect(listener)
    await c.expect("EHLO client.example", 250)
    if listener == "submission":
        await c.starttls()
        await c.expect("EHLO client.example", 250)
    if listener != "smtp":
        await c.login()
    await c.expect(f"MAIL FROM:<anna@{DOMAIN}>", 250)
    await c.expect(f"RCPT TO:<bob@{DOMAIN}>", 250)
    return c


async def nothing_stored(h: Harness) -> None:
    assert await h.inbox(f"bob@{DOMAIN}") == []
    assert await h.queued() == []


@pytest.mark.parametrize("listener", ["smtp", "submission", "submissions"])
async def test_nul_in_data_is_refused(tmp_path: Path, listener: str) -> None:
    async with smtp_app(tmp_path) as h:
        c = await open_session(h, listener)
        await c.expect("DATA", 354)
        await c.send(NUL_BODY + b".\r\n")
        code, text = await c.reply()
        assert (code, text[0][:5]) == (550, "5.6.0"), text
        await c.expect("NOOP", 250)  # in step: the session goes on
        await nothing_stored(h)


@pytest.mark.parametrize("listener", ["smtp", "submissions"])
async def test_nul_in_bdat_is_refused(tmp_path: Path, listener: str) -> None:
    async with smtp_app(tmp_path) as h:
        c = await open_session(h, listener)
        first, second = NUL_BODY[:60], NUL_BODY[60:]
        assert b"\x00" in second
        await c.send(b"BDAT %d\r\n" % len(first) + first)
        assert (await c.reply())[0] == 250
        await c.send(b"BDAT %d LAST\r\n" % len(second) + second)
        code, text = await c.reply()
        assert (code, text[0][:5]) == (550, "5.6.0"), text
        await c.expect("NOOP", 250)
        await nothing_stored(h)


async def test_nul_in_a_middle_bdat_chunk_fails_the_rest(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await open_session(h, "smtp")
        await c.send(b"BDAT 3\r\na\x00b")
        assert (await c.reply())[0] == 550
        await c.send(b"BDAT 4 LAST\r\nok\r\n")
        code, text = await c.reply()
        assert (code, text[0][:5]) == (550, "5.6.0")
        await nothing_stored(h)


# -- the originator fields on submission ------------------------------------------------------

FORGED_SECOND_FROM = (b"From: anna@example.test\r\nFrom: CEO <ceo@bank.test>\r\nTo: bob@example.test\r\n"
                      b"Subject: two froms\r\n\r\npay the invoice\r\n")


@pytest.mark.parametrize("command", ["DATA", "BDAT"])
async def test_submission_refuses_a_second_from(tmp_path: Path, command: str) -> None:
    async with smtp_app(tmp_path) as h:
        c = await open_session(h, "submissions")
        if command == "DATA":
            await c.expect("DATA", 354)
            await c.send(FORGED_SECOND_FROM + b".\r\n")
        else:
            await c.send(b"BDAT %d LAST\r\n" % len(FORGED_SECOND_FROM) + FORGED_SECOND_FROM)
        code, text = await c.reply()
        assert (code, text[0]) == (550, "5.6.0 Message has more than one From header field (RFC 5322 §3.6)")
        await nothing_stored(h)


@pytest.mark.parametrize("extra", [
    b"Sender: bob@example.test\r\n",
    b"Resent-From: bob@example.test\r\n",
    b"Resent-Sender: bob@example.test\r\n",
    b"Date: Tue, 01 Jul 2025 10:00:00 +0000\r\nDate: Tue, 01 Jul 2025 10:00:00 +0000\r\n",
    b"Sender: anna@example.test\r\nSender: anna@example.test\r\n",
])
async def test_submission_checks_sender_resent_and_date(tmp_path: Path, extra: bytes) -> None:
    async with smtp_app(tmp_path) as h:
        c = await open_session(h, "submissions")
        await c.expect("DATA", 354)
        await c.send(b"From: anna@example.test\r\n" + extra + b"Subject: s\r\n\r\nx\r\n.\r\n")
        code, _ = await c.reply()
        assert code in (550, 553)
        await nothing_stored(h)


async def test_submission_header_past_the_limit_is_refused(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await open_session(h, "submissions")
        await c.expect("DATA", 354)
        filler = b"X-Filler: " + b"a" * 990 + b"\r\n"
        await c.send(b"From: anna@example.test\r\n" + filler * 300 + b"From: ceo@bank.test\r\n\r\nx\r\n.\r\n")
        code, text = await c.reply()
        assert (code, text[0][:5]) == (552, "5.3.4")
        await nothing_stored(h)


async def test_submission_accepts_one_of_each_and_the_mx_does_not_judge(tmp_path: Path) -> None:
    ok = (b"Date: Tue, 01 Jul 2025 10:00:00 +0000\r\nFrom: anna@example.test\r\nSender: info@example.test\r\n"
          b"Resent-From: anna@example.test\r\nResent-From: info@example.test\r\n"
          b"Subject: fine\r\n\r\nbody\r\n\r\nFrom: not a header, the body\r\n")
    async with smtp_app(tmp_path) as h:
        c = await open_session(h, "submissions")
        await c.expect("DATA", 354)
        await c.send(ok + b".\r\n")
        assert (await c.reply())[0] == 250
        m = await open_session(h, "smtp")  # the MX delivers what it gets: only its recipients count
        await m.expect("DATA", 354)
        await m.send(FORGED_SECOND_FROM + b".\r\n")
        assert (await m.reply())[0] == 250
        assert len(await h.inbox(f"bob@{DOMAIN}")) == 2
