"""RFC 6238 / RFC 4226 codes against the RFCs' own test vectors."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from postbus.admin import totp

RFC_KEY = b"12345678901234567890"  # RFC 6238 Appendix B, SHA-1


@pytest.mark.parametrize(("counter", "code"), [
    (0, "755224"), (1, "287082"), (2, "359152"), (3, "969429"), (9, "520489"),
])
def test_hotp_rfc4226_appendix_d(counter: int, code: str) -> None:
    assert totp.hotp(RFC_KEY, counter) == code


@pytest.mark.parametrize(("now", "code"), [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
    (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130"),
])
def test_totp_rfc6238_appendix_b(now: int, code: str) -> None:
    assert totp.hotp(RFC_KEY, totp.step_at(now), digits=8) == code


def test_matching_step_accepts_one_step_of_drift_and_nothing_else() -> None:
    secret = base64.b32encode(RFC_KEY).decode()
    now = 1111111111.0
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        code = totp.hotp(RFC_KEY, step + offset)
        assert totp.matching_step(secret, code, now) == step + offset
    assert totp.matching_step(secret, totp.hotp(RFC_KEY, step + 2), now) is None
    assert totp.matching_step(secret, totp.hotp(RFC_KEY, step - 2), now) is None
    for junk in ("", "12345", "1234567", "abcdef", "１２３４５６", "9" * 10_000):
        assert totp.matching_step(secret, junk, now) is None


def test_secret_and_uri() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == totp.SECRET_BYTES
    uri = totp.provisioning_uri(secret, "web master", "mail.example.test")
    parsed = urllib.parse.urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(parsed.path) == "/mail.example.test:web master"
    query = urllib.parse.parse_qs(parsed.query)
    assert query["secret"] == [secret] and query["issuer"] == ["mail.example.test"]
