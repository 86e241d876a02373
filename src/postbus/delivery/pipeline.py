"""The delivery pipeline: an accepted message becomes Inbox entries and queue items.

Every front end that accepts mail (the SMTP MX and submission, later the
webmail, vacation replies and DSNs) hands it over here. For one envelope:

1. each recipient is routed (`Router`: mailboxes, aliases, catch-alls); a loop
   in the alias graph makes the recipient unknown, never a partial expansion;
2. the message is written once, trace fields first (`MessageSink`): Received
   always, Authentication-Results on the MX, Return-Path when the message only
   goes to local mailboxes (RFC 5321 §4.4: the final-delivery server adds it; a
   copy that is relayed must not carry one), and parsed once;
3. all local Inboxes get it in one store transaction (`store.deliver`), each
   account once however many recipients lead to it; remote recipients are
   queued with their DSN parameters, and the queue runner is woken.

Invariants: `deliver` returns only after the message is durably in every
Inbox and in the queue (the caller answers 250 only then), or raises
`DeliveryRefused` having stored nothing. Quota is checked for every local
account before anything is stored, so a multi-recipient message is accepted
for all its local recipients or for none: SMTP DATA has one reply. When a
concurrent delivery fills an account between that check and the commit, the
message is still stored for it (a bounded overshoot of one message) rather
than dropped or duplicated.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postbus.accounts.address import DEFAULT_RECIPIENT_DELIMITER
from postbus.delivery.ingest import Ingested
from postbus.delivery.router import Route, Router
from postbus.delivery.sink import LateHeader, MessageSink
from postbus.delivery.trace import ClientInfo, received_header, return_path_header
from postbus.delivery.vacation import build_reply, must_not_reply
from postbus.store import NotFound, OverQuota, Store
from postbus.store.model import INBOX, Account, Appended, QueueRecipient

if TYPE_CHECKING:
    from postbus.app import App

log = logging.getLogger("postbus.delivery")

SPOOL_DIR = "spool"  # under data_dir: bodies waiting for a late header field
HOSTED_TTL = 5.0  # seconds a positive "this domain is hosted" answer is reused
MAX_CACHED_DOMAINS = 10_000
MAX_CACHED_INBOXES = 100_000


class DeliveryRefused(Exception):
    """Nothing was stored. `enhanced` is the RFC 3463 status code (4.x.x: try later)."""

    def __init__(self, enhanced: str, text: str) -> None:
        super().__init__(f"{enhanced} {text}")
        self.enhanced = enhanced
        self.text = text

    @property
    def temporary(self) -> bool:
        return self.enhanced.startswith("4")


@dataclass(frozen=True, slots=True)
class Recipient:
    """One envelope recipient with its route and RFC 3461 DSN parameters."""

    address: str
    route: Route | None = None  # None: `deliver` routes it
    notify: frozenset[str] | None = None  # NOTIFY=; None when not given
    orcpt: str = ""  # ORCPT= as "addr-type;address", "" when not given


@dataclass(slots=True)
class Envelope:
    mail_from: str  # "" for the null reverse-path
    recipients: list[Recipient] = field(default_factory=list)
    client: ClientInfo | None = None  # None: add no Received field
    envid: str = ""  # RFC 3461 ENVID
    ret: str = ""  # RFC 3461 RET: "FULL" | "HDRS" | ""
    mx: bool = False  # from the internet: add Authentication-Results
    id: str = field(default_factory=lambda: new_message_id())


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    delivered: tuple[Appended, ...]  # one per local Inbox
    queue_id: int | None  # the queue item of the remote recipients, if any
    unknown: tuple[str, ...] = ()  # recipients that had nowhere to go (direct callers only)


def new_message_id() -> str:
    """The id in our Received field and in the 250 reply, for tracing in logs."""
    return secrets.token_hex(8).upper()


def _load_authentication_results() -> Any:
    """`postbus.mailauth.inbound.authentication_results` once it exists, else None."""
    try:
        inbound = importlib.import_module("postbus.mailauth.inbound")
    except ModuleNotFoundError as exc:
        if exc.name == "postbus.mailauth.inbound":
            return None
        raise
    return getattr(inbound, "authentication_results", None)


class CachingRouter(Router):
    """A Router that remembers, for `HOSTED_TTL` seconds, which domains are hosted.

    Only positive answers are kept: a domain added by an administrator is
    reachable at once, and one removed in the last seconds only turns a
    "relay denied" into "no such user" (its mailboxes are gone with it).
    """

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.monotonic,
                 recipient_delimiter: str = DEFAULT_RECIPIENT_DELIMITER) -> None:
        super().__init__(store, recipient_delimiter=recipient_delimiter)
        self._clock = clock
        self._hosted: dict[str, float] = {}

    async def is_hosted(self, domain: str) -> bool:
        now = self._clock()
        until = self._hosted.get(domain)
        if until is not None and until > now:
            return True
        hosted = await super().is_hosted(domain)
        if hosted:
            if len(self._hosted) >= MAX_CACHED_DOMAINS:
                self._hosted.clear()
            self._hosted[domain] = now + HOSTED_TTL
        else:
            self._hosted.pop(domain, None)
        return hosted


class Delivery:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store
        self.hostname = app.settings.hostname
        self.router = CachingRouter(
            app.store, recipient_delimiter=app.settings.delivery.recipient_delimiter)
        self.rules = self.router.rules  # one reader of the forwarding/vacation records
        self._inboxes: dict[int, int] = {}  # account id -> INBOX folder id (fixed for life)
        self.spool_dir = Path(app.settings.data_dir) / SPOOL_DIR
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._authentication_results = _load_authentication_results()

    # -- routing ----------------------------------------------------------------
    async def is_hosted(self, domain: str) -> bool:
        return await self.router.is_hosted(domain)

    async def route(self, address: str) -> Route:
        """The route of `address`; an alias loop makes it unknown (RFC 3463 X.4.6)."""
        route = await self.router.route(address)
        if route.loop:
            return Route(unknown=True, hosted=route.hosted, loop=True)
        return route

    # -- receiving --------------------------------------------------------------
    def trace_prefix(self, envelope: Envelope) -> bytes:
        """Return-Path (local-only messages) and Received, known before the body."""
        parts = []
        if all(r.route is not None and not r.route.remote for r in envelope.recipients):
            parts.append(return_path_header(envelope.mail_from))
        if envelope.client is not None:
            single = envelope.recipients[0].address if len(envelope.recipients) == 1 else None
            parts.append(received_header(envelope.client, hostname=self.hostname,
                                         message_id=envelope.id, recipient=single))
        return b"".join(parts)

    def open_message(self, envelope: Envelope) -> MessageSink:
        """A sink for the body of `envelope`; our trace fields are already in it."""
        late: LateHeader | None = None
        prefix = self.trace_prefix(envelope)
        if envelope.mx:
            if self._authentication_results is None:
                prefix = self._fallback_results() + prefix
            else:
                late = self._late_results(envelope)
        return MessageSink(self.store, prefix, late_header=late, spool_dir=self.spool_dir)

    def _fallback_results(self) -> bytes:
        # RFC 8601 §2.2: "none" says no message authentication was performed
        return f"Authentication-Results: {self.hostname}; none\r\n".encode()

    def _late_results(self, envelope: Envelope) -> LateHeader:
        fn = self._authentication_results
        client = envelope.client or ClientInfo(ip="")

        async def compute(body: bytes) -> bytes:
            result = fn(self.app, client_ip=client.ip, helo=client.helo,
                        mail_from=envelope.mail_from, message=body)
            if inspect.isawaitable(result):
                result = await result
            return bytes(result)

        return compute

    # -- delivering -------------------------------------------------------------
    async def deliver(self, envelope: Envelope, message: Ingested) -> Outcome:
        """Stores `message` for every recipient of `envelope` (see the module invariants)."""
        local: dict[int, Account] = {}
        remote: dict[str, QueueRecipient] = {}
        unknown: list[str] = []
        for rcpt in envelope.recipients:
            route = rcpt.route if rcpt.route is not None else await self.route(rcpt.address)
            if route.unknown:
                unknown.append(rcpt.address)
                continue
            for account in route.local:
                local.setdefault(account.id, account)
            for address in route.remote:
                remote.setdefault(address, _queue_recipient(rcpt, address))
        delivered = await self._deliver_local(list(local.values()), message)
        queue_id = await self._enqueue(envelope, list(remote.values()), message)
        if delivered and envelope.mail_from:
            # After the commit and off the reply path: the 250 never waits for it.
            boxes = {d.mailbox_id for d in delivered}
            reached = [a for a in local.values() if self._inboxes.get(a.id) in boxes]
            self.app.spawn(self._auto_replies(reached, envelope.mail_from, message), "vacation")
        return Outcome(envelope.id, tuple(delivered), queue_id, tuple(unknown))

    async def _auto_replies(self, accounts: Sequence[Account], sender: str, message: Ingested) -> None:
        """RFC 3834 vacation replies of the mailboxes that just received `message`."""
        now = time.time()
        raw_header: bytes | None = None
        for account in accounts:
            rule = await self.rules.vacation(account.address)
            if rule is None or not rule.active(now):
                continue
            if raw_header is None:
                raw_header = await self.store.read_blob(message.blob.id, 0, message.meta.header_end)
            if must_not_reply(raw_header, sender, account.address, message.meta) is not None:
                continue
            if not await self.rules.vacation_due(account.address, sender, now, rule.interval_days):
                continue
            reply = build_reply(mailbox=account.address, to=sender, subject=rule.subject,
                                body=rule.body, meta=message.meta, hostname=self.hostname, now=now)
            # RFC 3834 §3.3: sent from the null reverse-path, so it cannot bounce back.
            route = await self.route(sender)
            if route.unknown:
                continue
            envelope = Envelope("", [Recipient(sender, route)], client=ClientInfo(ip="", via="LOCAL"))
            await self.deliver_bytes(envelope, reply)

    async def deliver_bytes(self, envelope: Envelope, raw: bytes) -> Outcome:
        """`deliver` for a message held in memory (webmail, vacation, DSN)."""
        sink = self.open_message(envelope)
        try:
            sink.write(raw)
            message = await sink.finish()
        except BaseException:
            sink.abort()
            raise
        return await self.deliver(envelope, message)

    async def deliver_local(self, account: Account, raw: bytes, *, sender: str = "") -> Appended:
        """Puts `raw` into the Inbox of `account` with a Return-Path and a Received field."""
        route = Route(local=[account])
        envelope = Envelope(sender, [Recipient(account.address, route)],
                            client=ClientInfo(ip="", via="LOCAL"))
        outcome = await self.deliver_bytes(envelope, raw)
        return outcome.delivered[0]

    async def check_quota(self, accounts: Iterable[Account], size: int) -> None:
        """Raises DeliveryRefused 4.2.2 when a message of `size` octets does not fit."""
        for account in accounts:
            fresh = await self.store.get_account_by_id(account.id)
            if fresh is not None and fresh.quota_bytes and fresh.used_bytes + size > fresh.quota_bytes:
                raise DeliveryRefused("4.2.2", "Mailbox full, try again later")

    async def _inbox(self, account: Account) -> int | None:
        box_id = self._inboxes.get(account.id)
        if box_id is None:
            box = await self.store.get_mailbox(account.id, INBOX)
            if box is None:
                return None
            if len(self._inboxes) >= MAX_CACHED_INBOXES:
                self._inboxes.clear()
            box_id = self._inboxes[account.id] = box.id
        return box_id

    async def _deliver_local(self, accounts: Sequence[Account], message: Ingested) -> list[Appended]:
        if not accounts:
            return []
        if len(accounts) > 1:
            # all or nothing; with one account the store's own check is enough
            await self.check_quota(accounts, message.blob.size)
        inboxes: list[int] = []
        owners: list[int] = []
        for account in accounts:
            box_id = await self._inbox(account)
            if box_id is None:
                log.warning("mailbox %s vanished during delivery", account.address)
                continue
            inboxes.append(box_id)
            owners.append(account.id)
        results = await self.store.deliver(inboxes, message.blob, message.parsed)
        delivered = [r for r in results if isinstance(r, Appended)]
        full = [box_id for box_id, r in zip(inboxes, results, strict=True)
                if isinstance(r, OverQuota)]
        for owner, box_id, r in zip(owners, inboxes, results, strict=True):
            if isinstance(r, NotFound):
                self._inboxes.pop(owner, None)
                log.warning("folder %d vanished during delivery", box_id)
            elif isinstance(r, Exception) and not isinstance(r, OverQuota):
                raise r
        if full and not delivered:
            raise DeliveryRefused("4.2.2", "Mailbox full, try again later")  # nothing stored
        if full:
            # A concurrent delivery filled these accounts after our check; the
            # others are committed, so refusing now would duplicate the message
            # for them on retry. Store it past the quota instead.
            log.info("delivering past quota after a concurrent delivery (%d folders)", len(full))
            retry = await self.store.deliver(full, message.blob, message.parsed, check_quota=False)
            delivered += [r for r in retry if isinstance(r, Appended)]
        return delivered

    async def _enqueue(
        self, envelope: Envelope, recipients: Sequence[QueueRecipient], message: Ingested
    ) -> int | None:
        if not recipients:
            return None
        queue_id = await self.store.enqueue(envelope.mail_from, recipients, message.blob,
                                            envid=envelope.envid, ret=envelope.ret)
        runner = self.app.services.get("queue")
        if runner is not None:
            runner.wake()
        return queue_id


def _queue_recipient(rcpt: Recipient, address: str) -> QueueRecipient:
    notify = ",".join(sorted(rcpt.notify)) if rcpt.notify else ""
    orcpt = rcpt.orcpt
    if not orcpt and address != rcpt.address:
        # RFC 3461 §4.2: an expanded alias keeps the address the sender used
        orcpt = f"rfc822;{rcpt.address}"
    return QueueRecipient(address, notify=notify, orcpt=orcpt)
