"""The delivery pipeline: an accepted message becomes Inbox entries and queue items.

Every front end that accepts mail (the SMTP MX and submission, later the
webmail, vacation replies and DSNs) hands it over here. For one envelope:

1. each recipient is routed (`Router`: mailboxes, aliases, catch-alls); a loop
   in the alias graph makes the recipient unknown, never a partial expansion;
2. the message is written once, trace fields first (`MessageSink`): Received
   always, Authentication-Results on the MX, Return-Path when the message only
   goes to local mailboxes (RFC 5321 §4.4: the final-delivery server adds it; a
   copy that is relayed must not carry one), and parsed once;
3. one store transaction (`store.deliver_message`) puts it into every local
   Inbox, each account once however many recipients lead to it, and queues it
   for the remote recipients (forwarding targets and alias targets elsewhere
   included) with their DSN parameters; then the queue runner is woken.

Invariants: `deliver` returns only after the message is durably in every
Inbox and in the queue (the caller answers 250 only then), or raises
`DeliveryRefused` or a store error having stored nothing: the local copies and
the queue item commit together, so a failure anywhere leaves nothing that the
sender's retry would duplicate. Quota is checked in that transaction for every
local account, so a message is accepted for all its local recipients or for
none: SMTP DATA has one reply (RFC 5321 §4.1.1.4).

Mailboxes removed between RCPT and the end of DATA (`vanished`). RFC 5321
§4.2.5: a 250 to DATA takes responsibility for delivering the message or
reporting its failure, and §3.3 gives DATA a single reply for every recipient.
So:
- if the message is stored nowhere (every mailbox vanished, no remote
  recipient), the reply is 554 5.1.1 and nothing was stored: the client learns
  it at once, and nothing was accepted that could still fail;
- if some recipients got it, the reply is 250 and the sender gets a failure
  report (RFC 3464, status 5.1.1) for the vanished ones, as NOTIFY allows,
  stored before `deliver` returns. A failure to store that report is logged
  and does not undo the 250: the message itself is committed, and refusing it
  now would duplicate it for the others on retry.
Vacation auto-replies are separate messages, sent after the commit.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postbus import metrics
from postbus.accounts.address import DEFAULT_RECIPIENT_DELIMITER
from postbus.delivery.dsn import RecipientStatus, build_dsn, notify_allows
from postbus.delivery.ingest import Ingested
from postbus.delivery.router import Route, Router
from postbus.delivery.sink import LateHeader, MessageSink
from postbus.delivery.srs import SrsError, is_srs_local, srs_for
from postbus.delivery.trace import ClientInfo, received_header, return_path_header
from postbus.delivery.vacation import addressed_to, build_reply, must_not_reply, named_recipients
from postbus.mailauth import authres
from postbus.message.headers import parse_fields
from postbus.security.sending import Notice, SendingRefused
from postbus.store import OverQuota, Store
from postbus.store.model import INBOX, Account, Appended, Delivered, Outbound, QueueRecipient

if TYPE_CHECKING:
    from postbus.app import App

log = logging.getLogger("postbus.delivery")

SPOOL_DIR = "spool"  # under data_dir: bodies waiting for a late header field
HOSTED_TTL = 5.0  # seconds a positive "this domain is hosted" answer is reused
MAX_CACHED_DOMAINS = 10_000
MAX_CACHED_INBOXES = 100_000
VANISHED_STATUS = "5.1.1"  # RFC 3463: bad destination mailbox address (it was removed)
# RFC 5321 §6.3: a message with more Received fields than this is in a loop
# (across hosts: forwarding here, forwarding back there); refused with 5.4.6.
MAX_HOPS = 100


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
    report: bool = False  # a delivery report: small, and must reach its reader past quota
    # The authenticated mailbox submitting it (SMTP submission, webmail): its
    # sending limits (security.sending) are taken before anything is stored.
    submitter: str = ""
    id: str = field(default_factory=lambda: new_message_id())


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    delivered: tuple[Appended, ...]  # one per local Inbox
    queue_id: int | None  # the queue item of the remote recipients, if any
    unknown: tuple[str, ...] = ()  # recipients that had nowhere to go (direct callers only)
    vanished: tuple[str, ...] = ()  # recipients whose mailboxes were removed before the commit


@dataclass(slots=True)
class _Plan:
    """Where one message goes: each account once, each remote address once."""

    routed: list[tuple[Recipient, Route]] = field(default_factory=list)
    local: dict[int, Account] = field(default_factory=dict)  # by account id
    remote: dict[str, QueueRecipient] = field(default_factory=dict)  # by address
    unknown: list[str] = field(default_factory=list)


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
        self.srs = srs_for(app.store, app.settings)
        self._inboxes: dict[int, int] = {}  # account id -> INBOX folder id (fixed for life)
        self.spool_dir = Path(app.settings.data_dir) / SPOOL_DIR
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._authentication_results = _load_authentication_results()

    # -- routing ----------------------------------------------------------------
    async def is_hosted(self, domain: str) -> bool:
        return await self.router.is_hosted(domain)

    async def srs_route(self, local: str, domain: str) -> Route | None:
        """Where mail to one of our SRS addresses goes (a bounce of forwarded mail):
        on to the original sender, or unknown when the address does not verify
        or has expired. None when `local@domain` is not one of our SRS addresses."""
        if self.srs is None or not is_srs_local(local):
            return None
        domain = domain.lower()
        if domain != self.srs.domain and not await self.is_hosted(domain):
            return None
        try:
            original = await self.srs.reverse(local)
        except SrsError as exc:
            log.info("SRS address %s@%s refused: %s", local, domain, exc)
            return Route(unknown=True)
        if await self.is_hosted(original.rpartition("@")[2].lower()):
            return await self.route(original)
        return Route(remote=[original])

    async def route(self, address: str) -> Route:
        """The route of `address`; an alias loop makes it unknown (RFC 3463 X.4.6)."""
        local, _, domain = address.rpartition("@")
        srs = await self.srs_route(local, domain)
        if srs is not None:
            return srs
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
        strip: Callable[[bytes], bytes] | None = None
        prefix = self.trace_prefix(envelope)
        if envelope.mx:
            if self._authentication_results is None:
                prefix = self._fallback_results() + prefix
            else:
                late = self._late_results(envelope)
                # RFC 8601 §5: a field with our authserv-id that we did not add is forged
                strip = functools.partial(authres.remove_ours, authserv_id=self.hostname)
        return MessageSink(self.store, prefix, late_header=late, spool_dir=self.spool_dir,
                           body_filter=strip)

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
        if envelope.submitter:
            await self.take_sending(envelope.submitter, len(envelope.recipients))
        plan = await self._plan(envelope)
        if plan.remote and envelope.client is not None:
            await self._check_hops(message)
        inboxes = await self._inboxes_of(plan.local.values())
        queue = None
        if plan.remote:
            queue = Outbound(envelope.mail_from, tuple(plan.remote.values()), envelope.envid,
                             envelope.ret)
        stored = Delivered((), None)
        if inboxes or queue is not None:
            try:
                stored = await self.store.deliver_message(
                    list(inboxes.values()), message.blob, message.parsed, queue=queue,
                    check_quota=not envelope.report)
            except OverQuota:
                raise DeliveryRefused("4.2.2", "Mailbox full, try again later") from None
        reached = self._reached(plan, inboxes, stored)
        if not stored.stored:
            raise DeliveryRefused(VANISHED_STATUS, "Recipient mailbox no longer exists")
        if stored.queue_id is not None:
            runner = self.app.services.get("queue")
            if runner is not None:
                runner.wake()
        vanished = [rcpt for rcpt, route in plan.routed
                    if not route.remote and not any(a.id in reached for a in route.local)]
        if vanished and envelope.mail_from:
            await self._report_vanished(envelope, vanished, message)
        delivered = tuple(r for r in stored.local if isinstance(r, Appended))
        metrics.message("accepted")
        metrics.message("delivered", len(delivered))
        if delivered and envelope.mail_from:
            # After the commit and off the reply path: the 250 never waits for it.
            accounts = [plan.local[account_id] for account_id in reached]
            self.app.spawn(self._auto_replies(accounts, envelope.mail_from, message), "vacation")
        return Outcome(envelope.id, delivered, stored.queue_id, tuple(plan.unknown),
                       tuple(r.address for r in vanished))

    async def _check_hops(self, message: Ingested) -> None:
        """Mail that goes out again must not be going round between hosts."""
        header = await self.store.read_blob(message.blob.id, 0, message.meta.header_end)
        hops = sum(1 for name, _ in parse_fields(header, 0, len(header))
                   if name.lower() == "received")
        if hops > MAX_HOPS:
            raise DeliveryRefused("5.4.6", f"Too many hops ({hops} Received fields): mail loop")

    # -- sending limits (security.sending) ---------------------------------------
    async def take_sending(self, address: str, recipients: int) -> None:
        """Counts one submission against the limits of `address`, or raises
        `DeliveryRefused` (4.7.1 over a limit, 5.7.1 blocked) having counted nothing."""
        try:
            await self.app.sending.take(address, recipients)
        except SendingRefused as exc:
            self.send_notices(exc.notices)
            raise DeliveryRefused(exc.enhanced, exc.text) from None

    def send_notices(self, notices: Iterable[Notice]) -> None:
        """Mails each notice to the administrators, off the reply's path."""
        for notice in notices:
            self.app.spawn(self._send_notice(notice), "sending notice")

    async def _send_notice(self, notice: Notice) -> None:
        sending = self.app.sending
        targets = await sending.notice_recipients(notice.domain)
        envelope = Envelope("", [Recipient(t) for t in targets],
                            client=ClientInfo(ip="", via="LOCAL"), report=True)
        outcome = await self.deliver_bytes(envelope, sending.notice_message(notice, targets))
        if outcome.unknown:
            log.warning("sending notice %r reached no mailbox for %s", notice.subject,
                        ", ".join(outcome.unknown))

    async def _plan(self, envelope: Envelope) -> _Plan:
        plan = _Plan()
        for rcpt in envelope.recipients:
            route = rcpt.route if rcpt.route is not None else await self.route(rcpt.address)
            if route.unknown:
                plan.unknown.append(rcpt.address)
                continue
            plan.routed.append((rcpt, route))
            for account in route.local:
                plan.local.setdefault(account.id, account)
            for address in route.remote:
                plan.remote.setdefault(address, _queue_recipient(rcpt, address))
        return plan

    def _reached(self, plan: _Plan, inboxes: dict[int, int], stored: Delivered) -> set[int]:
        """The accounts that got the message; forgets the Inboxes that vanished."""
        reached: set[int] = set()
        for account_id, result in zip(inboxes, stored.local, strict=True):
            if isinstance(result, Appended):
                reached.add(account_id)
            else:  # removed since its Inbox was looked up
                self._inboxes.pop(account_id, None)
                log.warning("mailbox %s vanished during delivery", plan.local[account_id].address)
        return reached

    async def _report_vanished(
        self, envelope: Envelope, vanished: Sequence[Recipient], message: Ingested
    ) -> None:
        """The failure report (RFC 3464) for recipients whose mailbox vanished
        while others got the message. The message is committed: whatever goes
        wrong here is logged and does not change the 250."""
        failed = [RecipientStatus(r.address, "failed", VANISHED_STATUS,
                                  f"550 {VANISHED_STATUS} mailbox removed during delivery",
                                  orcpt=r.orcpt)
                  for r in vanished if notify_allows(",".join(sorted(r.notify or ())), "FAILURE")]
        if not failed:
            return
        sender = envelope.mail_from
        try:
            route = await self.route(sender)
            if route.unknown:
                log.warning("failure report for <%s> dropped: no such address", sender)
                return
            now = time.time()
            report = build_dsn(hostname=self.hostname, sender=sender,
                               original=await self.store.read_blob(message.blob.id),
                               recipients=failed, arrival=now, now=now,
                               envid=envelope.envid, ret=envelope.ret)
            # RFC 5321 §4.5.5 / RFC 3464 §2: from the null reverse-path
            await self.deliver_bytes(Envelope("", [Recipient(sender, route)], report=True,
                                              client=ClientInfo(ip="", via="LOCAL")), report)
        except DeliveryRefused as exc:
            log.warning("failure report for <%s> not stored: %s", sender, exc)
        except Exception:
            log.exception("failure report for <%s> not stored", sender)

    async def _auto_replies(self, accounts: Sequence[Account], sender: str, message: Ingested) -> None:
        """RFC 3834 vacation replies of the mailboxes that just received `message`."""
        now = time.time()
        raw_header: bytes | None = None
        for account in accounts:
            rule = await self.rules.vacation(account.address, account.id)
            if rule is None or not rule.active(now):
                continue
            if raw_header is None:
                raw_header = await self.store.read_blob(message.blob.id, 0, message.meta.header_end)
            addressed = await addressed_to(
                account.address, named_recipients(raw_header, message.meta), self._alias_targets,
                recipient_delimiter=self.router.recipient_delimiter)
            why = must_not_reply(raw_header, sender, account.address, addressed=addressed)
            if why is not None:
                log.debug("no vacation reply from %s to <%s>: %s", account.address, sender, why)
                continue
            route = await self.route(sender)
            if route.unknown:
                continue
            if not await self.rules.vacation_due(account.id, sender, now, rule.interval_days):
                continue
            reply = build_reply(mailbox=account.address, to=sender, subject=rule.subject,
                                body=rule.body, meta=message.meta, hostname=self.hostname, now=now)
            # RFC 3834 §3.3: sent from the null reverse-path, so it cannot bounce back.
            envelope = Envelope("", [Recipient(sender, route)], client=ClientInfo(ip="", via="LOCAL"))
            await self.deliver_bytes(envelope, reply)

    async def _alias_targets(self, address: str) -> Sequence[str] | None:
        alias = await self.store.get_alias(address)
        return None if alias is None else alias.targets

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

    async def _inboxes_of(self, accounts: Iterable[Account]) -> dict[int, int]:
        """The Inbox folder id of each account that still has one (account id -> folder id)."""
        found: dict[int, int] = {}
        for account in accounts:
            box_id = self._inboxes.get(account.id)
            if box_id is None:
                box = await self.store.get_mailbox(account.id, INBOX)
                if box is None:
                    log.warning("mailbox %s vanished during delivery", account.address)
                    continue
                if len(self._inboxes) >= MAX_CACHED_INBOXES:
                    self._inboxes.clear()
                box_id = self._inboxes[account.id] = box.id
            found[account.id] = box_id
        return found


def _queue_recipient(rcpt: Recipient, address: str) -> QueueRecipient:
    notify = ",".join(sorted(rcpt.notify)) if rcpt.notify else ""
    orcpt = rcpt.orcpt
    if not orcpt and address != rcpt.address:
        # RFC 3461 §4.2: an expanded alias keeps the address the sender used
        orcpt = f"rfc822;{rcpt.address}"
    return QueueRecipient(address, notify=notify, orcpt=orcpt)
