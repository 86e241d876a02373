"""POP3 status lines and RFC 2449 response codes."""

from __future__ import annotations

import pytest

from postbus.pop3.proto import ResponseCode, continuation, err, multiline, ok


def test_ok_and_err() -> None:
    assert ok() == b"+OK\r\n"
    assert ok("2 320") == b"+OK 2 320\r\n"
    assert err("no such message") == b"-ERR no such message\r\n"
    assert err("maildrop locked", ResponseCode.IN_USE) == b"-ERR [IN-USE] maildrop locked\r\n"
    assert err("bad credentials", "AUTH") == b"-ERR [AUTH] bad credentials\r\n"


def test_all_response_codes() -> None:
    assert {code.value for code in ResponseCode} == {
        "AUTH", "IN-USE", "LOGIN-DELAY", "SYS/TEMP", "SYS/PERM", "UTF8",
    }
    assert err("try later", ResponseCode.SYS_TEMP) == b"-ERR [SYS/TEMP] try later\r\n"


def test_continuation() -> None:
    assert continuation("") == b"+ \r\n"
    assert continuation("VXNlcm5hbWU6") == b"+ VXNlcm5hbWU6\r\n"


def test_multiline_stuffs_dots() -> None:
    assert multiline("Capability list follows", ["USER", ".odd", "UIDL"]) == (
        b"+OK Capability list follows\r\nUSER\r\n..odd\r\nUIDL\r\n.\r\n"
    )
    assert multiline("", []) == b"+OK\r\n.\r\n"


@pytest.mark.parametrize("text", ["a\r\n+OK", "a\nb", "nul\0", "x" * 510])
def test_bad_texts_are_programming_errors(text: str) -> None:
    with pytest.raises(ValueError):
        err(text)
    with pytest.raises(ValueError):
        multiline("ok", [text]) if len(text) < 500 else ok(text)
