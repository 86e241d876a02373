"""Time-based one-time passwords (RFC 6238) on HOTP (RFC 4226), stdlib only.

SHA-1, 30-second steps, 6 digits: what every authenticator app accepts from an
`otpauth://` URI. A code of the step before or after the current one is
accepted (RFC 6238 §5.2 allows for clock drift); the store makes each step
good once (`Store.claim_totp_step`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import urllib.parse

PERIOD_SECONDS = 30  # RFC 6238 §4.1, the recommended X
DIGITS = 6
SECRET_BYTES = 20  # RFC 4226 §4: at least 128 bits; 160 recommended
DRIFT_STEPS = 1  # steps accepted either side of the current one
MAX_CODE_LENGTH = 10  # longer input is refused before any work


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 §5.3: HMAC-SHA-1, dynamic truncation, modulo 10^digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10 ** digits).zfill(digits)


def step_at(now: float) -> int:
    """RFC 6238 §4.2: T = floor((now - T0) / X), T0 = 0."""
    return int(now // PERIOD_SECONDS)


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code `code` is, within the drift window, or None."""
    if len(code) > MAX_CODE_LENGTH:
        return None
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == DIGITS):
        return None
    key = base64.b32decode(secret)
    current = step_at(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(key, step), code):  # no early exit on the code
            found = step
    return found


def provisioning_uri(secret: str, name: str, issuer: str) -> str:
    """The `otpauth://totp/` URI an authenticator app reads (as text or a QR code)."""
    label = urllib.parse.quote(f"{issuer}:{name}", safe=":")
    query = urllib.parse.urlencode({"secret": secret, "issuer": issuer,
                                    "digits": DIGITS, "period": PERIOD_SECONDS})
    return f"otpauth://totp/{label}?{query}"
