"""The records the store hands out and takes in.

Plain frozen dataclasses, shared by every backend. Addresses and domain names
are stored normalised (lowercase, IDNA A-labels): `postbus.accounts.address`
does that before anything reaches the store. Mailbox names are Unicode with
"/" as the hierarchy delimiter, stored verbatim: the store keeps no naming
rules ("inbox" and "INBOX" are two names to it); the mailbox service decides
what a name may be and how INBOX is spelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DELIMITER = "/"
INBOX = "INBOX"

# IMAP special-use roles (RFC 6154) created for every new mailbox user, with
# the folder names a fresh account gets.
SPECIAL_USE_FOLDERS: tuple[tuple[str, str | None], ...] = (
    (INBOX, None),
    ("Sent", "\\Sent"),
    ("Drafts", "\\Drafts"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
)


def exceeds_quota(quota_bytes: int, used_bytes: int, adding: int) -> bool:
    """Whether adding `adding` octets to an account using `used_bytes` passes its
    quota; a quota of 0 means none. Both backends call this inside the
    transaction that adds the octets, so the check is atomic with the insert."""
    return quota_bytes > 0 and used_bytes + adding > quota_bytes


@dataclass(frozen=True, slots=True)
class Domain:
    id: int
    name: str  # IDNA A-label form, lowercase
    dkim_selector: str = ""
    dkim_private_key: str = ""  # PEM, empty when the domain has no key yet


@dataclass(frozen=True, slots=True)
class Account:
    """A mailbox user: one address, one password, one quota over all folders."""

    id: int
    address: str  # normalised local@domain
    domain_id: int
    password_hash: str
    quota_bytes: int  # 0 means unlimited
    enabled: bool
    used_bytes: int
    used_messages: int
    # Unix time of the last successful login by any protocol, None when never;
    # written at most every `accounts.service.LAST_LOGIN_INTERVAL` seconds.
    last_login: float | None = None


@dataclass(frozen=True, slots=True)
class Alias:
    source: str  # a full address, or "@domain" for a catch-all
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Admin:
    id: int
    name: str
    password_hash: str
    operator: bool
    domains: tuple[str, ...]  # for a domain administrator; empty for an operator


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A folder. `uid_next` and `highest_modseq` are as of the read."""

    id: int
    account_id: int
    name: str
    special_use: str | None
    uid_validity: int
    uid_next: int
    highest_modseq: int
    #: RFC 8474 MAILBOXID: the UIDVALIDITY the folder was created with, unique in the
    #: store (one counter gives them all) and kept across RENAME.
    object_id: int = 0


@dataclass(frozen=True, slots=True)
class MailboxStatus:
    """Counts for STATUS and SELECT, read from the folder row in one point read:
    the backends keep them in the same transaction as every change."""

    mailbox: Mailbox
    messages: int
    unseen: int  # messages without \Seen
    size: int  # octets of all messages
    deleted: int  # messages with \Deleted
    deleted_size: int  # octets of the \Deleted messages (RFC 9208 DELETED-STORAGE)


@dataclass(frozen=True, slots=True)
class MessageEntry:
    """One message in one folder, without its parsed record: what a selected
    view keeps in memory (a few dozen bytes per message)."""

    uid: int
    flags: frozenset[str]
    modseq: int


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """One message in one folder with what FETCH needs besides the body."""

    uid: int
    flags: frozenset[str]
    modseq: int
    size: int
    internal_date: float  # seconds since the epoch, UTC
    blob_id: str
    meta: bytes  # the parse-once record, encoded by postbus.message
    #: When the message was saved in this folder (RFC 8514), seconds since the epoch;
    #: None for messages stored before the store kept it.
    saved: float | None = None


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed in a folder since a mod-sequence (RFC 7162 view)."""

    highest_modseq: int
    changed: tuple[MessageEntry, ...]
    expunged: tuple[int, ...]  # UIDs, ascending


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A message body handed to the blob store. Bodies over the inline limit
    are durable files when this is returned; small bodies become durable in the
    same transaction as the first append, deliver or enqueue that references
    them (see store/blobs.py), so a crash before that loses only bytes that
    nothing refers to."""

    id: str  # lowercase hex SHA-256 of the bytes
    size: int


@dataclass(frozen=True, slots=True)
class MessageKeys:
    """What SORT and SEARCH compare, kept beside the parse-once record so that a
    command over a large folder is one query (the store compares, not Python).

    Made by the mailbox service (`mailbox/keys.py`), which alone knows the rules;
    `version` names the rules that made them. The store only stores and compares:
    search strings by substring (they are already case-folded), sort strings by
    code point, days as proleptic Gregorian ordinals."""

    version: int
    subject: str  # the decoded, folded Subject that SEARCH SUBJECT matches
    from_: str  # the folded address texts that SEARCH FROM/TO/CC/BCC match
    to: str
    cc: str
    bcc: str
    sort_subject: str  # RFC 5256 sort keys, compared by code point
    sort_from: str
    sort_to: str
    sort_cc: str
    sort_display_from: str
    sort_display_to: str
    sort_date: float | None  # the Date header as UTC seconds; None: none or unparsable
    sent_day: int | None  # the date SENTBEFORE/SENTON/SENTSINCE compare; None: no usable Date


@dataclass(frozen=True, slots=True)
class Parsed:
    """What the parse-once step gives the store for a message."""

    meta: bytes  # opaque to the store
    header_text: str  # decoded header fields, for the search index
    body_text: str  # decoded text parts, for the search index
    keys: MessageKeys | None = None  # stored beside the record when given


@dataclass(frozen=True, slots=True)
class Appended:
    mailbox_id: int
    uid_validity: int
    uid: int
    modseq: int


@dataclass(frozen=True, slots=True)
class QueueRecipient:
    address: str
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    last_reply: str = ""
    notify: str = ""  # RFC 3461 NOTIFY, e.g. "FAILURE,DELAY"
    orcpt: str = ""


@dataclass(frozen=True, slots=True)
class QueueItem:
    id: int
    sender: str  # "" for the null reverse-path
    blob_id: str
    size: int
    created: float
    next_attempt: float
    attempts: int
    recipients: tuple[QueueRecipient, ...]
    envid: str = ""
    ret: str = ""
    delay_notified: bool = False
    claimed_by: str = ""
    claimed_until: float = 0.0


@dataclass(frozen=True, slots=True)
class Outbound:
    """The queue item to create for the remote recipients of one message
    (`Store.deliver_message`): its envelope sender and RFC 3461 parameters."""

    sender: str  # "" for the null reverse-path
    recipients: tuple[QueueRecipient, ...]
    envid: str = ""
    ret: str = ""


@dataclass(frozen=True, slots=True)
class Delivered:
    """What `Store.deliver_message` stored for one message, all in one transaction."""

    local: tuple[Appended | Exception, ...]  # one per folder asked for: Appended, or NotFound
    queue_id: int | None  # the queue item; None without `queue`, or when nothing was stored

    @property
    def stored(self) -> bool:
        """False when the message is stored nowhere (every folder was gone, no queue item)."""
        return self.queue_id is not None or any(isinstance(r, Appended) for r in self.local)


@dataclass(frozen=True, slots=True)
class Change:
    """A change event: folder `mailbox_id` of `account_id` is now at `modseq`.

    Subscribers ask the store what changed (`changes_since`); the event only
    says where to look, so it can cross nodes as a few bytes."""

    account_id: int
    mailbox_id: int
    modseq: int
    kind: str = "messages"  # messages | mailboxes (folder list changed) | subscriptions


@dataclass(frozen=True, slots=True)
class StoreStats:
    blobs: int
    messages: int
    extra: dict[str, int] = field(default_factory=dict)


# -- webmail sessions (issue 13, web/webmail) ----------------------------------------------

@dataclass(frozen=True, slots=True)
class WebSession:
    """A webmail login. `id_hash` is the SHA-256 (hex) of the id in the cookie;
    `csrf_token` is the synchroniser token every state-changing request carries."""

    id_hash: str
    account_id: int
    csrf_token: str
    language: str  # "" until the user picks one: the browser's Accept-Language decides
    created: float  # seconds since the epoch
    last_seen: float
