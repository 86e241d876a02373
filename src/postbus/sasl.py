"""SASL server mechanisms (RFC 4422) shared by SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH.

Sans-IO: no sockets, no awaits, no asyncio, no other `postbus` module. A
protocol session drives one *exchange* per authentication attempt:

    exchange = start_exchange(mechanism)          # UnknownMechanism if not registered
    result = exchange.start(initial_response)     # None when the client sent none
    while isinstance(result, Challenge):
        send result.text ("334 " in SMTP, "+ " in IMAP and POP3), read one line
        result = exchange.step(line)
    verify result (Credentials) against the account store

Every protocol carries challenges and responses as base64 (RFC 4954 §4,
RFC 9051 §6.2.2, RFC 5034 §4), so the exchange decodes responses and encodes
challenges itself; the session only moves lines.

Invariants:
- An exchange yields exactly one final result; stepping it again is a session
  bug (`RuntimeError`), not a client error.
- Client mistakes raise `SaslError` (a "*" line: `SaslCancelled`; a mechanism
  not in the registry: `UnknownMechanism`). Each protocol turns them into its
  own reply (SMTP 501/504, IMAP BAD/NO, POP3 -ERR) in one place.
- A password is never part of an error text or a repr.
- Each decoded identity or password is bounded by `MAX_SASL_FIELD` before it is
  decoded as UTF-8.

Adding a mechanism (SCRAM-SHA-256, RFC 7677) is one class with `start` and
`step` and one row in `_REGISTRY`; `plaintext = False` lets a session offer it
without TLS. SCRAM's server-first message needs the account's salt and
iteration count, so that class will add one more result kind to `Step` (a
request for the stored secret, answered by the session with a store lookup).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

LOGIN_USERNAME_CHALLENGE = "VXNlcm5hbWU6"  # base64 of "Username:"
LOGIN_PASSWORD_CHALLENGE = "UGFzc3dvcmQ6"  # base64 of "Password:"
# Octets per decoded identity or password. RFC 4616 §2 requires servers to take
# at least 255; 1 KiB leaves room for long passphrases and refuses anything else.
MAX_SASL_FIELD = 1024


class SaslError(ValueError):
    """A client response the exchange refuses; `text` never echoes client bytes."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class SaslCancelled(SaslError):
    """The client answered a challenge with "*" (RFC 4422 §3.5)."""

    def __init__(self) -> None:
        super().__init__("Authentication cancelled")


class UnknownMechanism(SaslError):
    """The client named a mechanism this server does not offer (RFC 4422 §3.1)."""

    def __init__(self) -> None:
        super().__init__("Unrecognized authentication type")


@dataclass(frozen=True, slots=True)
class Challenge:
    text: str  # base64, sent after "334 " or "+ "


@dataclass(frozen=True, slots=True)
class Credentials:
    """The final result of a password mechanism: verify `password` for `authcid`."""

    authzid: str  # "" when the client asked for no separate authorization identity
    authcid: str
    password: str = field(repr=False)


Step = Challenge | Credentials


class ServerExchange(Protocol):
    """One server side of one authentication attempt."""

    mechanism: ClassVar[str]
    plaintext: ClassVar[bool]  # True when the client sends the password itself: TLS only

    def start(self, initial_response: str | bytes | None) -> Step: ...

    def step(self, response: str | bytes) -> Step: ...


def decode_response(response: str | bytes, *, initial: bool = False) -> bytes:
    """Decode one base64 client response; "*" cancels (RFC 4954 §4, RFC 5034 §4).

    In an initial response a zero-length response is sent as "=", in a
    continuation line as an empty line (RFC 4959 §3, RFC 4954 §4).
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
    """PLAIN (RFC 4616): one message with identities and password."""

    mechanism: ClassVar[str] = "PLAIN"
    plaintext: ClassVar[bool] = True

    def __init__(self) -> None:
        self._done = False

    def start(self, initial_response: str | bytes | None) -> Step:
        if initial_response is None:
            return Challenge("")  # RFC 4616 §2, RFC 4954 §4: an empty server challenge
        return self._finish(decode_response(initial_response, initial=True))

    def step(self, response: str | bytes) -> Step:
        return self._finish(decode_response(response))

    def _finish(self, message: bytes) -> Credentials:
        if self._done:
            raise RuntimeError("the PLAIN exchange is complete")
        self._done = True
        return decode_plain(message)


class LoginExchange:
    """LOGIN (draft-murchison-sasl-login): user name, then password."""

    mechanism: ClassVar[str] = "LOGIN"
    plaintext: ClassVar[bool] = True

    def __init__(self) -> None:
        self._username: str | None = None
        self._done = False

    def start(self, initial_response: str | bytes | None) -> Step:
        if initial_response is None:
            return Challenge(LOGIN_USERNAME_CHALLENGE)
        # some clients send the user name as an initial response (RFC 4954 §4)
        return self._accept(decode_response(initial_response, initial=True))

    def step(self, response: str | bytes) -> Step:
        return self._accept(decode_response(response))

    def _accept(self, data: bytes) -> Step:
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


# The registry: mechanism name (RFC 4422 §3.1, upper case) → a fresh exchange.
_REGISTRY: dict[str, Callable[[], ServerExchange]] = {
    PlainExchange.mechanism: PlainExchange,
    LoginExchange.mechanism: LoginExchange,
}
MECHANISMS: tuple[str, ...] = tuple(_REGISTRY)


def start_exchange(mechanism: str) -> ServerExchange:
    """A fresh exchange for `mechanism` (case-insensitive, RFC 4422 §3.1)."""
    factory = _REGISTRY.get(mechanism.upper())
    if factory is None:
        raise UnknownMechanism()
    return factory()


def _utf8(data: bytes) -> str:
    if len(data) > MAX_SASL_FIELD:
        raise SaslError("Authentication data too long")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslError("Invalid UTF-8 in authentication data") from None
