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
