"""SASL PLAIN and LOGIN exchanges, sans-IO, for SMTP AUTH (RFC 4954) and POP3 AUTH (RFC 5034).

An exchange is a small state machine. The session creates one with
`start_exchange(mechanism)`, calls `start(initial_response)` and then `step(line)`
for each client line until the result is `Credentials` instead of a `Challenge`:

    result = exchange.start(cmd.initial_response)
    while isinstance(result, Challenge):
        send "334 " + result.text (SMTP) or "+ " + result.text (POP3)
        result = exchange.step(next line)

Errors are `SaslError` (a `SmtpSyntaxError`, 501 5.5.2 by default; POP3 uses only
the text); a client "*" line is `SaslCancelled` (501, RFC 4954 §4). Passwords are
never part of an error text or a repr.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from .errors import SmtpSyntaxError

MECHANISMS = ("PLAIN", "LOGIN")
LOGIN_USERNAME_CHALLENGE = "VXNlcm5hbWU6"  # base64 of "Username:"
LOGIN_PASSWORD_CHALLENGE = "UGFzc3dvcmQ6"  # base64 of "Password:"
MAX_SASL_FIELD = 1024  # octets per decoded identity or password; RFC 4616 §2 requires 255


class SaslError(SmtpSyntaxError):
    def __init__(self, text: str, code: int = 501, enhanced: str = "5.5.2") -> None:
        super().__init__(code, enhanced, text)


class SaslCancelled(SaslError):
    def __init__(self) -> None:
        super().__init__("Authentication cancelled", 501, "5.0.0")


@dataclass(frozen=True, slots=True)
class Challenge:
    text: str  # base64, sent after "334 " or "+ "


@dataclass(frozen=True, slots=True)
class Credentials:
    authzid: str  # "" when the client asked for no separate authorization identity
    authcid: str
    password: str = field(repr=False)


def decode_response(response: str | bytes, *, initial: bool = False) -> bytes:
    """Decode one base64 client response; "*" cancels (RFC 4954 §4, RFC 5034 §4).

    In an initial response a zero-length response is sent as "=", in a
    continuation line as an empty line.
    """
    text = response.decode("ascii", "replace") if isinstance(response, bytes) else response
    if text == "*":
        raise SaslCancelled()
    if initial and text == "=":
        return b""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SaslError("Invalid base64 data") from None


def decode_plain(message: bytes) -> Credentials:
    """RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd."""
    parts = message.split(b"\0")
    if len(parts) != 3:
        raise SaslError("Malformed PLAIN response")
    authzid, authcid, password = (_utf8(part) for part in parts)
    if not authcid or not password:
        raise SaslError("Malformed PLAIN response")
    return Credentials(authzid, authcid, password)


class PlainExchange:
    mechanism = "PLAIN"

    def __init__(self) -> None:
        self._done = False

    def start(self, initial_response: str | None) -> Challenge | Credentials:
        if initial_response is None:
            return Challenge("")  # RFC 4954 §4: an empty server challenge
        return self._finish(decode_response(initial_response, initial=True))

    def step(self, response: str | bytes) -> Challenge | Credentials:
        return self._finish(decode_response(response))

    def _finish(self, message: bytes) -> Credentials:
        if self._done:
            raise RuntimeError("the PLAIN exchange is complete")
        self._done = True
        return decode_plain(message)


class LoginExchange:
    """The LOGIN mechanism (draft-murchison-sasl-login): user name, then password."""

    mechanism = "LOGIN"

    def __init__(self) -> None:
        self._username: str | None = None
        self._done = False

    def start(self, initial_response: str | None) -> Challenge | Credentials:
        if initial_response is None:
            return Challenge(LOGIN_USERNAME_CHALLENGE)
        # some clients send the user name as an initial response (RFC 4954 §4)
        return self._accept(decode_response(initial_response, initial=True))

    def step(self, response: str | bytes) -> Challenge | Credentials:
        return self._accept(decode_response(response))

    def _accept(self, data: bytes) -> Challenge | Credentials:
        if self._done:
            raise RuntimeError("the LOGIN exchange is complete")
        value = _utf8(data)
        if self._username is None:
            if not value:
                raise SaslError("Empty user name")
            self._username = value
            return Challenge(LOGIN_PASSWORD_CHALLENGE)
        if not value:
            raise SaslError("Empty password")
        self._done = True
        return Credentials("", self._username, value)


SaslExchange = PlainExchange | LoginExchange


def start_exchange(mechanism: str) -> SaslExchange:
    """A fresh exchange for `mechanism` (case-insensitive); 504 5.5.4 when unknown."""
    name = mechanism.upper()
    if name == "PLAIN":
        return PlainExchange()
    if name == "LOGIN":
        return LoginExchange()
    raise SaslError("Unrecognized authentication type", 504, "5.5.4")  # RFC 4954 §6


def _utf8(data: bytes) -> str:
    if len(data) > MAX_SASL_FIELD:
        raise SaslError("Authentication data too long")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslError("Invalid UTF-8 in authentication data") from None
