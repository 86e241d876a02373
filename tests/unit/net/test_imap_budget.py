"""The pre-authentication budget of an IMAP connection (imap/proto/limits.py
PREAUTH_MAX_COMMAND): over it a command is refused and the connection stays in
sync; after login the normal limits apply."""

from __future__ import annotations

from pathlib import Path

from postbus.imap.proto.limits import PREAUTH_MAX_COMMAND
from tests.unit.imap.harness import running

OVER = PREAUTH_MAX_COMMAND + 1


async def test_an_oversized_unauthenticated_literal_is_discarded_and_refused(
        tmp_path: Path) -> None:
    async with running(tmp_path / "var") as harness:
        client = await harness.client(login=False, service="imaps")
        # Non-synchronising: read and discarded, then BAD; the next command is understood.
        lines = await client.command(b"LOGIN {%d+}\r\n" % OVER + b"u" * OVER + b" pass")
        assert lines == [b"TAG BAD [TOOBIG] Literal too big (limit %d octets)\r\n"
                         % PREAUTH_MAX_COMMAND]
        assert (await client.command("NOOP"))[-1].startswith(b"TAG OK")
        # Synchronising: refused without a continuation; the client sends nothing more.
        tag = client.tag()
        await client.send(b"%s LOGIN {%d}\r\n" % (tag.encode(), OVER))
        assert (await client.response()).startswith(b"%s BAD [TOOBIG]" % tag.encode())
        # Several literals that fit alone but not together.
        half = PREAUTH_MAX_COMMAND // 2
        lines = await client.command(
            b"LOGIN {%d+}\r\n" % half + b"u" * half + b" {%d+}\r\n" % half + b"p" * half)
        assert lines == [b"TAG BAD [TOOBIG] Command too big\r\n"]
        await client.login()


async def test_after_login_the_normal_limits_apply(tmp_path: Path) -> None:
    async with running(tmp_path / "var") as harness:
        client = await harness.client(service="imaps")
        name = b"n" * OVER
        lines = await client.command(b"SELECT {%d+}\r\n" % OVER + name)
        assert lines[-1].startswith(b"TAG NO ")  # no such mailbox; not TOOBIG
