"""Who may send what to whom: the MX and submission rules, as functions that raise `Refusal`.

MX (the internet delivers to us, no AUTH): a recipient is accepted only when
its domain is hosted here and it routes to a mailbox, an alias or a
catch-all. The old relay syntaxes are never honoured, so none of them can make
us send mail out of our domains:

- source routes `<@a,@b:user@c>`: parsed and ignored (RFC 5321 §4.1.2 and
  §C); only the final mailbox `user@c` counts;
- `user%other@ourdomain` and `other!user@ourdomain`: refused (RFC 2505 §3.2 lists
  both as relay tricks); a local part with `%` or `!` is never a mailbox here;
- quoted local parts: `"anna"@ourdomain` is the same mailbox as anna (RFC 5321
  §4.1.2), but a quoted part that is not a plain dot-atom (`"user@other"`) is
  refused;
- trailing dots, case and IDN spellings of a domain are normalised
  (`accounts.address`) before we decide whether it is ours;
- address literals (`user@[192.0.2.1]`) are refused.

Submission (AUTH required): any domain is accepted; hosted ones go through
the same routing, so an unknown local user is refused at once. The envelope
sender and every address of the originator fields (From, Sender, Resent-From,
Resent-Sender) must be the user's own address or an alias whose targets
include it (a catch-all does not confer ownership), or either of those with a
plus-address tag (`anna+news@`) when no mailbox or alias has the tagged name
itself. A message with more than
one From, Sender or Date field is refused (RFC 5322 §3.6 allows at most one of
each): a reader sees one From, a DKIM signature covers them all, and which one
a mail client shows is anybody's guess. Those refusals are 550 5.6.0, a defect
of the content (RFC 3463 §3.7), where a foreign address is 553 5.7.1, a matter
of authorisation.

A full mailbox is refused at RCPT with 452 4.2.2 (temporary: the user can make
room; RFC 3463 X.2.2), and again after the data when the message does not fit.
"""

from __future__ import annotations

from postbus.accounts.address import (
    DEFAULT_RECIPIENT_DELIMITER,
    AddressError,
    base_address,
    normalize_address,
    normalize_domain,
)
from postbus.delivery.pipeline import Delivery, Recipient
from postbus.delivery.router import Route
from postbus.message.addresses import parse_address_list
from postbus.message.headers import Field, parse_fields
from postbus.message.limits import MAX_ADDRESS_LIST_CHARS, MAX_HEADER_FIELDS
from postbus.smtp.errors import Refusal
from postbus.smtp.proto import Path, RcptParams, Reply
from postbus.store import Store
from postbus.store.model import Account

RELAY_DENIED = Reply(550, "5.7.1", "Relay access denied: we only accept mail for our domains")
RELAY_SYNTAX = Reply(550, "5.7.1", "Relay access denied: % and ! addressing is not accepted")
ADDRESS_LITERAL = Reply(550, "5.7.1", "Relay access denied: address literals are not accepted")
QUOTED_LOCAL_PART = Reply(553, "5.1.3", "Quoted local part is not a mailbox name here")
BAD_RECIPIENT = Reply(553, "5.1.3", "Bad recipient address")
UNKNOWN_USER = Reply(550, "5.1.1", "No such user here")
SRS_INVALID = Reply(550, "5.1.1", "Invalid or expired SRS address")
ROUTING_LOOP = Reply(550, "5.4.6", "Routing loop detected for this address")
MAILBOX_FULL = Reply(452, "4.2.2", "Mailbox full, try again later")
SENDER_NOT_OWNED = Reply(
    553, "5.7.1", "Sender address rejected: not your address (use your own address or an alias of it)")
FROM_NOT_OWNED = Reply(
    553, "5.7.1", "From header rejected: not your address (use your own address or an alias of it)")
NO_FROM = Reply(553, "5.7.1", "From header missing: the message must say who it is from")
SENDER_HEADER_NOT_OWNED = Reply(
    553, "5.7.1", "Sender header rejected: not your address (use your own address or an alias of it)")
RESENT_NOT_OWNED = Reply(
    553, "5.7.1", "Resent-From/Resent-Sender rejected: not your address")
SENDER_NOT_ONE_MAILBOX = Reply(550, "5.6.0", "Sender header must hold exactly one mailbox (RFC 5322 §3.6.2)")
TOO_MANY_ORIGINATORS = Reply(550, "5.6.0", "Too many addresses in an originator header field")
HEADER_TOO_LARGE = Reply(552, "5.3.4", "Message header too large to check")

#: RFC 5322 §3.6: the fields a message has at most once that say who sent it and
#: when; more than one of these is refused on submission.
SINGLE_FIELDS = ("date", "from", "sender")
#: Fields whose every address must be the user's own (RFC 5322 §3.6.2, §3.6.6).
OWNED_FIELDS = {"from": FROM_NOT_OWNED, "sender": SENDER_HEADER_NOT_OWNED,
                "resent-from": RESENT_NOT_OWNED, "resent-sender": RESENT_NOT_OWNED}
#: Mailboxes read from one originator field; a longer list is refused, not checked in part.
MAX_ORIGINATOR_MAILBOXES = 100


def duplicate_field(name: str) -> Reply:
    canonical = "-".join(part.capitalize() for part in name.split("-"))
    return Reply(550, "5.6.0", f"Message has more than one {canonical} header field (RFC 5322 §3.6)")


def _dot_atom(local: str) -> bool:
    return bool(local) and all(part and '"' not in part and " " not in part and "\\" not in part
                               and "@" not in part for part in local.split("."))


def hosted_local_part(path: Path) -> str:
    """The local part of a recipient in one of our domains, or a Refusal."""
    local = path.local
    if "%" in local or "!" in local:
        raise Refusal(RELAY_SYNTAX)
    if path.quoted and not _dot_atom(local):
        raise Refusal(QUOTED_LOCAL_PART)
    return local


def recipient_domain(path: Path) -> str:
    """The normalised domain of a recipient (source route ignored), or a Refusal."""
    if path.is_address_literal:
        raise Refusal(ADDRESS_LITERAL)
    try:
        return normalize_domain(path.domain)
    except AddressError:
        raise Refusal(BAD_RECIPIENT) from None


def postmaster_address(hostname: str) -> str:
    """RFC 5321 §4.5.1: `<Postmaster>` without a domain goes to postmaster of our parent domain."""
    labels = hostname.split(".")
    domain = ".".join(labels[1:]) if len(labels) > 2 else hostname
    return f"postmaster@{domain}"


async def resolve_recipient(
    delivery: Delivery, path: Path, params: RcptParams, *, submission: bool, hostname: str
) -> Recipient:
    """The accepted recipient with its route; raises Refusal otherwise."""
    if path.is_postmaster:
        address = postmaster_address(hostname)
        domain = address.rpartition("@")[2]
        local = "postmaster"
    else:
        domain = recipient_domain(path)
        local = path.local
        # A bounce to an SRS address of ours goes back to the original sender.
        srs = None if path.quoted else await delivery.srs_route(local, domain)
        if srs is not None:
            if srs.unknown:
                raise Refusal(SRS_INVALID)
            return _recipient(f"{local}@{domain}", srs, params)
    if not await delivery.is_hosted(domain):
        if not submission:
            raise Refusal(RELAY_DENIED)
        # Remote mailbox: the local part is the remote host's business (RFC 5321 §2.4),
        # so it is kept exactly as the user wrote it.
        remote = f"{_quoted_if_needed(path)}@{domain}"
        return _recipient(remote, Route(remote=[remote], hosted=False), params)
    if not path.is_postmaster:
        local = hosted_local_part(path)
    try:
        address = normalize_address(f"{local}@{domain}")
    except AddressError:
        raise Refusal(BAD_RECIPIENT) from None
    route = await delivery.route(address)
    if route.loop:
        raise Refusal(ROUTING_LOOP)
    if route.unknown:
        raise Refusal(UNKNOWN_USER)
    return _recipient(address, route, params)


def _quoted_if_needed(path: Path) -> str:
    return path.address.rpartition("@")[0]


def _recipient(address: str, route: Route, params: RcptParams) -> Recipient:
    orcpt = f"{params.orcpt.addr_type};{params.orcpt.address}" if params.orcpt else ""
    return Recipient(address, route, notify=params.notify, orcpt=orcpt)


def check_room(route: Route, size_hint: int | None) -> None:
    """RCPT-time quota check: refuse an account that is full, or too full for SIZE=."""
    need = size_hint or 0
    for account in route.local:
        if account.quota_bytes and (account.used_bytes >= account.quota_bytes
                                    or account.used_bytes + need > account.quota_bytes):
            raise Refusal(MAILBOX_FULL)


async def owns(store: Store, account: Account, address: str, *,
               recipient_delimiter: str = DEFAULT_RECIPIENT_DELIMITER) -> bool:
    """True when `address` is the account's own address or an alias that points to it,
    or, when no mailbox or alias has that exact name, one of those with a plus-address
    tag (`anna+news@`): the names that route to the account, as the router reads them."""
    try:
        normalized = normalize_address(address)
    except AddressError:
        return False
    if await _owns_exactly(store, account, normalized):
        return True
    base = base_address(normalized, recipient_delimiter)
    if base is None or await store.get_account(normalized) is not None \
            or await store.get_alias(normalized) is not None:
        return False  # an exact mailbox or alias of the tagged name wins, as in routing
    return await _owns_exactly(store, account, base)


async def _owns_exactly(store: Store, account: Account, normalized: str) -> bool:
    if normalized == account.address:
        return True
    alias = await store.get_alias(normalized)
    return alias is not None and account.address in alias.targets


async def check_sender(store: Store, account: Account, path: Path | None, *,
                       recipient_delimiter: str = DEFAULT_RECIPIENT_DELIMITER) -> str:
    """Submission MAIL FROM: the user's own address or alias; returns it as sent."""
    if path is None or not await owns(store, account, path.address,
                                      recipient_delimiter=recipient_delimiter):
        raise Refusal(SENDER_NOT_OWNED)
    return path.address


def originator_addresses(value: str) -> list[str]:
    """The mailboxes of one From/Sender/Resent-* value (group markers skipped),
    or a Refusal when there are too many to check them all."""
    if len(value) > MAX_ADDRESS_LIST_CHARS:
        raise Refusal(TOO_MANY_ORIGINATORS)
    found = parse_address_list(value, limit=MAX_ORIGINATOR_MAILBOXES + 1)
    if len(found) > MAX_ORIGINATOR_MAILBOXES:
        raise Refusal(TOO_MANY_ORIGINATORS)
    return [f"{mailbox}@{host}" for _name, _adl, mailbox, host in found
            if mailbox is not None and host is not None]


def check_header_shape(fields: list[Field]) -> dict[str, list[list[str]]]:
    """RFC 5322 §3.6 counts and the originator addresses by field name (lowercase)."""
    if len(fields) >= MAX_HEADER_FIELDS:
        raise Refusal(HEADER_TOO_LARGE)  # the field parser stops there: nothing may hide
    counts: dict[str, int] = {}
    originators: dict[str, list[list[str]]] = {}
    for name, value in fields:
        key = name.lower()
        counts[key] = counts.get(key, 0) + 1
        if key in SINGLE_FIELDS and counts[key] > 1:
            raise Refusal(duplicate_field(key))
        if key in OWNED_FIELDS:
            originators.setdefault(key, []).append(originator_addresses(value))
    if not originators.get("from", [[]])[0]:
        raise Refusal(NO_FROM)
    sender = originators.get("sender")
    if sender is not None and len(sender[0]) != 1:
        raise Refusal(SENDER_NOT_ONE_MAILBOX)  # sender = "Sender:" mailbox CRLF
    return originators


async def check_header(store: Store, account: Account, header: bytes, *,
                       recipient_delimiter: str = DEFAULT_RECIPIENT_DELIMITER) -> None:
    """Submission: one From, Sender and Date at most, each originator address the user's own."""
    originators = check_header_shape(parse_fields(header, 0, len(header)))
    for key, lists in originators.items():
        for addresses in lists:
            for address in addresses:
                if not await owns(store, account, address,
                                  recipient_delimiter=recipient_delimiter):
                    raise Refusal(OWNED_FIELDS[key])
