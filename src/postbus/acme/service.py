"""Getting and renewing the certificate by ACME, on one node, for every node.

Invariants:

- The certificate in use lives in the store (`acme.certificate`: chain, key,
  names, expiry, when issued), so every node serves the same one, and in
  `data_dir/tls/acme.*`, so a restarted node serves it before it has read the
  store. Every `[tls] acme_check_interval` each node reads the store record,
  installs a newer one (issued by another node), and decides whether to renew;
  while a renewal is due and another node holds the order lease, every
  `FOLLOW_POLL` seconds, so its result is served everywhere within seconds.
- Renewal is due when there is no certificate, when the configured names
  changed, when it expires within `acme_renew_before` (30 days), or when an
  operator asked (`postbus tls renew`, recorded as `acme.renew`).
- One node orders: the one that holds the store lease `acme`
  (`Store.claim_lease`, atomic on both backends; each worker process claims
  it under its own name, `postbus.node`); the others find its result in the
  store at their next check. A lease held under a name this node no longer
  runs (it ran as one process and now runs workers, or fewer workers) is
  taken over at once rather than after `LEASE_SECONDS`.
- A failed order is logged with the reason and tried again after a backoff
  that doubles from `FIRST_BACKOFF` to `MAX_BACKOFF`; the old certificate is
  served meanwhile.
- Challenges are kept in the store, so whichever node (or worker process)
  the CA's validation reaches answers it: HTTP-01 key authorizations as
  `acme.http01.TOKEN`, read on request; TLS-ALPN-01 ones in `acme.tlsalpn`,
  which every node polls every `CHALLENGE_POLL` seconds to make the
  challenge certificates its handshakes need (net/certs.py). The ordering
  node answers the CA only after two polls.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postbus.acme.order import (
    HTTP01,
    TLS_ALPN01,
    Issued,
    new_account_key,
    order,
    tls_alpn_certificate,
)

if TYPE_CHECKING:
    from postbus.app import App

log = logging.getLogger("postbus.acme")

CERT_KEY = "acme.certificate"
ACCOUNT_KEY = "acme.account_key"
RENEW_KEY = "acme.renew"
HTTP01_PREFIX = "acme.http01."
# {name: key authorization} of the TLS-ALPN-01 challenges of the order in progress.
TLS_ALPN_KEY = "acme.tlsalpn"
# Every node using TLS-ALPN-01 reads TLS_ALPN_KEY this often, and the ordering
# node answers the challenges only after twice that: every node serves them by then.
CHALLENGE_POLL = 2.0
LEASE = "acme"
LEASE_SETTING_PREFIX = "lease."  # where `Store.claim_lease` keeps "HOLDER EXPIRY"
# While another node orders, the others read the store this often (seconds).
FOLLOW_POLL = 3.0
# How long the ordering node holds the lease (an order times out well before).
LEASE_SECONDS = 900.0
FIRST_BACKOFF = 60.0
MAX_BACKOFF = 6 * 3600.0
# base64url (RFC 8555 §8.3: the token's characters); anything else is not looked up.
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Record:
    chain_pem: bytes
    key_pem: bytes
    names: tuple[str, ...]
    not_after: float
    issued: float

    def dumps(self) -> str:
        return json.dumps({"chain": self.chain_pem.decode(), "key": self.key_pem.decode(),
                           "names": list(self.names), "not_after": self.not_after,
                           "issued": self.issued})

    @classmethod
    def loads(cls, text: str) -> Record:
        d = json.loads(text)
        return cls(d["chain"].encode(), d["key"].encode(), tuple(d["names"]), float(d["not_after"]),
                   float(d["issued"]))


def wanted_names(hostname: str, extra: list[str]) -> tuple[str, ...]:
    names = [hostname.lower().rstrip(".")]
    for name in extra:
        name = name.lower().rstrip(".")
        if name not in names:
            names.append(name)
    return tuple(names)


class AcmeService:
    def __init__(self, app: App) -> None:
        self.app = app
        s = app.settings
        self.names = wanted_names(s.hostname, s.tls.acme_names)
        self.kind = s.tls.acme_challenge
        if self.kind == "auto":
            self.kind = HTTP01 if s.listen_address("http") is not None else TLS_ALPN01
        self.renew_before = s.duration("tls", "acme_renew_before")
        self.check_interval = s.duration("tls", "acme_check_interval")
        self.verify: str | bool = s.tls.acme_ca_bundle or True
        self._http01: dict[str, str] = {}
        self._installed = 0.0  # `issued` of the record in use
        self._alpn_served: dict[str, str] = {}  # TLS-ALPN-01 challenges served here: name -> key auth
        self._pending_alpn: dict[str, str] = {}  # those of this node's order
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the HTTP-01 answer (web/server.py build_redirect) --------------------------
    async def http01_response(self, token: str) -> str | None:
        if not _TOKEN.fullmatch(token):
            return None
        found = self._http01.get(token)
        if found is None:
            found = await self.app.store.get_setting(HTTP01_PREFIX + token)
        return found

    def wake(self) -> None:
        """Check now (SIGHUP, or a renewal asked for)."""
        self._wake.set()

    # -- the loop ---------------------------------------------------------------------
    async def follow_challenges(self) -> None:
        """Serves the TLS-ALPN-01 challenges of whichever node orders (see the docstring)."""
        while True:
            try:
                text = await self.app.store.get_setting(TLS_ALPN_KEY)
                self._serve_alpn(json.loads(text) if text else {})
            except Exception:
                log.warning("acme: cannot read the TLS-ALPN-01 challenges", exc_info=True)
            await asyncio.sleep(CHALLENGE_POLL)

    def _serve_alpn(self, wanted: dict[str, str]) -> None:
        certs = self.app.certificates
        for name in [n for n in self._alpn_served if wanted.get(n) != self._alpn_served[n]]:
            certs.remove_challenge(name)
            del self._alpn_served[name]
        for name, key_auth in wanted.items():
            if name not in self._alpn_served:
                certs.add_challenge(name, *tls_alpn_certificate(name, key_auth))
                self._alpn_served[name] = key_auth

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        backoff = FIRST_BACKOFF
        while True:
            try:
                waiting = await self.check()
            except Exception as exc:
                log.warning("acme: no certificate for %s: %s; next attempt in %.0fs",
                            ", ".join(self.names), exc, backoff)
                log.debug("acme: order failed", exc_info=True)
                wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF)
            else:
                # while another node (or worker process) orders, look again soon,
                # so that its certificate is served here within seconds
                wait = FOLLOW_POLL if waiting else self.check_interval
                backoff = FIRST_BACKOFF
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except TimeoutError:
                pass
            self._wake.clear()

    async def check(self, now: float | None = None) -> bool:
        """Installs a newer certificate from the store and orders one when due;
        True when one is due but another node holds the order lease."""
        now = time.time() if now is None else now
        store = self.app.store
        text = await store.get_setting(CERT_KEY)
        record = Record.loads(text) if text else None
        if record is not None and record.issued > self._installed:
            self._install(record, "from the store")
        reason = await self._renewal_due(record, now)
        if reason is None:
            return False
        if not await self._claim(now):
            log.info("acme: renewal due (%s); another node holds the order lease", reason)
            return True
        log.info("acme: ordering a certificate for %s (%s) from %s by %s",
                 ", ".join(self.names), reason, self.app.settings.tls.acme_directory, self.kind)
        account_key = await store.get_setting(ACCOUNT_KEY)
        if account_key is None:
            account_key = (await asyncio.to_thread(new_account_key)).decode()
            await store.set_setting(ACCOUNT_KEY, account_key)
        # Not the executor seam's pools: they are sized for short jobs, and an order
        # waits on the network (polling the CA) for up to ORDER_TIMEOUT. Rare: a thread of its own.
        issued: Issued = await asyncio.to_thread(
            order, self.app.settings.tls.acme_directory, self.verify, account_key.encode(),
            self.app.settings.tls.acme_contact, self.names, self.kind, self._publish, self._withdraw,
            self._settle)
        record = Record(issued.chain_pem, issued.key_pem, issued.names, issued.not_after, time.time())
        await store.set_setting(CERT_KEY, record.dumps())
        self._install(record, "issued")
        return False

    async def _claim(self, now: float) -> bool:
        """Takes the order lease; a lease held by a process this node no longer runs
        (`postbus.node`: the single process of before it ran workers, a worker slot
        beyond the count) is taken over rather than waited out."""
        store, process = self.app.store, self.app.process
        if await store.claim_lease(LEASE, process.name, now, LEASE_SECONDS):
            return True
        key = LEASE_SETTING_PREFIX + LEASE
        current = await store.get_setting(key)
        holder = (current or "").partition(" ")[0]
        if current is None or not process.gone(holder):
            return False
        if await store.swap_setting(key, current, None):
            log.info("acme: the order lease of %s, which this node no longer runs, dropped", holder)
        return await store.claim_lease(LEASE, process.name, now, LEASE_SECONDS)

    async def _renewal_due(self, record: Record | None, now: float) -> str | None:
        if record is None:
            return "no certificate yet"
        if set(record.names) != set(self.names):
            return "the names changed"
        if record.not_after - now < self.renew_before:
            return f"it expires in {(record.not_after - now) / 86400:.1f} days"
        asked = await self.app.store.get_setting(RENEW_KEY)
        if asked is not None and float(asked) > record.issued:
            return "renewal asked for"
        return None

    def _install(self, record: Record, how: str) -> None:
        self.app.certificates.install_pem(
            record.chain_pem, record.key_pem,
            f"ACME certificate for {', '.join(record.names)} {how}, valid until "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(record.not_after))}; renewal after "
            f"{time.strftime('%Y-%m-%d', time.gmtime(record.not_after - self.renew_before))}")
        self._installed = record.issued

    # -- challenges, called from the order's thread ---------------------------------------
    def _on_loop(self, coro: Any) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(60)

    def _publish(self, kind: str, name: str, token: str, key_auth: str) -> None:
        if kind == HTTP01:
            self._http01[token] = key_auth
            self._on_loop(self.app.store.set_setting(HTTP01_PREFIX + token, key_auth))
        else:
            self._on_loop(self._set_alpn(name, key_auth))

    def _withdraw(self, kind: str, name: str, token: str, key_auth: str) -> None:
        if kind == HTTP01:
            self._http01.pop(token, None)
            self._on_loop(self.app.store.set_setting(HTTP01_PREFIX + token, None))
        else:
            self._on_loop(self._set_alpn(name, None))

    async def _set_alpn(self, name: str, key_auth: str | None) -> None:
        if key_auth is None:
            self._pending_alpn.pop(name, None)
        else:
            self._pending_alpn[name] = key_auth
        wanted = dict(self._pending_alpn)
        await self.app.store.set_setting(TLS_ALPN_KEY, json.dumps(wanted) if wanted else None)
        self._serve_alpn(wanted)  # here at once; the other nodes at their next poll

    def _settle(self) -> None:
        if self.kind == TLS_ALPN01:
            time.sleep(2 * CHALLENGE_POLL + 0.5)


async def _watch(app: App, interval: float) -> None:
    """The configured files' watch, once they have loaded (a listener may have loaded them already)."""
    while True:
        try:
            certs = app.certificates
        except Exception as exc:
            log.error("tls: certificate %s does not load: %s", app.settings.tls.cert, exc)
            await asyncio.sleep(interval)
            continue
        await certs.watch(interval)


#: How often the self-signed certificate's remaining days are checked.
SELF_SIGNED_CHECK = 3600.0


async def _renew_self_signed(app: App, interval: float) -> None:
    """Makes a new self-signed certificate when fewer than RENEW_BEFORE_DAYS are left
    (``net.tls``), and serves it on every listener without a restart."""
    from postbus.net.tls import self_signed_needs_renewal

    s = app.settings
    while True:
        await asyncio.sleep(interval)
        if self_signed_needs_renewal(Path(s.data_dir), s.hostname):
            app.certificates.reload()  # ensure_self_signed makes the new one


async def start(app: App) -> None:
    """The certificate's background work, started once the listeners are up:
    the ACME loop when `[tls] acme`, the watch of configured certificate files,
    and SIGHUP (re-read the files, check the ACME certificate now)."""
    s = app.settings
    service: AcmeService | None = None
    if s.tls.acme:
        service = AcmeService(app)
        app.services["acme"] = service
        app.spawn(service.run(), "acme")
        if service.kind == TLS_ALPN01:
            app.spawn(service.follow_challenges(), "acme-challenges")
    elif s.tls.cert:
        app.spawn(_watch(app, s.duration("tls", "watch_interval")), "certificate-watch")
    else:
        app.spawn(_renew_self_signed(app, SELF_SIGNED_CHECK), "self-signed-renewal")

    def hangup() -> None:
        log.info("SIGHUP: re-reading the certificate")
        if service is not None:
            service.wake()
        elif s.tls.cert:
            try:
                app.certificates.reload()
            except Exception as exc:  # the first load failed too: nothing to keep
                log.error("tls: certificate %s does not load: %s", s.tls.cert, exc)

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, hangup)
    except (NotImplementedError, RuntimeError):  # not the main thread (tests), or no signals
        pass
