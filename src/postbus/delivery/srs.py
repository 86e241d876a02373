"""The Sender Rewriting Scheme (SRS), as libsrs2 and postsrsd implement it.

Mail that we forward to another domain keeps its original From header and
body (so its DKIM signature stays valid), but its envelope sender is
rewritten to an address of ours, so that SPF at the target checks our IP
against our domain (RFC 7208 §1.1.3 calls this the forwarding problem). A
bounce to that address comes back to us, is verified, and goes on to the
original sender. The guarded scheme (Shevek's "Sender Rewriting Scheme",
2004, as in libsrs2 `srs_compile_guarded`/`srs_parse_guarded`):

    SRS0=HHHH=TT=orig-domain=orig-local@srs-domain
    SRS1=HHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@srs-domain

HHHH: the first `HASH_LENGTH` characters of the base64 of HMAC-SHA1(secret,
the fields lowercased and concatenated); TT: the day number modulo 1024 in
two base32 characters. An SRS0 address is accepted back for `max_age_days`
after it was made; an SRS1 address (we forwarded a message that another
forwarder had already rewritten) only points back to that forwarder, whose
own SRS0 carries the time stamp. Hashes are compared without regard to case,
as libsrs2 does, because some MTAs lowercase local parts.

The functions at the top are pure (secret and clock passed in). `Srs` keeps
the secret in the store's settings (`srs:secrets`, a JSON list, newest
first): made once, on first use, so every node of a cluster signs and
verifies with the same one, and a backup holds it. Older secrets in the
list still verify (rotation), only the first one signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence

from postbus.config import Settings
from postbus.store import Store

SRS0 = "SRS0"
SRS1 = "SRS1"
SEPARATOR = "="  # libsrs2's default; its SRSSEP between fields is always "="
SEPARATORS = "=+-"  # what libsrs2 accepts after the tag
HASH_LENGTH = 4  # libsrs2 and postsrsd default
TIME_PRECISION = 86400  # one day
TIME_BASECHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # base32, RFC 4648 §6 alphabet
TIME_SLOTS = 1024  # 2 base32 characters: the stamp wraps after 1024 days
DEFAULT_MAX_AGE_DAYS = 21  # postsrsd's default
MAX_SRS_ADDRESS = 512  # octets; longer input is not examined (client-controlled)
SECRET_SETTING = "srs:secrets"
SECRET_BYTES = 32
MAX_SECRETS = 8  # secrets kept for verification after a rotation
RELOAD_AFTER = 30.0  # seconds: a failed check re-reads the secrets at most this often


class SrsError(ValueError):
    """The address is SRS-tagged but forged, damaged or expired."""


def is_srs_local(local: str) -> bool:
    """True when the local part carries an SRS0 or SRS1 tag."""
    return len(local) > 5 and local[:4].upper() in (SRS0, SRS1) and local[4] in SEPARATORS


def _hash(secret: bytes, *fields: str) -> str:
    mac = hmac.new(secret, digestmod=hashlib.sha1)
    for value in fields:
        mac.update(value.encode("utf-8").lower())  # ASCII lowercasing, like libsrs2's tolower
    return base64.b64encode(mac.digest()).decode("ascii")[:HASH_LENGTH]


def _hash_ok(given: str, secrets_: Sequence[bytes], *fields: str) -> bool:
    if len(given) < HASH_LENGTH:
        return False
    wanted = given[:HASH_LENGTH].lower().encode()
    return any(hmac.compare_digest(wanted, _hash(s, *fields).lower().encode()) for s in secrets_)


def timestamp(now: float) -> str:
    day = int(now // TIME_PRECISION) % TIME_SLOTS
    return TIME_BASECHARS[(day >> 5) & 31] + TIME_BASECHARS[day & 31]


def timestamp_ok(stamp: str, now: float, max_age_days: int) -> bool:
    """libsrs2 `srs_timestamp_check`: not older than max_age_days (modulo the wrap)."""
    if len(stamp) != 2:
        return False
    hi, lo = TIME_BASECHARS.find(stamp[0].upper()), TIME_BASECHARS.find(stamp[1].upper())
    if hi < 0 or lo < 0:
        return False
    then = hi << 5 | lo
    today = int(now // TIME_PRECISION) % TIME_SLOTS
    while today < then:
        today += TIME_SLOTS
    return today <= then + max_age_days


def forward(sender: str, srs_domain: str, secret: bytes, now: float) -> str:
    """The SRS address for envelope sender `sender` (which must not be empty)."""
    local, _, host = sender.rpartition("@")
    if not local or not host:
        raise ValueError(f"not an address: {sender!r}")
    if host.lower() == srs_domain.lower():
        return sender  # already ours (libsrs2: not rewritten)
    if is_srs_local(local) and local[:4].upper() == SRS1:
        # SRS1 from another forwarder: keep its first forwarder and SRS0 part, re-sign.
        first, sep, user = local[5:].partition(SEPARATOR)[2].partition(SEPARATOR)
        if sep and first:
            return f"{SRS1}{SEPARATOR}{_hash(secret, first, user)}={first}={user}@{srs_domain}"
    if is_srs_local(local) and local[:4].upper() == SRS0:
        # SRS0 of the forwarder before us: point back to it (its stamp stays inside).
        user = local[4:]
        return f"{SRS1}{SEPARATOR}{_hash(secret, host, user)}={host}={user}@{srs_domain}"
    stamp = timestamp(now)
    return f"{SRS0}{SEPARATOR}{_hash(secret, stamp, host, local)}={stamp}={host}={local}@{srs_domain}"


def reverse(local: str, secrets_: Sequence[bytes], now: float, max_age_days: int) -> str:
    """The address an SRS local part stands for; raises SrsError when it does not verify."""
    if len(local) > MAX_SRS_ADDRESS or not is_srs_local(local):
        raise SrsError("not an SRS address")
    tag, rest = local[:4].upper(), local[5:]
    if tag == SRS1:
        given, _, rest = rest.partition(SEPARATOR)
        first, sep, user = rest.partition(SEPARATOR)
        if not sep or not first or not user:
            raise SrsError("damaged SRS1 address")
        if not _hash_ok(given, secrets_, first, user):
            raise SrsError("SRS1 hash does not verify")
        return f"{SRS0}{user}@{first}"
    parts = rest.split(SEPARATOR, 3)
    if len(parts) != 4 or not all(parts):
        raise SrsError("damaged SRS0 address")
    given, stamp, host, user = parts
    if not _hash_ok(given, secrets_, stamp, host, user):
        raise SrsError("SRS0 hash does not verify")
    if not timestamp_ok(stamp, now, max_age_days):
        raise SrsError("SRS0 address has expired")
    return f"{user}@{host}"


class Srs:
    """SRS with the secret kept in the store (see the module docstring)."""

    def __init__(self, store: Store, *, domain: str, max_age_days: int = DEFAULT_MAX_AGE_DAYS,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.domain = domain.lower()
        self.max_age_days = max_age_days
        self.clock = clock
        self._secrets: list[bytes] | None = None
        self._loaded = 0.0

    async def secrets(self) -> list[bytes]:
        if self._secrets is None:
            raw = await self.store.get_setting(SECRET_SETTING)
            if raw is None:
                made = base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
                await self.store.set_setting(SECRET_SETTING, json.dumps([made]))
                # Read back: if two nodes raced, both now use the one that was kept.
                raw = await self.store.get_setting(SECRET_SETTING) or json.dumps([made])
            self._secrets = [base64.b64decode(s) for s in json.loads(raw)][:MAX_SECRETS]
            self._loaded = time.monotonic()
        return self._secrets

    async def rotate(self) -> None:
        """A new signing secret; the previous ones still verify addresses made with them."""
        old = [base64.b64encode(s).decode() for s in await self.secrets()]
        made = base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
        await self.store.set_setting(SECRET_SETTING, json.dumps([made, *old][:MAX_SECRETS]))
        self._secrets = None

    async def forward(self, sender: str) -> str:
        return forward(sender, self.domain, (await self.secrets())[0], self.clock())

    async def reverse(self, local: str) -> str:
        try:
            return reverse(local, await self.secrets(), self.clock(), self.max_age_days)
        except SrsError:
            # Another node may have rotated the secret since we read it; look
            # again, but not more often than RELOAD_AFTER (forged addresses are cheap).
            if time.monotonic() - self._loaded < RELOAD_AFTER:
                raise
            self._secrets = None
            return reverse(local, await self.secrets(), self.clock(), self.max_age_days)


def srs_for(store: Store, settings: Settings) -> Srs | None:
    """The configured SRS, or None when `[srs] enabled` is false."""
    if not settings.srs.enabled:
        return None
    days = int(settings.duration("srs", "max_age") // TIME_PRECISION)
    return Srs(store, domain=settings.srs.srs_domain(settings.hostname), max_age_days=days)
