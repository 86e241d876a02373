"""SASL PLAIN (RFC 4616) and LOGIN exchanges shared by SMTP, IMAP and POP3 (postbus.sasl)."""

from __future__ import annotations

import base64

import pytest

from postbus.sasl import (
    LOGIN_PASSWORD_CHALLENGE,
    LOGIN_USERNAME_CHALLENGE,
    MECHANISMS,
    Challenge,
    Credentials,
    LoginExchange,
    PlainExchange,
    SaslCancelled,
    SaslError,
    UnknownMechanism,
    decode_plain,
    decode_response,
    start_exchange,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_login_prompts_are_the_well_known_strings() -> None:
    assert base64.b64decode(LOGIN_USERNAME_CHALLENGE) == b"Username:"
    assert base64.b64decode(LOGIN_PASSWORD_CHALLENGE) == b"Password:"


def test_plain_with_initial_response() -> None:
    result = start_exchange("plain").start(b64(b"\0alice@example.com\0s3cret pass"))
    assert result == Credentials("", "alice@example.com", "s3cret pass")
    assert "s3cret" not in repr(result)


def test_plain_with_authzid_and_utf8() -> None:
    message = "admin\0jöran@example.com\0pässword".encode()
    assert decode_plain(message) == Credentials("admin", "jöran@example.com", "pässword")


def test_plain_without_initial_response() -> None:
    exchange = PlainExchange()
    assert exchange.start(None) == Challenge("")
    result = exchange.step(b64(b"\0bob\0pw").encode())
    assert result == Credentials("", "bob", "pw")
    with pytest.raises(RuntimeError):
        exchange.step(b64(b"\0bob\0pw"))


@pytest.mark.parametrize("message", [
    b"", b"bob\0pw", b"\0\0pw", b"\0bob\0", b"a\0b\0c\0d", b"\0bob\0\xff", b"\0" + b"a" * 1025 + b"\0p",
])
def test_plain_malformed(message: bytes) -> None:
    with pytest.raises(SaslError) as info:
        decode_plain(message)
    assert not isinstance(info.value, SaslCancelled | UnknownMechanism)


def test_bad_base64_is_refused() -> None:
    for text in ("not base64!", "AAA", "QQ=Q", "é"):
        with pytest.raises(SaslError) as info:
            PlainExchange().start(text)
        assert info.value.text == "Invalid base64 data"
    with pytest.raises(SaslError):
        PlainExchange().step(b"\xff\xfe")


def test_empty_initial_response_is_equals_sign() -> None:
    assert decode_response("=", initial=True) == b""
    assert decode_response(b"") == b""
    with pytest.raises(SaslError):
        decode_response("=")
    with pytest.raises(SaslError):  # PLAIN needs content
        PlainExchange().start("=")


def test_cancel() -> None:
    for exchange in (PlainExchange(), LoginExchange()):
        exchange.start(None)
        with pytest.raises(SaslCancelled) as info:
            exchange.step(b"*")
        assert info.value.text == "Authentication cancelled"


def test_login_two_steps() -> None:
    exchange = start_exchange("LOGIN")
    assert exchange.start(None) == Challenge(LOGIN_USERNAME_CHALLENGE)
    assert exchange.step(b64(b"alice@example.com")) == Challenge(LOGIN_PASSWORD_CHALLENGE)
    assert exchange.step(b64(b"pw with spaces").encode()) == Credentials(
        "", "alice@example.com", "pw with spaces"
    )
    with pytest.raises(RuntimeError):
        exchange.step(b64(b"again"))


def test_login_with_initial_user_name() -> None:
    exchange = LoginExchange()
    assert exchange.start(b64(b"bob")) == Challenge(LOGIN_PASSWORD_CHALLENGE)
    assert exchange.step(b64(b"pw")) == Credentials("", "bob", "pw")


def test_login_empty_fields_refused() -> None:
    with pytest.raises(SaslError):
        LoginExchange().start("=")
    exchange = LoginExchange()
    exchange.start(None)
    exchange.step(b64(b"bob"))
    with pytest.raises(SaslError):
        exchange.step(b"")


def test_unknown_mechanism() -> None:
    with pytest.raises(UnknownMechanism):
        start_exchange("CRAM-MD5")


def test_registry_names_each_mechanism_once() -> None:
    assert MECHANISMS == ("PLAIN", "LOGIN")
    for name in MECHANISMS:
        exchange = start_exchange(name.lower())
        assert exchange.mechanism == name and exchange.plaintext
