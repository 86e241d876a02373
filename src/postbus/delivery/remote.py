"""Delivery to other mail servers: one SMTP transaction per destination domain.

`deliver_domain` finds the servers of a domain as RFC 5321 §5.1 says (MX
records by preference; none: the domain's own A/AAAA, the "implicit MX"; a
null MX, RFC 7505: the domain takes no mail) and tries them in turn until one
completes a transaction. `deliver_relay` sends everything to the `[relay]`
smarthost instead. Both give one `Outcome` per recipient: delivered, deferred
(4xx, or no server reachable: retry later) or failed (5xx: bounce).

TLS: with MX delivery, STARTTLS is used whenever offered, without certificate
checks (opportunistic TLS, RFC 7435): an unverified channel still beats
plain text; a server whose TLS handshake fails is retried once in plain text.
The smarthost's TLS setting is obeyed strictly, with certificate checks,
because credentials go over it.

Invariants: recipients are never reported delivered unless the server
accepted both the RCPT and the DATA; a connection lost after DATA was sent is
"deferred" (the message may arrive twice, never zero times).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import aiosmtplib

from postbus.config import Settings
from postbus.mailauth.resolver import DnsTempError, Resolver
from postbus.smtp.proto.xtext import encode_xtext
from postbus.store.model import QueueRecipient

log = logging.getLogger("postbus.delivery.remote")

MAX_MX_HOSTS = 10  # servers tried per attempt
MAX_ADDRESSES_PER_HOST = 4
CONNECT_TIMEOUT = 30.0  # connection and greeting
COMMAND_TIMEOUT = 300.0  # RFC 5321 §4.5.3.2: 5 minutes for MAIL, RCPT...
DATA_TIMEOUT = 600.0  # RFC 5321 §4.5.3.2.6: 10 minutes for the final reply


@dataclass(frozen=True, slots=True)
class Outcome:
    address: str
    status: str  # delivered | deferred | failed
    reply: str  # the SMTP reply ("250 2.0.0 ok", "550 5.1.1 ..."), or what went wrong
    remote_mta: str = ""


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: str  # "" for the null reverse-path
    recipients: Sequence[QueueRecipient]
    message: bytes  # CRLF lines, signed if it is to be signed
    envid: str = ""
    ret: str = ""


@dataclass(frozen=True, slots=True)
class _Target:
    name: str  # host name: for SNI and the report's Remote-MTA
    address: str  # where to connect
    port: int
    tls: str  # opportunistic | starttls | implicit | none
    username: str = ""
    password: str = ""


class _TryNext(Exception):
    """This server could not take the message now; the next one may."""


def _all(recipients: Sequence[QueueRecipient], status: str, reply: str, mta: str = "") -> list[Outcome]:
    return [Outcome(r.address, status, reply, mta) for r in recipients]


def _opportunistic_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _needs_smtputf8(envelope: Envelope) -> bool:
    return not (envelope.sender.isascii() and all(r.address.isascii() for r in envelope.recipients))


async def _targets(resolver: Resolver, domain: str, port: int) -> list[_Target] | str:
    """Servers for `domain` in the order to try, or the permanent reason there
    are none; raises DnsTempError when DNS could not say."""
    mx = await resolver.mx(domain)
    if any(host == "" for _, host in mx):
        return f"556 5.1.10 {domain} does not accept mail (null MX)"  # RFC 7505 §3
    hosts = [host for _, host in mx][:MAX_MX_HOSTS] or [domain]  # RFC 5321 §5.1 implicit MX
    targets: list[_Target] = []
    temp: DnsTempError | None = None
    for host in hosts:
        try:
            addresses = await resolver.addresses(host)
        except DnsTempError as exc:
            temp = exc
            continue
        targets += [_Target(host, a, port, "opportunistic") for a in addresses[:MAX_ADDRESSES_PER_HOST]]
    if not targets and temp is not None:
        raise temp
    return targets or f"550 5.4.4 no mail server found for {domain}"


async def deliver_domain(
    settings: Settings, resolver: Resolver, domain: str, envelope: Envelope
) -> list[Outcome]:
    """Delivers to the servers of `domain` (RFC 5321 §5.1)."""
    try:
        targets = await _targets(resolver, domain, settings.dns.mx_port)
    except DnsTempError as exc:
        return _all(envelope.recipients, "deferred", f"451 4.4.3 DNS lookup for {domain} failed: {exc}")
    if isinstance(targets, str):
        return _all(envelope.recipients, "failed", targets)
    return await _try_targets(settings, targets, envelope)


async def deliver_relay(settings: Settings, envelope: Envelope) -> list[Outcome]:
    """Delivers everything through the `[relay]` smarthost."""
    relay = settings.relay
    target = _Target(relay.host, relay.host, relay.port, relay.tls, relay.username, relay.password)
    return await _try_targets(settings, [target], envelope)


async def _try_targets(settings: Settings, targets: Sequence[_Target], envelope: Envelope) -> list[Outcome]:
    last = "no server could be reached"
    for target in targets:
        if target.name == settings.hostname.lower() and target.tls == "opportunistic":
            return _all(envelope.recipients, "failed",
                        f"554 5.4.6 mail for {target.name} loops back to myself")
        try:
            return await _transaction(settings, target, envelope, plain=False)
        except _TryNext as exc:
            last = str(exc)
            log.info("delivery to %s [%s]:%d: %s", target.name, target.address, target.port, last)
    return _all(envelope.recipients, "deferred", last)


async def _transaction(settings: Settings, target: _Target, envelope: Envelope, *, plain: bool) -> list[Outcome]:
    client = aiosmtplib.SMTP(
        hostname=target.address, port=target.port, local_hostname=settings.hostname,
        timeout=COMMAND_TIMEOUT, use_tls=target.tls == "implicit", start_tls=False,
        validate_certs=target.tls != "opportunistic",
        tls_context=_opportunistic_context() if target.tls == "opportunistic" else None,
    )
    try:
        outcomes = await _session(client, target, envelope, plain=plain)
    except _TlsFailed as exc:
        client.close()
        log.info("TLS with %s failed (%s); retrying in plain text", target.name, exc)
        return await _transaction(settings, target, envelope, plain=True)
    except aiosmtplib.SMTPAuthenticationError as exc:
        client.close()
        raise _TryNext(f"relay login refused: {exc.code} {exc.message}") from None
    except aiosmtplib.SMTPResponseException as exc:
        client.close()
        raise _TryNext(f"{exc.code} {exc.message} (from {target.name})") from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        client.close()
        raise _TryNext(f"{target.name} [{target.address}]: {exc or type(exc).__name__}") from None
    except BaseException:
        client.close()
        raise
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        pass  # the outcome is known; a lost QUIT changes nothing
    finally:
        client.close()
    return outcomes


class _TlsFailed(Exception):
    """An opportunistic STARTTLS handshake failed: retry without TLS."""


async def _session(client: aiosmtplib.SMTP, target: _Target, envelope: Envelope, *, plain: bool) -> list[Outcome]:
    try:
        await client.connect(timeout=CONNECT_TIMEOUT)
        await client.ehlo()
    except aiosmtplib.SMTPHeloError:
        await client.helo()  # RFC 5321 §3.2: an old server may only know HELO
    if not plain and target.tls in ("opportunistic", "starttls"):
        if client.supports_extension("starttls"):
            try:
                await client.starttls(server_hostname=target.name)
            except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as exc:
                if target.tls == "opportunistic":
                    raise _TlsFailed(str(exc)) from None
                raise _TryNext(f"STARTTLS failed: {exc}") from None
        elif target.tls == "starttls":
            raise _TryNext(f"{target.name} does not offer STARTTLS")
    if target.username:
        await client.login(target.username, target.password)
    return await _send(client, target, envelope)


async def _send(client: aiosmtplib.SMTP, target: _Target, envelope: Envelope) -> list[Outcome]:
    """MAIL, RCPT for each recipient, DATA; replies per recipient."""
    ext = client.esmtp_extensions
    recipients = envelope.recipients
    size = len(envelope.message)
    limit = ext.get("size", "")
    if limit.isdigit() and 0 < int(limit) < size:
        return _all(recipients, "failed",
                    f"552 5.3.4 message of {size} octets exceeds {target.name}'s limit of {limit}",
                    target.name)
    utf8 = _needs_smtputf8(envelope)
    if utf8 and "smtputf8" not in ext:
        return _all(recipients, "failed",
                    f"553 5.6.7 {target.name} does not accept internationalised addresses",
                    target.name)
    options = [f"SIZE={size}"] if "size" in ext else []
    if "8bitmime" in ext and not envelope.message.isascii():
        options.append("BODY=8BITMIME")
    if utf8:
        options.append("SMTPUTF8")
    dsn = "dsn" in ext
    if dsn and envelope.ret:
        options.append(f"RET={envelope.ret.upper()}")
    if dsn and envelope.envid:
        options.append(f"ENVID={encode_xtext(envelope.envid)}")
    encoding = "utf-8" if utf8 else "ascii"
    try:
        await client.mail(envelope.sender, options=options, encoding=encoding)
    except aiosmtplib.SMTPSenderRefused as exc:
        if exc.code >= 500:
            return _all(recipients, "failed", f"{exc.code} {exc.message}", target.name)
        raise _TryNext(f"{exc.code} {exc.message} (from {target.name})") from None
    outcomes: dict[str, Outcome] = {}
    accepted: list[QueueRecipient] = []
    for rcpt in recipients:
        rcpt_options = []
        if dsn and rcpt.notify:
            rcpt_options.append(f"NOTIFY={rcpt.notify.upper()}")
        if dsn and rcpt.orcpt:
            kind, _, addr = rcpt.orcpt.partition(";")
            rcpt_options.append(f"ORCPT={kind};{encode_xtext(addr)}")
        try:
            await client.rcpt(rcpt.address, options=rcpt_options, encoding=encoding)
            accepted.append(rcpt)
        except aiosmtplib.SMTPRecipientRefused as exc:
            status = "failed" if exc.code >= 500 else "deferred"
            outcomes[rcpt.address] = Outcome(rcpt.address, status, f"{exc.code} {exc.message}",
                                             target.name)
    if accepted:
        for rcpt, outcome in zip(accepted, await _data(client, target, envelope, accepted), strict=True):
            outcomes[rcpt.address] = outcome
    return [outcomes[r.address] for r in recipients]


async def _data(
    client: aiosmtplib.SMTP, target: _Target, envelope: Envelope, accepted: Sequence[QueueRecipient]
) -> list[Outcome]:
    try:
        response = await client.data(envelope.message, timeout=DATA_TIMEOUT)
    except aiosmtplib.SMTPDataError as exc:
        status = "failed" if exc.code >= 500 else "deferred"
        return _all(accepted, status, f"{exc.code} {exc.message}", target.name)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # RFC 5321 §6.1: without the final reply we may not assume delivery.
        return _all(accepted, "deferred", f"connection to {target.name} lost during DATA: {exc}",
                    target.name)
    return _all(accepted, "delivered", f"{response.code} {response.message}", target.name)
