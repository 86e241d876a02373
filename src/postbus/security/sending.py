"""Sending limits: how much one mailbox, and one domain, may submit.

A cracked mailbox is used to send spam, and spam from our addresses gets the
whole service blocklisted. Every submission (SMTP submission, and the webmail,
which submits through the same pipeline in-process) is counted in the store
before it is stored or queued (`Delivery.deliver` with `Envelope.submitter`):

- per mailbox and per domain, messages and recipients, per clock hour and per
  UTC day (`security.mailbox_*` and `security.domain_*`; 0 is no limit). The
  defaults fit a person, not a mailing list: 100 messages and 300 recipients an
  hour, 200 messages and 1,000 recipients a day per mailbox; a domain may send
  20 times that much an hour and 50 times a day in total. Windows are aligned
  (an hour from hh:00, a day from 00:00 UTC), so a burst across the boundary
  can reach twice a limit at most once.
- A submission past a limit is refused as a whole, with nothing counted nor
  stored: SMTP 451 4.7.1 with the limit and when it resets. So at most the
  limit ever reaches the queue, however fast the client, and however many
  worker processes or nodes serve it (the count is one store transaction).
- The first refusal for a limit in its window is announced by mail (`Notice`)
  to the domain's postmaster, the operators' `notify` addresses and any
  administrators whose names are addresses,
  and to `security.notify`; with none of those, to postmaster@ the mailbox's
  domain. It is logged at WARNING in any case.
- `security.block_after` refusals within a day block the mailbox from sending
  (SMTP 550 5.7.1 at MAIL FROM) until an administrator lifts the block
  (`postbus user unblock ADDRESS`); the block is announced the same way.
"""

from __future__ import annotations

import email.policy
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

from postbus.store.security import SendingBlock, SendLimit, window_start

if TYPE_CHECKING:
    from postbus.config import Settings
    from postbus.store import Store

log = logging.getLogger("postbus.security")

HOUR = 3600
DAY = 86400
#: Refusals of one mailbox that count towards a block are those of the last day.
BLOCK_WINDOW = float(DAY)
#: Mailboxes this process remembers as over a limit (to refuse at MAIL FROM).
MAX_REMEMBERED_OVER = 10_000


class SendingRefused(Exception):
    """The submission is refused; `enhanced` is the RFC 3463 code (4.7.1 or 5.7.1)."""

    def __init__(self, enhanced: str, text: str, notices: Sequence[Notice] = ()) -> None:
        super().__init__(f"{enhanced} {text}")
        self.enhanced = enhanced
        self.text = text
        self.notices = tuple(notices)  # to send to the administrators (by the pipeline)


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for the administrators: `recipients` get `subject` and `body`."""

    domain: str
    subject: str
    body: str


def _period_name(period: int) -> str:
    return "hour" if period == HOUR else "day"


def _scope_name(scope: str) -> str:
    kind, _, name = scope.partition(":")
    return f"the mailbox {name}" if kind == "mailbox" else f"the domain {name}"


class SendingLimits:
    def __init__(self, store: Store, settings: Settings, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self._clock = clock
        self._over: dict[str, float] = {}  # address -> end of the window that refused it

    def limits_for(self, address: str) -> list[SendLimit]:
        sec = self.settings.security
        domain = address.rpartition("@")[2]
        return [
            SendLimit(f"mailbox:{address}", HOUR, sec.mailbox_messages_per_hour,
                      sec.mailbox_recipients_per_hour),
            SendLimit(f"mailbox:{address}", DAY, sec.mailbox_messages_per_day,
                      sec.mailbox_recipients_per_day),
            SendLimit(f"domain:{domain}", HOUR, sec.domain_messages_per_hour,
                      sec.domain_recipients_per_hour),
            SendLimit(f"domain:{domain}", DAY, sec.domain_messages_per_day,
                      sec.domain_recipients_per_day),
        ]

    async def check(self, address: str) -> None:
        """Before a transaction (SMTP MAIL FROM): refuses a blocked mailbox, and one
        this process saw over a limit whose window has not ended (counted as a refusal).

        Raises `SendingRefused`, with the notices to send when this refusal blocks."""
        if await self.store.get_sending_block(address) is not None:
            raise SendingRefused("5.7.1", "Sending from this mailbox is blocked: too much mail"
                                 " was sent from it. Ask your administrator to lift the block")
        until = self._over.get(address)
        if until is not None and until > self._clock():
            notices = await self._refused(address, None)
            raise SendingRefused("4.7.1", self._over_text(until), notices)
        self._over.pop(address, None)

    async def take(self, address: str, recipients: int) -> None:
        """Counts one submission from `address` with `recipients` recipients, or
        raises `SendingRefused` (with the notices to send) having counted nothing."""
        if await self.store.get_sending_block(address) is not None:
            raise SendingRefused("5.7.1", "Sending from this mailbox is blocked: too much mail"
                                 " was sent from it. Ask your administrator to lift the block")
        now = self._clock()
        refused = await self.store.take_sending(self.limits_for(address), recipients, now)
        if refused is None:
            return
        until = window_start(now, refused.period) + refused.period
        self._over[address] = until
        if len(self._over) > MAX_REMEMBERED_OVER:
            self._over.pop(next(iter(self._over)))
        notices = await self._refused(address, refused)
        raise SendingRefused("4.7.1", self._over_text(until, refused), notices)

    def _over_text(self, until: float, limit: SendLimit | None = None) -> str:
        end = time.strftime("%H:%M UTC", time.gmtime(until))
        what = "" if limit is None else (
            f" of {_scope_name(limit.scope)} per {_period_name(limit.period)}"
            f" ({limit.messages} messages, {limit.recipients} recipients)")
        return f"Sending limit{what} reached, try again after {end}"

    async def _refused(self, address: str, limit: SendLimit | None) -> list[Notice]:
        """Counts a refusal; the notices it calls for (first in its window, or the block)."""
        now = self._clock()
        domain = address.rpartition("@")[2]
        notices = []
        if limit is not None:
            log.warning("sending limit reached user=%s scope=%s period=%s", address,
                        limit.scope, _period_name(limit.period))
            first, = await self.store.count_events([f"sendnotice:{limit.scope}|{limit.period}"],
                                                   float(limit.period), now)
            if first == 1:
                notices.append(Notice(domain, f"Sending limit reached by {_scope_name(limit.scope)}",
                                      self._limit_body(address, limit)))
        block_after = self.settings.security.block_after
        count, = await self.store.count_events([f"sendrefused:{address}"], BLOCK_WINDOW, now)
        if block_after > 0 and count >= block_after:
            reason = f"{count} submissions refused for sending limits within a day"
            if await self.store.block_sending(address, reason, now):  # once, whoever races
                log.warning("sending blocked user=%s reason=%s", address, reason)
                notices.append(Notice(domain, f"Mailbox {address} blocked from sending",
                                      self._block_body(address, reason)))
        return notices

    def _limit_body(self, address: str, limit: SendLimit) -> str:
        return (
            f"{_scope_name(limit.scope).capitalize()} reached its sending limit of"
            f" {limit.messages} messages and {limit.recipients} recipients per"
            f" {_period_name(limit.period)}.\n\nThe last submission came from {address};"
            " further submissions are refused until the period ends. If this mailbox did not"
            " mean to send this much, its password may be known to someone else: change it.\n"
            f"After {self.settings.security.block_after} refused submissions within a day the"
            " mailbox is blocked from sending until an administrator lifts the block"
            f" (postbus user unblock {address}).\n")

    def _block_body(self, address: str, reason: str) -> str:
        return (f"The mailbox {address} is blocked from sending: {reason}.\n\n"
                "Its password may be known to someone else: change it, then lift the block"
                f" with: postbus user unblock {address}\n")

    # -- administration ------------------------------------------------------------------
    async def unblock(self, address: str) -> bool:
        self._over.pop(address, None)
        lifted = await self.store.unblock_sending(address)
        if lifted:
            await self.store.clear_events([f"sendrefused:{address}"])
            log.warning("sending block lifted user=%s", address)
        return lifted

    async def blocked(self) -> list[SendingBlock]:
        return await self.store.list_sending_blocks()

    async def notice_recipients(self, domain: str) -> list[str]:
        """Who is told: the domain's postmaster (RFC 5321 §4.5.1: every domain has
        one; the customer's webmaster reads it, as an alias or a mailbox), and the
        operators at security.notify; also administrators named by an address (names
        given before administrator names became plain words)."""
        targets = [f"postmaster@{domain}"]
        targets += [t for t in self.settings.security.notify if t not in targets]
        targets += [a.name for a in await self.store.list_admins()
                    if "@" in a.name and (a.operator or domain in a.domains)
                    and a.name not in targets]
        return targets

    def notice_message(self, notice: Notice, recipients: list[str]) -> bytes:
        msg = EmailMessage()
        hostname = self.settings.hostname
        msg["From"] = f"Postbus <postmaster@{hostname}>"
        msg["To"] = ", ".join(recipients)
        msg["Subject"] = notice.subject
        msg["Date"] = formatdate(self._clock(), usegmt=True)
        msg["Message-ID"] = make_msgid(domain=hostname)
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5: no auto-replies to it
        msg.set_content(notice.body)
        return msg.as_bytes(policy=email.policy.SMTP)
