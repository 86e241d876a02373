"""The outbound queue runner: delivers queued mail to other domains, retries, bounces.

`start_queue(app)` registers one `QueueRunner` as `app.services["queue"]` and
spawns its loop. The loop claims due items from the store (a lease, so that
on several nodes each item is worked by one node at a time), delivers each
concurrently up to `[queue] concurrency`, and records the outcome:

- delivered recipients are done; permanently refused ones (5xx) are failed and
  the sender gets one bounce (RFC 3464) for them if their NOTIFY allows;
- the others are retried with exponential backoff (`first_retry`, doubling,
  at most `max_retry_interval`); after `delay_notice` the sender is told once
  (action=delayed), and past `lifetime` they fail and bounce;
- an item with no pending recipient left is removed.

DKIM: mail whose From (else envelope sender) domain is ours and has a key is
signed at send time, so that a key rotation applies to mail already queued.

Invariants: a bounce is durably stored (in the sender's Inbox, or queued with
the null sender) before the item's new state is recorded, so a crash between
the two can repeat a bounce but never lose one; mail with the null sender
never causes a bounce. After a crash, items claimed by this node are taken
back at start, and so are those of a worker slot this node no longer runs
(`[server] workers` lowered, or changed between one process and workers); those
of a dead node come back when its lease expires.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from postbus import metrics
from postbus.accounts.address import AddressError, normalize_domain
from postbus.delivery import remote
from postbus.delivery.dsn import RecipientStatus, build_dsn, notify_allows, status_of
from postbus.delivery.ingest import ingest_bytes
from postbus.delivery.router import Router
from postbus.delivery.srs import srs_for
from postbus.executor import CPU
from postbus.mailauth import dkim
from postbus.mailauth.inbound import from_domain
from postbus.mailauth.resolver import app_resolver
from postbus.store import NotFound
from postbus.store.model import INBOX, Outbound, QueueItem, QueueRecipient

log = logging.getLogger("postbus.delivery.queue")

LEASE = 30 * 60.0  # an item's claim; longer than any one delivery attempt can take
STOP_GRACE = 10.0  # seconds deliveries in flight get to finish when the runner stops
POLL_INTERVAL = 30.0  # longest sleep without a wake-up: items queued by other nodes or the CLI
INLINE_SIGN_LIMIT = 128 * 1024  # larger messages are canonicalised in the executor
EXPIRED_STATUS = "4.4.7"  # RFC 3463: delivery time expired


def retry_delay(first: float, cap: float, attempts: int) -> float:
    """Wait after the `attempts`-th failed attempt: first, 2×first, 4×first... at most cap."""
    return min(cap, first * 2 ** min(max(0, attempts - 1), 32))


class QueueRunner:
    def __init__(self, app: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.store = app.store
        self.settings = app.settings
        self.clock = clock
        q = self.settings
        self.lifetime = q.duration("queue", "lifetime")
        self.delay_notice = q.duration("queue", "delay_notice")
        self.first_retry = q.duration("queue", "first_retry")
        self.max_retry = q.duration("queue", "max_retry_interval")
        self.concurrency = max(1, q.queue.concurrency)
        self.srs = srs_for(self.store, self.settings)
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[Any]] = {}
        self._next_due = 0.0
        self._stopping = False
        self.task: asyncio.Task[Any] | None = None

    # -- the loop -------------------------------------------------------------------
    def wake(self) -> None:
        """Something was queued or became due: look now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        if self.task is None or self.task.done():
            self.task = self.app.spawn(self._run(), "queue runner")

    async def stop(self) -> None:
        """Stops claiming, lets deliveries in flight finish (at most STOP_GRACE
        seconds, then cancels them) and ends the loop between store calls."""
        self._stopping = True
        self.wake()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        try:
            async with asyncio.timeout(STOP_GRACE):
                await self.idle()
        except TimeoutError:
            for task in self._inflight.values():
                task.cancel()
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)

    async def _run(self) -> None:
        await self.release_own_claims()
        while not self.app.closing and not self._stopping:
            await self.run_due()
            timeout = POLL_INTERVAL
            if self._next_due:
                timeout = max(0.05, min(timeout, self._next_due - self.clock()))
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def release_own_claims(self) -> None:
        """Items this process had claimed when it stopped (an earlier run under its
        name), and those claimed by a process of this node that the node no longer
        runs (`postbus.node`: `workers` was changed), are due again now; the
        earliest retry of what is queued sets the first wake-up."""
        process, now = self.app.process, self.clock()
        mine = process.name
        holders: set[str] = set()
        for item in await self.store.list_queue():
            holder = item.claimed_by
            released = holder == mine or process.gone(holder)
            if released and item.claimed_until > now and item.id not in self._inflight:
                holders.add(holder)
            if released or item.claimed_until <= now:
                self._next_due = min(self._next_due or item.next_attempt, item.next_attempt)
        if holders:
            count = await self.store.release_queue_claims(sorted(holders))
            log.info("queue: %d items claimed by %s are due again", count, ", ".join(sorted(holders)))

    async def run_due(self) -> int:
        """Claims due items up to the free concurrency and starts delivering them."""
        free = self.concurrency - len(self._inflight)
        if free <= 0 or self._stopping:
            return 0
        now = self.clock()
        # Reset before the await: a delivery finishing meanwhile records a new
        # retry time, which a reset after the claim would wipe out.
        if self._next_due <= now:
            self._next_due = 0.0
        items = await self.store.claim_queue(self.app.process.name, now, LEASE, free)
        for item in items:
            task = self.app.spawn(self._guarded(item), f"queue item {item.id}")
            self._inflight[item.id] = task
        return len(items)

    async def idle(self) -> None:
        """Waits until every delivery in flight has finished (tests, shutdown)."""
        while self._inflight:
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)
            self._inflight = {k: t for k, t in self._inflight.items() if not t.done()}

    async def _guarded(self, item: QueueItem) -> None:
        try:
            await self.process(item)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("queue item %d: delivery attempt failed", item.id)
            retry = self.clock() + retry_delay(self.first_retry, self.max_retry, item.attempts)
            await self.store.update_queue(item.id, item.recipients, next_attempt=retry)
        finally:
            self._inflight.pop(item.id, None)
            self.wake()

    # -- one attempt ----------------------------------------------------------------
    async def process(self, item: QueueItem) -> None:
        """One delivery attempt for the pending recipients of `item`."""
        try:
            raw = await self.store.read_blob(item.blob_id)
        except NotFound:
            log.error("queue item %d: its message %s is missing; dropped", item.id, item.blob_id)
            await self.store.delete_queue_item(item.id)
            return
        pending = [r for r in item.recipients if r.status == "pending"]
        outcomes: dict[str, remote.Outcome] = {}
        if pending:
            message = await self._prepare(item, raw)
            for outcome in await self._deliver(item, pending, message):
                outcomes[outcome.address] = outcome
        await self._record(item, raw, outcomes)

    async def _prepare(self, item: QueueItem, raw: bytes) -> bytes:
        message = dkim.crlf(raw)
        domain, _ = from_domain(message)
        candidates = [domain, item.sender.rpartition("@")[2].lower() if item.sender else ""]
        for name in candidates:
            record = await self.store.get_domain(name) if name else None
            if record is None or not record.dkim_private_key:
                continue
            sign = functools.partial(dkim.sign, message, domain=record.name,
                                     selector=record.dkim_selector,
                                     private_pem=record.dkim_private_key)
            if len(message) <= INLINE_SIGN_LIMIT:
                return sign() + message
            return await self.app.executor.run(CPU, sign) + message
        return message

    async def _deliver(
        self, item: QueueItem, pending: Sequence[QueueRecipient], message: bytes
    ) -> list[remote.Outcome]:
        sender = await self.envelope_sender(item.sender)

        def envelope(recipients: Sequence[QueueRecipient]) -> remote.Envelope:
            return remote.Envelope(sender, recipients, message, item.envid, item.ret)

        if self.settings.relay.host:
            return await remote.deliver_relay(self.settings, envelope(pending))
        by_domain: dict[str, list[QueueRecipient]] = {}
        for rcpt in pending:
            by_domain.setdefault(rcpt.address.rpartition("@")[2].lower(), []).append(rcpt)
        resolver = app_resolver(self.app)
        results = await asyncio.gather(*(
            remote.deliver_domain(self.settings, resolver, domain, envelope(rcpts))
            for domain, rcpts in by_domain.items()))
        return [outcome for group in results for outcome in group]

    async def envelope_sender(self, sender: str) -> str:
        """The MAIL FROM for `sender`: a sender of a domain we do not host (mail
        forwarded by a mailbox or an alias) gets our SRS address, so SPF at the
        target checks our IP against our domain (RFC 7208 §1.1.3). Our own
        senders and the null sender go out unchanged. Rewriting when sending
        (not when queueing) keeps our own reports going straight to the sender."""
        if not sender or self.srs is None:
            return sender
        domain = sender.rpartition("@")[2]
        try:
            hosted = await self.store.get_domain(normalize_domain(domain)) is not None
        except AddressError:
            hosted = False
        return sender if hosted else await self.srs.forward(sender)

    async def _record(self, item: QueueItem, raw: bytes, outcomes: dict[str, remote.Outcome]) -> None:
        now = self.clock()
        expired = now - item.created >= self.lifetime
        recipients: list[QueueRecipient] = []
        failed: list[RecipientStatus] = []
        still: list[RecipientStatus] = []
        for rcpt in item.recipients:
            outcome = outcomes.get(rcpt.address)
            if rcpt.status != "pending" or outcome is None:
                recipients.append(rcpt)
                continue
            status = outcome.status
            code = status_of(outcome.reply, permanent=status == "failed")
            if status == "deferred" and expired:
                status, code = "failed", EXPIRED_STATUS
            log.info("queue item %d: <%s> %s: %s", item.id, rcpt.address, status, outcome.reply)
            metrics.message({"failed": "bounced"}.get(status, status))
            report = RecipientStatus(rcpt.address, "failed" if status == "failed" else "delayed",
                                     code, outcome.reply, outcome.remote_mta, rcpt.orcpt)
            new_status = "pending" if status == "deferred" else status
            recipients.append(dataclasses.replace(rcpt, status=new_status, attempts=rcpt.attempts + 1,
                                                  last_reply=outcome.reply[:500]))
            if status == "failed" and notify_allows(rcpt.notify, "FAILURE"):
                failed.append(report)
            elif status == "deferred" and notify_allows(rcpt.notify, "DELAY"):
                still.append(report)
        retry_until = item.created + self.lifetime
        if failed and item.sender:
            await self.send_report(item.sender, build_dsn(
                hostname=self.settings.hostname, sender=item.sender, original=raw,
                recipients=failed, arrival=item.created, now=now, envid=item.envid, ret=item.ret))
        delay_notified: bool | None = None
        if (still and item.sender and not item.delay_notified
                and now - item.created >= self.delay_notice):
            await self.send_report(item.sender, build_dsn(
                hostname=self.settings.hostname, sender=item.sender, original=raw,
                recipients=still, arrival=item.created, now=now, envid=item.envid,
                ret="HDRS", retry_until=retry_until))
            delay_notified = True
        next_attempt: float | None = None
        if any(r.status == "pending" for r in recipients):
            wait = retry_delay(self.first_retry, self.max_retry, item.attempts)
            next_attempt = max(now, min(now + wait, retry_until))
            self._next_due = min(self._next_due or next_attempt, next_attempt)
        await self.store.update_queue(item.id, recipients, next_attempt=next_attempt,
                                      delay_notified=delay_notified)

    # -- reports ----------------------------------------------------------------------
    async def send_report(self, sender: str, report: bytes) -> None:
        """Delivers a DSN to `sender` with the null reverse-path (RFC 3464 §2, RFC 5321
        §4.5.5): into the Inbox of a local sender and queued for remote targets (an
        alias of the sender's), in one store transaction."""
        route = await Router(self.store, recipient_delimiter=self.settings.delivery.recipient_delimiter
                             ).route(sender)
        inboxes = []
        for account in route.local:
            box = await self.store.get_mailbox(account.id, INBOX)
            if box is not None:
                inboxes.append(box.id)
        queue = Outbound("", tuple(QueueRecipient(a) for a in route.remote)) if route.remote else None
        if not inboxes and queue is None:
            log.warning("delivery report for <%s> dropped: no such address", sender)
            return
        # RFC 5321 §4.4: only a copy for final delivery carries Return-Path, so
        # a report that also goes out has none (one message, one body)
        message = report if queue is not None else b"Return-Path: <>\r\n" + report
        ingested = await ingest_bytes(self.store, message)
        # A report is small and must reach its reader: quota does not stop it.
        stored = await self.store.deliver_message(inboxes, ingested.blob, ingested.parsed,
                                                  queue=queue, check_quota=False)
        if not stored.stored:
            log.warning("delivery report for <%s> dropped: its mailbox vanished", sender)
        if stored.queue_id is not None:
            self.wake()


async def start_queue(app: Any) -> QueueRunner:
    """Registers the runner as app.services["queue"] and starts it; a second call
    returns the running one."""
    runner = app.services.get("queue")
    if not isinstance(runner, QueueRunner):
        runner = QueueRunner(app)
        app.services["queue"] = runner
    runner.start()
    return runner
