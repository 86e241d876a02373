"""AUTH and STARTTLS in the session: where AUTH is allowed, PLAIN and LOGIN, failures,
and the STARTTLS plaintext-injection defence."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

from tests.unit.smtp.harness import DOMAIN, PASSWORD, client_tls, smtp_app


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_auth_refused_on_mx_and_before_tls(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        mx = await h.connect("smtp")
        await mx.expect("EHLO client.example", 250)
        plain = b64(f"\0anna@{DOMAIN}\0{PASSWORD}")
        assert (await mx.expect(f"AUTH PLAIN {plain}", 503))[0].startswith("5.5.1")
        await mx.starttls()
        await mx.expect("EHLO client.example", 250)
        await mx.expect(f"AUTH PLAIN {plain}", 503)  # TLS does not make the MX a relay
        sub = await h.connect("submission")
        await sub.expect("EHLO client.example", 250)
        assert (await sub.expect(f"AUTH PLAIN {plain}", 538))[0].startswith("5.7.11")
        assert (await sub.expect("MAIL FROM:<anna@example.test>", 530))[0].startswith("5.7.0")
        await sub.starttls()
        await sub.expect("EHLO client.example", 250)
        assert (await sub.expect("MAIL FROM:<anna@example.test>", 530))[0] == (
            "5.7.0 Authentication required")
        await sub.expect(f"AUTH PLAIN {plain}", 235)
        await sub.expect("AUTH PLAIN", 503)  # already authenticated
        await sub.expect("MAIL FROM:<anna@example.test>", 250)


async def test_plain_with_empty_challenge_and_login(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect("submissions")
        await c.expect("EHLO client.example", 250)
        await c.send(b"AUTH PLAIN\r\n")
        assert await c.reader.readline() == b"334 \r\n"  # RFC 4954 §4: "334" SP
        await c.expect(b64(f"\0anna@{DOMAIN}\0{PASSWORD}"), 235)
        d = await h.connect("submissions")
        await d.expect("EHLO client.example", 250)
        assert await d.expect("AUTH LOGIN", 334) == ["VXNlcm5hbWU6"]
        assert await d.expect(b64(f"bob@{DOMAIN}"), 334) == ["UGFzc3dvcmQ6"]
        await d.expect(b64(PASSWORD), 235)


async def test_auth_failures(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect("submissions")
        await c.expect("EHLO client.example", 250)
        await c.expect("AUTH CRAM-MD5", 504)
        await c.expect("AUTH LOGIN", 334)
        assert (await c.expect("*", 501))[0].startswith("5.0.0")  # cancelled
        await c.expect("AUTH PLAIN !!notbase64", 501)
        # authorising as someone else is refused even with the right password
        other = b64(f"bob@{DOMAIN}\0anna@{DOMAIN}\0{PASSWORD}")
        assert (await c.expect(f"AUTH PLAIN {other}", 535))[0].startswith("5.7.8")
        wrong = b64(f"\0anna@{DOMAIN}\0wrong-password")
        await c.expect(f"AUTH PLAIN {wrong}", 535)
        nobody = b64(f"\0nobody@{DOMAIN}\0{PASSWORD}")
        await c.send(f"AUTH PLAIN {nobody}\r\n".encode())
        assert (await c.reply())[0] == 535
        code, text = await c.reply()  # third failure: the connection is closed
        assert code == 421 and text[0].startswith("4.7.0")
        assert await c.closed()


async def test_auth_continuation_line_limit(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect("submissions")
        await c.expect("EHLO client.example", 250)
        await c.expect("AUTH PLAIN", 334)
        await c.send(b"A" * 13000 + b"\r\n")
        assert (await c.reply())[0] == 500
        await c.expect("NOOP", 250)


async def test_starttls_discards_pipelined_plaintext(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        for name in ("smtp", "submission"):
            c = await h.connect(name)
            await c.expect("EHLO client.example", 250)
            # CVE-2011-0411: commands injected after STARTTLS in the same packet
            await c.send(b"STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<anna@example.test>\r\n")
            assert (await c.reply())[0] == 220
            await c.writer.start_tls(client_tls())
            # nothing is waiting for us: the first reply is the one to our EHLO
            lines = await c.expect("EHLO client.example", 250)
            assert lines[0].startswith("mx.example.test")
            await c.expect("RCPT TO:<anna@example.test>", 503)  # the injected MAIL never ran
            await c.expect("STARTTLS", 503)  # TLS is already active


async def test_starttls_forgets_the_helo(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect("smtp")
        await c.expect("EHLO client.example", 250)
        await c.starttls()
        await c.expect("MAIL FROM:<x@remote.test>", 503)  # RFC 3207 §4.2: EHLO again first
        await c.expect("EHLO client.example", 250)
        await c.expect("MAIL FROM:<x@remote.test>", 250)


async def test_failed_handshake_closes_quietly(tmp_path: Path) -> None:
    async with smtp_app(tmp_path) as h:
        c = await h.connect("smtp")
        await c.expect("STARTTLS", 220)
        await c.send(b"this is not a TLS ClientHello\r\n" * 10)
        assert await c.reader.read() == b""  # the server closes
        for _ in range(100):  # and the session is gone from the registry
            if not h.app.sessions:
                break
            await asyncio.sleep(0.02)
        assert not h.app.sessions
