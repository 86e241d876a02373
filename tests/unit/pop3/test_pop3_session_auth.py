"""POP3 AUTHORIZATION state, byte-exact: greeting, CAPA, the TLS rule, USER/PASS,
AUTH PLAIN, failures, and bad input that must get -ERR and leave the session usable."""

from __future__ import annotations

import dataclasses

from postbus.app import App
from postbus.pop3.authorization import MAX_AUTH_FAILURES
from postbus.pop3.session import State
from tests.unit.pop3.pop3_helpers import ANNA, PASSWORD, connect, plain

GREETING = b"+OK Postbus POP3 ready mail.example.test\r\n"
COMMON_CAPS = (b"TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\n"
               b"LOGIN-DELAY 0\r\nUTF8 USER\r\n")
TLS_FIRST = b"-ERR [AUTH] Plaintext authentication requires TLS: use STLS first\r\n"
LOGGED_IN = b"+OK Logged in, maildrop has 0 messages (0 octets)\r\n"
AUTH_FAILED = b"-ERR [AUTH] Authentication failed\r\n"


async def test_greeting_has_no_apop_timestamp(app: App) -> None:
    async with connect(app, tls=False) as client:
        assert client.greeting == GREETING
        assert await client.cmd("APOP anna 0123456789abcdef0123456789abcdef") == (
            b"-ERR APOP is not supported: use USER/PASS or AUTH PLAIN over TLS\r\n")


async def test_capa_before_tls_offers_stls_and_hides_logins(app: App) -> None:
    async with connect(app, tls=False) as client:
        assert await client.cmd("CAPA") == (
            b"+OK Capability list follows\r\n" + COMMON_CAPS
            + b"STLS\r\nIMPLEMENTATION Postbus\r\n.\r\n")


async def test_capa_under_tls_offers_user_and_sasl(app: App) -> None:
    async with connect(app, tls=True) as client:
        assert await client.cmd("CAPA") == (
            b"+OK Capability list follows\r\n" + COMMON_CAPS
            + b"USER\r\nSASL PLAIN\r\nIMPLEMENTATION Postbus\r\n.\r\n")
        await client.login()
        assert await client.cmd("CAPA") == (
            b"+OK Capability list follows\r\n" + COMMON_CAPS + b"IMPLEMENTATION Postbus\r\n.\r\n")


async def test_no_credentials_before_tls(app: App) -> None:
    async with connect(app, tls=False) as client:
        assert await client.cmd(f"USER {ANNA}") == TLS_FIRST
        assert await client.cmd(f"PASS {PASSWORD}") == TLS_FIRST
        assert await client.cmd(f"AUTH PLAIN {plain('', ANNA, PASSWORD)}") == TLS_FIRST
        assert await client.cmd("AUTH") == TLS_FIRST
        assert client.session.state is State.AUTHORIZATION


async def test_stls_refused_on_implicit_tls(app: App) -> None:
    async with connect(app, tls=True) as client:
        assert await client.cmd("STLS") == b"-ERR Already using TLS\r\n"


async def test_user_pass_login(app: App) -> None:
    async with connect(app) as client:
        assert await client.cmd(f"USER {ANNA.upper()}") == b"+OK Send your password\r\n"
        assert await client.cmd(f"PASS {PASSWORD}") == LOGGED_IN
        assert client.session.state is State.TRANSACTION
        assert await client.cmd("QUIT") == b"+OK Postbus POP3 signing off (0 messages left)\r\n"
        await client.finished()
        assert client.transport.closed


async def test_pass_needs_user_first_and_user_is_forgotten_after_pass(app: App) -> None:
    async with connect(app) as client:
        assert await client.cmd(f"PASS {PASSWORD}") == b"-ERR Send USER first\r\n"
        await client.cmd(f"USER {ANNA}")
        assert await client.cmd("PASS wrong") == AUTH_FAILED
        assert await client.cmd(f"PASS {PASSWORD}") == b"-ERR Send USER first\r\n"


async def test_wrong_password_and_unknown_user_look_the_same(app: App) -> None:
    async with connect(app) as client:
        assert await client.login(password="Wrong#Pass9x") == AUTH_FAILED
        assert await client.login(address="nobody@example.test") == AUTH_FAILED
        assert await client.login(address="not-an-address") == AUTH_FAILED
        assert client.session.state is State.AUTHORIZATION
        assert await client.login() == LOGGED_IN


async def test_too_many_failures_close_the_connection(app: App) -> None:
    async with connect(app) as client:
        for _ in range(MAX_AUTH_FAILURES):
            assert not client.transport.closed
            assert await client.login(password="nope") == AUTH_FAILED
        await client.finished()
        assert client.transport.closed


async def test_failed_login_waits_the_throttle_delay(app: App) -> None:
    paused: list[float] = []

    async def sleep(delay: float) -> None:
        paused.append(delay)

    app.throttle.policy = dataclasses.replace(app.throttle.policy, delay=2.0, max_delay=30.0)
    app.throttle._sleep = sleep
    async with connect(app) as client:
        await client.login(password="nope")
        assert paused == [2.0]
        await client.login(password="nope again")  # the delay doubles
        assert paused == [2.0, 4.0]
        await client.login()
        assert paused == [2.0, 4.0]


async def test_auth_plain_with_initial_response(app: App) -> None:
    async with connect(app) as client:
        assert await client.cmd(f"AUTH PLAIN {plain('', ANNA, PASSWORD)}") == LOGGED_IN


async def test_auth_plain_with_continuation(app: App) -> None:
    async with connect(app) as client:
        assert await client.cmd("AUTH plain") == b"+ \r\n"
        assert await client.cmd(plain(ANNA, ANNA, PASSWORD)) == LOGGED_IN


async def test_auth_plain_refusals(app: App) -> None:
    async with connect(app) as client:
        assert await client.cmd("AUTH") == b"+OK Supported mechanisms follow\r\nPLAIN\r\n.\r\n"
        assert await client.cmd("AUTH CRAM-MD5") == b"-ERR Unsupported authentication mechanism\r\n"
        assert await client.cmd("AUTH PLAIN") == b"+ \r\n"
        assert await client.cmd("*") == b"-ERR Authentication cancelled\r\n"
        assert await client.cmd("AUTH PLAIN") == b"+ \r\n"
        assert await client.cmd("!!notbase64") == b"-ERR Invalid base64 data\r\n"
        assert await client.cmd("AUTH PLAIN =") == b"-ERR Malformed PLAIN response\r\n"
        # acting as another user is refused like a wrong password
        assert await client.cmd(f"AUTH PLAIN {plain('bob@example.test', ANNA, PASSWORD)}") == AUTH_FAILED
        assert await client.cmd(f"AUTH PLAIN {plain('', ANNA, 'wrong')}") == AUTH_FAILED
        assert await client.cmd("AUTH PLAIN") == b"+ \r\n"
        assert await client.send(b"A" * 9000 + b"\r\n") == b"-ERR Authentication response too long\r\n"
        assert await client.cmd(f"AUTH PLAIN {plain('', ANNA, PASSWORD)}") == LOGGED_IN


async def test_utf8_command(app: App) -> None:
    async with connect(app) as client:
        assert await client.cmd("UTF8") == b"+OK UTF8 enabled\r\n"
        assert client.session.utf8
        await client.login()
        assert await client.cmd("UTF8") == b"-ERR Command not valid after login\r\n"


async def test_commands_in_the_wrong_state(app: App) -> None:
    async with connect(app) as client:
        for line in ("STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL"):
            assert await client.cmd(line) == b"-ERR Not logged in\r\n", line
        await client.login()
        for line in (f"USER {ANNA}", "PASS x", "AUTH PLAIN", "STLS", "APOP a 0123456789abcdef0123456789abcdef"):
            assert await client.cmd(line) == b"-ERR Command not valid after login\r\n", line
        assert await client.cmd("NOOP") == b"+OK\r\n"


async def test_unknown_overlong_and_garbage_lines(app: App) -> None:
    async with connect(app) as client:
        assert await client.cmd("XYZZY") == b"-ERR Unknown command\r\n"
        assert await client.cmd("") == b"-ERR Unknown command\r\n"
        assert await client.send(b"NOOP " + b"x" * 300 + b"\r\n") == b"-ERR Line too long\r\n"
        assert await client.send(b"\xff\xfe\x00garbage\r\n") == b"-ERR Invalid UTF-8 in command\r\n"
        assert await client.send(b"LIST \x001\r\n") == b"-ERR Control characters not allowed\r\n"
        tls_hello = await client.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n")
        assert tls_hello == b"-ERR Invalid UTF-8 in command\r\n"
        assert await client.cmd("RETR one") == b"-ERR Invalid number\r\n"  # syntax first
        await client.login()
        assert await client.cmd("RETR one") == b"-ERR Invalid number\r\n"
        assert await client.cmd("LIST 1 2") == b"-ERR Syntax: LIST [msg]\r\n"
        assert await client.cmd("TOP 1") == b"-ERR Syntax: TOP msg n\r\n"
        assert await client.cmd("NOOP") == b"+OK\r\n"


async def test_quit_before_login_closes(app: App) -> None:
    async with connect(app) as client:
        assert await client.cmd("QUIT") == b"+OK Postbus POP3 signing off\r\n"
        await client.finished()
        assert client.transport.closed
        assert client.session not in app.sessions
