"""Login throttling on a running server (security.throttle), with real TCP clients
bound to their own loopback addresses:

- 50 wrong passwords from one address against IMAP, POP3 and SMTP AUTH each
  lead to a ban after `ban_after` of them, announced in the protocol's own words
  with the ban's end; from then on that address is refused at connect, on every
  listener, while the right password from another address still logs in;
- the ban survives a restart, `postbus ban list` shows it and `postbus ban remove`
  lifts it;
- a short ban expires, and the address logs in again.
The failure delay is 0 here (configuration), so nothing depends on the clock's speed.
"""

from __future__ import annotations

import asyncio
import base64
import calendar
import re
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mail import create_mailboxes_sync
from tests.support.server import ServerProcess, postbus, running_server, write_config

PASSWORD = "Tq7#mZ2v!pLx"
USER = "anna@example.test"
BAN_AFTER = 10
ATTEMPTS = 50
TIMEOUT = 15.0
TLS = ("imaps", "pop3s", "submissions")
BANNED = re.compile(rb"Too many failed logins from your address, try again after "
                    rb"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")
BAN_LINE = {
    "imaps": rb"^\* BYE \[UNAVAILABLE\] Too many failed logins",
    "pop3s": rb"^-ERR \[SYS/TEMP\] Too many failed logins",
    "submissions": rb"^421 4\.7\.0 Too many failed logins",
}


def _tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _config(directory: Path, **security: object) -> Path:
    config = write_config(directory, {"security": {
        "auth_failure_delay": 0, "ban_after": BAN_AFTER, "ban_window": "10m",
        "ban_duration": "1h", "account_delay": 0, "ban_refresh": "1s", **security}})
    create_mailboxes_sync(config, [USER], PASSWORD)
    return config


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(_config(tmp_path_factory.mktemp("throttle"))) as srv:
        yield srv


class Client:
    """A line client on one listener, bound to `source`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, server: ServerProcess, listener: str, source: str) -> Client:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", server.port(listener), local_addr=(source, 0),
            ssl=_tls() if listener in TLS else None,
            server_hostname="localhost" if listener in TLS else None), TIMEOUT)
        return cls(reader, writer)

    async def line(self) -> bytes:
        return await asyncio.wait_for(self.reader.readline(), TIMEOUT)

    async def say(self, text: str) -> bytes:
        """Send a line and return the first reply line that is not an SMTP continuation."""
        self.writer.write(text.encode() + b"\r\n")
        while True:
            line = await self.line()
            if not re.match(rb"^\d{3}-", line):
                return line

    async def rest(self) -> bytes:
        return await asyncio.wait_for(self.reader.read(), TIMEOUT)

    async def close(self) -> None:
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), TIMEOUT)
        except (ConnectionError, ssl.SSLError):
            pass


def _plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


async def login(server: ServerProcess, listener: str, source: str, password: str,
                ) -> tuple[str, bytes]:
    """One login on a new connection: ("ok" | "failed" | "banned" | "refused", reply)."""
    client = await Client.open(server, listener, source)
    try:
        greeting = await client.line()
        if BANNED.search(greeting):
            return "refused", greeting  # refused at connect
        if listener == "imaps":
            reply = await client.say(f'a LOGIN {USER} "{password}"')
            while reply.startswith(b"* ") and not reply.startswith(b"* BYE"):
                reply = await client.line()
            ok = reply.startswith(b"a OK")
        elif listener == "pop3s":
            await client.say(f"USER {USER}")
            reply = await client.say(f"PASS {password}")
            ok = reply.startswith(b"+OK")
        else:
            await client.say("EHLO client.test")
            reply = await client.say(f"AUTH PLAIN {_plain(USER, password)}")
            ok = reply.startswith(b"235 ")
        if ok:
            return "ok", reply
        if BANNED.search(reply):
            assert re.match(BAN_LINE[listener], reply), reply
            return "banned", reply
        return "failed", reply
    finally:
        await client.close()


def ban_end(reply: bytes) -> float:
    m = BANNED.search(reply)
    assert m, reply
    return float(calendar.timegm(time.strptime(m.group(1).decode(), "%Y-%m-%d %H:%M:%S")))


SOURCES = {"imaps": "127.0.0.2", "pop3s": "127.0.0.3", "submissions": "127.0.0.4"}


@pytest.mark.parametrize("listener", list(SOURCES))
async def test_fifty_wrong_passwords_ban_the_address_not_the_owner(
        server: ServerProcess, listener: str) -> None:
    attacker = SOURCES[listener]
    outcomes = []
    for n in range(ATTEMPTS):
        outcome, reply = await login(server, listener, attacker, f"guess-{n}")
        outcomes.append(outcome)
    assert outcomes[:BAN_AFTER - 1] == ["failed"] * (BAN_AFTER - 1)
    assert outcomes[BAN_AFTER - 1] == "banned"  # the 10th failure bans, and says until when
    # then refused at connect (a worker process whose copy of the bans is older than
    # ban_refresh refuses at the login instead, from the store)
    assert set(outcomes[BAN_AFTER:]) <= {"refused", "banned"}
    assert outcomes[-1] == "refused"
    assert ban_end(reply) > time.time() + 3000  # an hour, as configured
    # every listener refuses the banned address, the right password included
    for other in SOURCES:
        assert (await login(server, other, attacker, PASSWORD))[0] in ("refused", "banned")
    # the owner, from another address, still logs in everywhere
    for other in SOURCES:
        assert (await login(server, other, "127.0.0.5", PASSWORD))[0] == "ok"


async def test_the_same_wrong_password_again_counts_once(server: ServerProcess) -> None:
    for _ in range(3 * BAN_AFTER):
        assert (await login(server, "imaps", "127.0.0.6", "the-same-typo"))[0] == "failed"
    assert (await login(server, "imaps", "127.0.0.6", PASSWORD))[0] == "ok"


async def test_a_ban_survives_a_restart_and_the_operator_lifts_it(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with running_server(config) as srv:
        for n in range(BAN_AFTER):
            outcome, _ = await login(srv, "imaps", "127.0.0.7", f"guess-{n}")
        assert outcome == "banned"
    assert "127.0.0.7  until " in postbus(config, "ban", "list").stdout
    with running_server(config) as srv:
        assert (await login(srv, "pop3s", "127.0.0.7", PASSWORD))[0] in ("refused", "banned")
        assert "ban of 127.0.0.7 lifted" in postbus(config, "ban", "remove", "127.0.0.7").stdout
        # the server re-reads the bans (ban_refresh = 1 s); the login checks the store itself
        deadline = time.monotonic() + TIMEOUT
        while (await login(srv, "imaps", "127.0.0.7", PASSWORD))[0] != "ok":
            assert time.monotonic() < deadline, "the lifted ban still refuses"
            await asyncio.sleep(0.2)
    assert postbus(config, "ban", "list").stdout.strip() == "0 banned"
    added = postbus(config, "ban", "add", "2001:db8::7", "--duration", "2h")
    assert "2001:db8::/64 banned until " in added.stdout
    assert postbus(config, "ban", "remove", "127.0.0.7", check=False).returncode == 1


async def test_a_short_ban_expires(tmp_path: Path) -> None:
    config = _config(tmp_path, ban_after=3, ban_duration="2s")
    with running_server(config) as srv:
        outcomes = [(await login(srv, "submissions", "127.0.0.8", f"guess-{n}")) for n in range(3)]
        assert [o for o, _ in outcomes] == ["failed", "failed", "banned"]
        until = ban_end(outcomes[-1][1])
        deadline = time.monotonic() + TIMEOUT
        while (outcome := (await login(srv, "submissions", "127.0.0.8", PASSWORD))[0]) != "ok":
            assert outcome in ("refused", "banned")
            assert time.monotonic() < deadline, "the ban did not expire"
            await asyncio.sleep(0.3)
        assert time.time() >= until - 1  # not before its announced end (to the second)
