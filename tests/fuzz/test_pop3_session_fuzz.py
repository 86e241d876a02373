"""Fuzz a whole POP3 session over a fake transport: whatever lines a client sends,
each is answered by exactly one well-formed response (a status line, a SASL
continuation, or a multi-line block), and nothing else escapes: an unhandled
exception or a logged error fails the run (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbus.app import App
from tests.support.mail import deliver
from tests.unit.pop3.pop3_helpers import ANNA, PASSWORD, connect, inbox_uids, make_app, plain

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_VALID = [
    f"USER {ANNA}", f"PASS {PASSWORD}", f"AUTH PLAIN {plain('', ANNA, PASSWORD)}", "AUTH PLAIN",
    plain("", ANNA, PASSWORD), "AUTH", "CAPA", "STAT", "LIST", "LIST 1", "LIST 9", "UIDL", "UIDL 2",
    "RETR 1", "RETR 2", "TOP 1 0", "TOP 2 3", "DELE 1", "DELE 3", "RSET", "NOOP", "UTF8", "STLS",
    "APOP a 0123456789abcdef0123456789abcdef", "PASS wrong", "*", "", "QUIT",
]
_TOKENS = st.sampled_from([t.encode() for t in _VALID] + [
    b" ", b"\t", b"\r", b"\x00", b"\xff", b"\xc3\xa9", b"0", b"2147483648", b"-1", b".", b"=",
])
_LINE = st.one_of(
    st.sampled_from([t.encode() for t in _VALID]),
    st.sampled_from([t.encode() for t in _VALID]),
    st.lists(_TOKENS, max_size=8).map(b" ".join),
    st.binary(max_size=300),
).map(lambda line: line.replace(b"\n", b""))
_LOGIN = [f"USER {ANNA}".encode(), f"PASS {PASSWORD}".encode()]


@pytest.fixture
async def fuzz_app(tmp_path: Path) -> AsyncIterator[App]:
    app = await make_app(tmp_path / "data")
    yield app
    await app.close()


def _check_response(out: bytes, line: bytes) -> None:
    assert out.endswith(b"\r\n"), (line, out)
    if out.startswith((b"-ERR", b"+ ")):
        assert out.count(b"\r\n") == 1, (line, out)
        return
    assert out.startswith(b"+OK"), (line, out)
    if out.count(b"\r\n") > 1:
        assert out.endswith(b"\r\n.\r\n"), (line, out)


@FUZZ
@given(lines=st.lists(_LINE, min_size=1, max_size=12), tls=st.booleans(), login=st.booleans())
async def test_every_line_gets_one_well_formed_response(fuzz_app: App, lines: list[bytes],
                                                        tls: bool, login: bool) -> None:
    app = fuzz_app
    if login:
        lines = [*_LOGIN, *lines]
    while len(await inbox_uids(app)) < 3:
        await deliver(app, ANNA, b"Subject: fuzz\r\n\r\n.dotted\r\nbody\r\n")
    async with connect(app, tls=tls) as client:
        for line in lines:
            if client.transport.closed:
                break
            _check_response(await client.send(line + b"\r\n"), line)
