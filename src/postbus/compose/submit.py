"""In-process submission: the webmail hands a built message to the same
delivery pipeline SMTP submission uses, under the same rules (DESIGN.md):

- the envelope sender and the From address must be addresses the account owns
  (`accounts.ownership.owns`, the rule of `smtp.policy.check_sender` and
  `check_header`), checked here on the server whatever the form said;
- a recipient in a hosted domain must route somewhere (an unknown user is
  refused, as RCPT TO is with 550 5.1.1), with the relay tricks `%` and `!`
  refused (RFC 2505 §3.2); other domains go to the outbound queue;
- the message as built is at most `max_message_size` octets (SMTP SIZE);
- the envelope names the account as its submitter, so the pipeline takes the
  same sending limits as for SMTP submission (`Envelope.submitter`);
- `Delivery.deliver` stores it in every local Inbox and the queue in one
  transaction, or refuses having stored nothing (a full mailbox is temporary).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from postbus.accounts.address import AddressError, normalize_address, normalize_domain
from postbus.accounts.ownership import owns
from postbus.compose.errors import ComposeRefused
from postbus.compose.recipients import Addressee
from postbus.delivery.pipeline import (
    Delivery,
    DeliveryRefused,
    Envelope,
    Outcome,
    Recipient,
)
from postbus.delivery.router import Route
from postbus.delivery.trace import ClientInfo
from postbus.store.model import Account

if TYPE_CHECKING:
    from postbus.app import App


def delivery_of(app: App) -> Delivery:
    """The app's shared delivery pipeline (the one SMTP uses), made on first use."""
    existing = app.services.get("delivery")
    if isinstance(existing, Delivery):
        return existing
    made = Delivery(app)
    app.services["delivery"] = made
    return made


async def check_from(app: App, account: Account, address: str) -> None:
    if not await owns(app.store, account, address,
                      recipient_delimiter=app.settings.delivery.recipient_delimiter):
        raise ComposeRefused("from", address)


async def resolve(delivery: Delivery, addressee: Addressee) -> Recipient:
    """The recipient with its route, as `smtp.policy.resolve_recipient` decides it."""
    local, _, domain = addressee.address.rpartition("@")
    try:
        domain = normalize_domain(domain)
    except AddressError:
        raise ComposeRefused("recipient", addressee.address) from None
    if not await delivery.is_hosted(domain):
        remote = f"{local}@{domain}"  # the local part is the remote host's business
        return Recipient(remote, Route(remote=[remote], hosted=False))
    if "%" in local or "!" in local:
        raise ComposeRefused("recipient", addressee.address)
    try:
        address = normalize_address(f"{local}@{domain}")
    except AddressError:
        raise ComposeRefused("recipient", addressee.address) from None
    route = await delivery.route(address)
    if route.unknown:
        raise ComposeRefused("recipient", addressee.address)
    return Recipient(address, route)


async def submit(app: App, account: Account, sender: str, recipients: Sequence[Addressee],
                 raw: bytes) -> Outcome:
    """Delivers `raw` (already built, without Bcc) from `sender` to `recipients`."""
    await check_from(app, account, sender)
    if not recipients:
        raise ComposeRefused("no_recipient")
    if len(raw) > app.settings.max_message_size:
        raise ComposeRefused("too_big", str(app.settings.max_message_size))
    delivery = delivery_of(app)
    resolved = [await resolve(delivery, r) for r in recipients]
    envelope = Envelope(sender, resolved, client=ClientInfo(ip="", via="HTTP", authenticated=True),
                        submitter=account.address)  # the sending limits of SMTP submission
    try:
        return await delivery.deliver_bytes(envelope, raw)
    except DeliveryRefused as exc:
        if exc.enhanced.startswith("4.2."):
            raise ComposeRefused("mailbox_full", exc.text) from None
        if exc.enhanced[1:4] == ".7.":  # RFC 3463 X.7.1: over a sending limit, or blocked
            raise ComposeRefused("sending_limit", exc.text) from None
        raise ComposeRefused("temporary" if exc.temporary else "recipient", exc.text) from None
