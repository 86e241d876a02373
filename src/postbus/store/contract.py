"""The store contract: what every front end may ask of the store.

Two backends implement it (`store.sqlite` and `store.postgres`) and one contract
suite (`tests/contract`) runs against both. Invariants every backend keeps:

- A call that returns has committed durably: an `append`, `deliver` or
  `deliver_message` that returned survives a crash of the process or the
  machine, and its body blob was written and flushed before the metadata
  that references it.
- UIDs in a folder only grow and are never given twice, whichever node or task
  appends; `uid_validity` is fixed for the life of a folder name.
- Every change to a folder's messages (append, flags, expunge) takes a new
  mod-sequence from that folder's counter (RFC 7162) and records expunged UIDs
  with it, so that `changes_since` can answer any session.
- Quota (`used_bytes`, `used_messages`) is the sum over all folders of the
  account, Trash included, updated in the same transaction as the change;
  the comparison is `model.exceeds_quota`, made inside that transaction.
- Each folder row carries its counters (messages, unseen, size, deleted,
  deleted_size), updated in the same transaction as every change to its
  messages (`store.counters`), so `mailbox_status` is one point read.
- After each commit the backend publishes a `Change` on its `ChangeHub`.
- A write given `audit=` appends that entry to the audit log in the same
  transaction as its change: both commit, or neither (a refused change writes
  no entry).

Short point reads may run on the event loop; anything that can wait on disk
or the network is awaited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from postbus.store.admin_model import AdminSession, ApiToken, AuditEntry
from postbus.store.events import ChangeHub
from postbus.store.model import (
    Account,
    Admin,
    Alias,
    Appended,
    BlobRef,
    Changes,
    Delivered,
    Domain,
    Mailbox,
    MailboxStatus,
    MessageEntry,
    MessageInfo,
    MessageKeys,
    Outbound,
    Parsed,
    QueueItem,
    QueueRecipient,
    WebSession,
)
from postbus.store.security import Ban, SendingBlock, SendLimit
from postbus.store.userdata import Contact, NewContact, WrittenTo


class BlobWriter(Protocol):
    """Receives a message body in chunks; nothing is visible until `finish`."""

    def write(self, chunk: bytes) -> None: ...

    async def finish(self) -> BlobRef: ...

    def abort(self) -> None: ...


class Store(Protocol):
    changes: ChangeHub

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    # -- domains --------------------------------------------------------------
    async def add_domain(
        self, name: str, *, dkim_selector: str = "", dkim_private_key: str = "",
        audit: AuditEntry | None = None,
    ) -> Domain: ...

    async def get_domain(self, name: str) -> Domain | None: ...

    async def list_domains(self) -> list[Domain]: ...

    async def remove_domain(self, name: str, *, audit: AuditEntry | None = None) -> None:
        """Removes the domain with its accounts (their folders, messages and
        subscriptions) and its aliases."""

    # -- accounts -------------------------------------------------------------
    async def add_account(
        self, address: str, password_hash: str, *, quota_bytes: int, enabled: bool = True,
        audit: AuditEntry | None = None,
    ) -> Account:
        """Creates the account and its special-use folders (INBOX, Sent, Drafts,
        Trash, Junk, Archive: `model.SPECIAL_USE_FOLDERS`), each subscribed."""

    async def get_account(self, address: str) -> Account | None: ...

    async def get_account_by_id(self, account_id: int) -> Account | None: ...

    async def list_accounts(self, domain: str | None = None) -> list[Account]: ...

    async def remove_account(self, address: str, *, audit: AuditEntry | None = None) -> None:
        """Removes the account with its folders, messages and subscriptions."""

    async def update_account(
        self,
        address: str,
        *,
        password_hash: str | None = None,
        quota_bytes: int | None = None,
        enabled: bool | None = None,
        audit: AuditEntry | None = None,
    ) -> Account: ...

    async def record_login(self, account_id: int, at: float) -> None:
        """Sets the account's `last_login` to `at` unless it is later already (two
        nodes may record out of order); a removed account is no error."""

    # -- aliases --------------------------------------------------------------
    async def set_alias(self, source: str, targets: Sequence[str], *,
                        audit: AuditEntry | None = None) -> Alias:
        """Creates or replaces the alias `source` (an address or "@domain")."""

    async def get_alias(self, source: str) -> Alias | None: ...

    async def list_aliases(self, domain: str | None = None) -> list[Alias]: ...

    async def remove_alias(self, source: str, *, audit: AuditEntry | None = None) -> None: ...

    # -- administrators -------------------------------------------------------
    async def add_admin(
        self, name: str, password_hash: str, *, operator: bool, domains: Sequence[str] = (),
        audit: AuditEntry | None = None,
    ) -> Admin: ...

    async def get_admin(self, name: str) -> Admin | None: ...

    async def list_admins(self) -> list[Admin]: ...

    async def remove_admin(self, name: str, *, audit: AuditEntry | None = None) -> None: ...

    async def update_admin(self, name: str, *, password_hash: str,
                           audit: AuditEntry | None = None) -> Admin: ...

    # -- settings (small key/value records: tokens, per-user preferences) -----
    async def get_setting(self, key: str) -> str | None: ...

    async def set_setting(self, key: str, value: str | None, *,
                          audit: AuditEntry | None = None) -> None: ...

    # -- administration (issue 14): audit log, API tokens, TOTP, suspension ---
    async def append_audit(self, entry: AuditEntry) -> int:
        """Stores the entry (its `id` is ignored); returns the id it got."""

    async def list_audit(
        self, *, domains: Sequence[str] | None, before: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Newest first: at most `limit` entries with an id below `before` (when
        given), of the given domains only (None: every entry, "" included)."""

    async def add_api_token(self, admin: str, digest: str, *, label: str, created: float,
                            audit: Callable[[ApiToken], AuditEntry] | None = None) -> ApiToken:
        """NotFound without the administrator. Removing the administrator removes its
        tokens. `audit` makes the entry from the new token (it names the id), which is
        appended in the same transaction."""

    async def find_api_token(self, digest: str) -> ApiToken | None: ...

    async def list_api_tokens(self, admin: str) -> list[ApiToken]: ...

    async def remove_api_token(self, admin: str, token_id: int, *,
                               audit: AuditEntry | None = None) -> None:
        """NotFound unless the administrator has that token."""

    async def set_totp_secret(self, admin: str, secret: str | None, *,
                              audit: AuditEntry | None = None) -> None:
        """Sets (and resets the last step of) or removes the RFC 6238 secret; NotFound
        without the administrator."""

    async def get_totp_secret(self, admin: str) -> str | None: ...

    async def claim_totp_step(self, admin: str, step: int) -> bool:
        """Records `step` as used when it is later than the last one used, atomically:
        True once per step, so a code cannot be replayed (RFC 6238 §5.2)."""

    async def set_domain_suspended(self, name: str, suspended: bool, *,
                                   audit: AuditEntry | None = None) -> None:
        """NotFound without the domain; idempotent otherwise."""

    async def list_suspended_domains(self) -> list[str]:
        """The names of the suspended domains, sorted."""

    async def create_admin_session(self, admin: str, id_hash: str, csrf_token: str,
                                   now: float) -> AdminSession:
        """NotFound without the administrator; removing them removes their sessions."""

    async def get_admin_session(self, id_hash: str) -> AdminSession | None: ...

    async def touch_admin_session(self, id_hash: str, now: float) -> None: ...

    async def delete_admin_session(self, id_hash: str) -> None:
        """Idempotent."""

    # -- vacation auto-replies (issue 14: delivery/vacation.py) ---------------
    async def claim_vacation_reply(
        self, account_id: int, sender: str, now: float, interval: float
    ) -> bool:
        """True, having recorded a reply to `sender` at `now`, when the account
        has not replied to that sender in the last `interval` seconds; False
        otherwise, recording nothing. Atomic: of concurrent claims (on any node)
        exactly one wins. The account's records older than `interval` go."""

    async def clear_vacation_replies(self, account_id: int) -> None:
        """Forgets whom the account has replied to (its vacation rule changed)."""

    # -- folders --------------------------------------------------------------
    # Names are stored verbatim: the backends keep no naming rules (no INBOX
    # case folding, no name checks, no protected folders); the mailbox service
    # decides what is allowed before it calls these.
    async def list_mailboxes(self, account_id: int) -> list[Mailbox]: ...

    async def get_mailbox(self, account_id: int, name: str) -> Mailbox | None:
        """A point read of the folder row."""

    async def get_mailbox_by_id(self, mailbox_id: int) -> Mailbox | None:
        """A point read of the folder row."""

    async def create_mailbox(
        self, account_id: int, name: str, *, special_use: str | None = None
    ) -> Mailbox:
        """Creates the folder (AlreadyExists if the name is taken); subscribes nothing."""

    async def delete_mailbox(self, account_id: int, name: str) -> None:
        """Deletes the folder and its messages (quota freed); its children and
        any subscription to the name stay. NotFound if there is no such folder."""

    async def rename_mailbox(self, account_id: int, old: str, new: str) -> None:
        """Renames the folder and each child (names starting with old + "/"); each
        gets a new UIDVALIDITY. AlreadyExists if any target name exists, NotFound
        if `old` does not. Subscriptions stay with the old names."""

    async def mailbox_status(self, mailbox_id: int) -> MailboxStatus:
        """The folder row with its counters: one point read, whatever the folder's size."""

    async def find_mailbox_status(self, account_id: int, name: str) -> MailboxStatus | None:
        """The folder `name` with its counters, in one point read (STATUS asks this
        of a folder by name); None when the account has no such folder."""

    # -- \Recent (RFC 3501 §2.3.2) ---------------------------------------------
    # Each folder keeps a boundary: messages with a UID above it are new to every
    # session. A session claims them by moving it, atomically, so that exactly one
    # session (on any node) sees each new message as \Recent.
    async def claim_recent(self, mailbox_id: int, *, claim: bool = True) -> tuple[int, int]:
        """``(boundary, upper)``: the UIDs in ``(boundary, upper]`` are \\Recent for
        the caller, ``upper`` being ``uid_next - 1``. With `claim` the boundary
        moves to ``upper`` in the same statement (no other caller gets them);
        without, nothing changes (EXAMINE, RFC 3501 §6.3.2). NotFound without the folder."""

    async def recent_count(self, mailbox_id: int) -> int:
        """How many of the folder's messages no session has claimed (STATUS RECENT)."""

    # -- subscriptions (RFC 3501 §6.3.6/§6.3.9, RFC 5258 §3) -----------------
    # Per-user state of their own: a subscription names a folder that may or may
    # not exist; removed only by the user (or with the account).
    async def list_subscriptions(self, account_id: int) -> list[str]:
        """The subscribed names, sorted by code point."""

    async def set_subscribed(self, account_id: int, name: str, subscribed: bool) -> None:
        """Idempotent; no existence check (subscribing a name without a folder is allowed)."""

    # -- blobs ----------------------------------------------------------------
    def blob_writer(self) -> BlobWriter: ...

    async def put_blob(self, data: bytes) -> BlobRef: ...

    async def read_blob(self, blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        """The bytes [offset, offset+length) of a body; length -1 reads to the end."""

    # -- messages -------------------------------------------------------------
    async def append(
        self,
        mailbox_id: int,
        blob: BlobRef,
        parsed: Parsed,
        *,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
        check_quota: bool = True,
    ) -> Appended:
        """Adds one message. Raises OverQuota when the account's quota would be passed."""

    async def deliver(
        self,
        mailbox_ids: Sequence[int],
        blob: BlobRef,
        parsed: Parsed,
        *,
        internal_date: float | None = None,
        check_quota: bool = True,
    ) -> list[Appended | Exception]:
        """Adds one message to several folders (usually several Inboxes) durably.
        Each folder succeeds or fails on its own (OverQuota, NotFound); the result
        has one entry per folder, in order."""

    async def deliver_message(
        self,
        mailbox_ids: Sequence[int],
        blob: BlobRef,
        parsed: Parsed,
        *,
        queue: Outbound | None = None,
        internal_date: float | None = None,
        check_quota: bool = True,
    ) -> Delivered:
        """Stores one message for all its recipients in one transaction: a copy
        in each folder of `mailbox_ids` (usually Inboxes of distinct accounts)
        and, when given, the queue item `queue` for its remote recipients,
        due now. Either all of it commits or none of it does.

        A folder that no longer exists is skipped and reported as NotFound at
        its place in `Delivered.local`; the rest is stored. When nothing would
        be stored at all (every folder gone, no `queue`) nothing is written
        and `Delivered.stored` is False. With `check_quota`, a copy that would
        pass its account's quota refuses the whole message: OverQuota is
        raised and nothing is stored (SMTP has one reply to DATA)."""

    async def list_messages(self, mailbox_id: int) -> list[MessageEntry]:
        """Every message of the folder, ascending UID: what a selected view starts
        from. Entries with equal flags share one frozenset."""

    async def fetch_info(self, mailbox_id: int, uids: Sequence[int]) -> list[MessageInfo]:
        """Records of the given UIDs that still exist, ascending UID."""

    async def changes_since(self, mailbox_id: int, modseq: int) -> Changes: ...

    async def store_flags(
        self,
        mailbox_id: int,
        uids: Sequence[int],
        update: Callable[[frozenset[str]], frozenset[str]],
        *,
        unchanged_since: int | None = None,
    ) -> tuple[list[MessageEntry], list[int]]:
        """Applies `update` to the current flags of each selected message inside
        the transaction and writes only the rows whose flags changed, all with
        one new mod-sequence. Returns the entries that changed (new flags and
        mod-sequence) and the UIDs that failed UNCHANGEDSINCE (RFC 7162 §3.1.3)."""

    async def expunge(self, mailbox_id: int, uids: Sequence[int]) -> list[int]:
        """Removes the messages; returns the UIDs that were removed."""

    async def copy(
        self, src_mailbox_id: int, uids: Sequence[int], dst_mailbox_id: int, *, move: bool = False
    ) -> list[tuple[int, int]]:
        """Copies (or moves) messages; returns (source UID, new UID) pairs. A
        copy counts against the destination account's quota; a move within one
        account does not change the quota."""

    async def search_text(self, mailbox_id: int, field: str, text: str) -> set[int] | None:
        """UIDs whose indexed `field` ("header", "body" or "text") may contain
        `text` (case-insensitive). A superset the caller checks exactly; None
        when the index cannot narrow the search (e.g. a query under 3 characters)."""

    # -- outbound queue ---------------------------------------------------------
    async def enqueue(
        self,
        sender: str,
        recipients: Sequence[QueueRecipient],
        blob: BlobRef,
        *,
        envid: str = "",
        ret: str = "",
        next_attempt: float | None = None,
    ) -> int: ...

    async def claim_queue(self, node: str, now: float, lease: float, limit: int) -> list[QueueItem]:
        """Claims up to `limit` due items for `node` until now+lease; an item is
        claimed by one node at a time; an expired claim can be taken over."""

    async def update_queue(
        self,
        item_id: int,
        recipients: Sequence[QueueRecipient],
        *,
        next_attempt: float | None,
        delay_notified: bool | None = None,
    ) -> None:
        """Records attempt results and releases the claim; next_attempt None removes the item."""

    async def release_queue_claims(self, holders: Sequence[str]) -> int:
        """Drops the claims that `holders` hold (their items are due again at their
        `next_attempt`; nothing else changes), atomically for each item: a claim
        taken meanwhile by another holder stays. Returns how many items were
        released. For the processes of a node that are gone (`postbus.node`)."""
        raise NotImplementedError

    async def list_queue(self) -> list[QueueItem]: ...

    async def queue_stats(self) -> tuple[int, float | None]:
        """(items in the queue, creation time of the oldest or None), for metrics."""
        ...

    async def get_queue_item(self, item_id: int) -> QueueItem | None: ...

    async def delete_queue_item(self, item_id: int) -> None: ...

    async def retry_queue(self, item_id: int | None, now: float) -> int:
        """Makes the item (or all items) due now; returns how many."""

    # -- webmail sessions (issue 13, web/webmail) --------------------------------
    async def create_web_session(self, session: WebSession) -> None:
        """Stores a new session (its id_hash is new: 256 random bits)."""

    async def get_web_session(self, id_hash: str) -> WebSession | None: ...

    async def update_web_session(self, id_hash: str, *, last_seen: float | None = None,
                                 language: str | None = None) -> None:
        """Sets the given fields; a session that is gone stays gone."""

    async def delete_web_session(self, id_hash: str) -> None: ...

    async def delete_web_sessions(self, *, account_id: int | None = None,
                                  idle_before: float | None = None) -> int:
        """Removes the account's sessions, or those last seen before `idle_before`;
        returns how many."""

    # -- maintenance ------------------------------------------------------------
    async def account_bodies(self, account_id: int) -> list[str]:
        """The distinct body ids the messages of one account reference."""
        raise NotImplementedError

    async def collect_garbage(
        self, *, grace_seconds: float | None = None, bodies: Sequence[str] | None = None
    ) -> int:
        """Removes blobs no message or queue item references; returns how many.

        Bodies younger than `grace_seconds` (the backend's GC_GRACE_SECONDS when
        None) are spared: a BlobRef handed out by `put_blob` stays valid that long.
        With `bodies`, only those are candidates: after removing an account, its
        bodies can go at once (grace measured from the removal) without touching
        the fresh bodies of deliveries in flight."""

    # -- leases (ops, issue 16: one node orders the ACME certificate) -------------
    async def claim_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        """Takes, or extends, the lease `name` for `holder` until `now + ttl`; False
        while another holder's lease runs. Atomic across processes and nodes; kept
        in the settings table under `lease.NAME` as "HOLDER EXPIRY"."""

    # -- security: login failures, bans, sending limits (issue 15, store.security) --
    async def count_events(self, keys: Sequence[str], window: float, now: float) -> list[int]:
        """Adds one event to each key's counter and returns the new counts, in order.

        A counter's window starts with its first event and lasts `window` seconds;
        an event after it ends starts the counter again at 1. Atomic across
        processes and nodes."""
        raise NotImplementedError

    async def clear_events(self, keys: Sequence[str]) -> None:
        """Forgets the counters of `keys`."""

    async def add_ban(self, address: str, until: float, reason: str, now: float) -> Ban:
        """Bans `address` until `until` (Unix time), replacing any ban it had."""
        raise NotImplementedError

    async def get_ban(self, address: str, now: float) -> Ban | None:
        """The ban of `address` if it is still in force at `now`."""

    async def list_bans(self, now: float) -> list[Ban]:
        """The bans in force at `now`, by address."""
        raise NotImplementedError

    async def remove_ban(self, address: str) -> bool:
        """Lifts the ban of `address`; False when it had none."""
        raise NotImplementedError

    async def remember_known_source(self, pair: str, until: float) -> None:
        """Records that the account and source of `pair` (a hex SHA-256,
        `security.throttle.known_key`) are known-good until `until`, replacing
        an earlier end. Seen by every process and node at once."""

    async def known_source(self, pair: str, now: float) -> float | None:
        """The end of `pair`'s known-good record if it is still in force at `now`."""

    async def expire_known_sources(self, now: float) -> int:
        """Removes the known-good records that ended by `now`; returns how many
        (the hourly maintenance)."""
        raise NotImplementedError

    async def take_sending(self, limits: Sequence[SendLimit], recipients: int,
                           now: float) -> SendLimit | None:
        """Counts one message with `recipients` recipients against every limit, or
        against none and returns the first limit it would pass (store.security)."""

    async def block_sending(self, address: str, reason: str, now: float) -> bool:
        """Blocks the mailbox from sending; False when it already was (that block stays)."""
        raise NotImplementedError

    async def get_sending_block(self, address: str) -> SendingBlock | None: ...

    async def list_sending_blocks(self) -> list[SendingBlock]: ...

    async def unblock_sending(self, address: str) -> bool:
        """Lifts the block; False when there was none."""

    # -- webmail writing (issue 13): address book, preferences, written-to -------
    # Records of store/userdata.py; each belongs to one account and is removed with
    # it. The limits (lengths, counts) are the services' (addressbook/, preferences/).
    async def list_contacts(self, account_id: int) -> list[Contact]:
        """The account's contacts by name (case folded), then address."""
        raise NotImplementedError

    async def get_contact(self, account_id: int, contact_id: int) -> Contact | None: ...

    async def add_contacts(self, account_id: int, contacts: Sequence[NewContact]
                           ) -> list[Contact]:
        """Adds all of them in one transaction; NotFound when the account is gone."""
        raise NotImplementedError

    async def update_contact(self, account_id: int, contact_id: int, contact: NewContact
                             ) -> Contact:
        """NotFound unless the contact exists and is the account's."""
        raise NotImplementedError

    async def remove_contacts(self, account_id: int, contact_ids: Sequence[int]) -> int:
        """Removes those of the ids that are the account's; returns how many."""
        raise NotImplementedError

    async def get_user_settings(self, account_id: int) -> str | None:
        """The preferences document as the service stored it, or None."""

    async def set_user_settings(self, account_id: int, data: str) -> None:
        """Replaces the preferences document; NotFound when the account is gone."""

    async def record_written_to(self, account_id: int, addresses: Sequence[tuple[str, str]],
                                now: float, keep: int) -> None:
        """Remembers (address, display name) pairs as used at `now` (an empty name keeps
        the one known), then keeps the `keep` most recently used of the account."""

    async def list_written_to(self, account_id: int) -> list[WrittenTo]:
        """Most recently used first."""

    # -- worker processes: an atomic compare-and-set on settings ----------------
    async def swap_setting(self, key: str, expected: str | None, value: str | None) -> bool:
        """Sets `key` to `value` (None removes it) only if it now holds `expected`
        (None: absent), atomically with respect to every process and node; True
        when it did. Leases that must hold across processes (the POP3 maildrop
        lock) are taken with it."""
        raise NotImplementedError

    # -- large folders (issue 12, perf): stored SORT and SEARCH keys ------------
    # Keys are `MessageKeys` stored per parse-once record; a message whose record
    # has no keys of `version` is reported apart ("unknown"), for the caller to
    # judge it the exact way and to store its keys (`set_message_keys`).
    async def set_message_keys(self, keys: Sequence[tuple[str, MessageKeys]]) -> None:
        """Stores (body id, keys) pairs on the records of those bodies (replacing
        older ones); bodies without a record are skipped."""

    async def sort_uids(
        self, mailbox_id: int, keys: Sequence[tuple[str, bool]], version: int
    ) -> tuple[list[int], list[int]]:
        """(UIDs of the folder in the order of `keys`, UIDs whose record has no keys
        of `version`, ascending). Keys are (field, reverse): "arrival"
        (INTERNALDATE), "size", "date" (sort_date, else INTERNALDATE), "subject",
        "from", "to", "cc", "display_from", "display_to" (the sort_* strings, by
        code point). Ties go by ascending UID. With only arrival and size no keys
        are needed and the second list is empty; otherwise the first list holds
        only messages with keys."""

    async def match_keys(
        self, mailbox_id: int, field: str, value: str, version: int
    ) -> tuple[set[int], set[int]]:
        """(UIDs whose key `field` ("subject", "from", "to", "cc", "bcc") contains
        `value` as a substring, UIDs whose record has no keys of `version`)."""

    async def match_days(
        self, mailbox_id: int, field: str, op: str, day: int, version: int
    ) -> tuple[set[int], set[int]]:
        """(UIDs whose day is before / on / since (`op`) the ordinal `day`, UIDs not
        known). `field` "arrival" compares INTERNALDATE and "saved" SAVEDATE (else
        INTERNALDATE) as UTC seconds against the day's bounds, 00:00 UTC (never
        unknown); "sent" compares the keys' sent_day (a record with keys but no
        sent day matches nothing)."""

    async def set_envelopes(self, envelopes: Sequence[tuple[str, bytes]]) -> None:
        """Stores (body id, encoded ENVELOPE) pairs on the keys of those bodies'
        records, opaque (the IMAP front end's encoding); records without keys are
        skipped."""

    async def envelopes(
        self, mailbox_id: int, uids: Sequence[int], version: int
    ) -> dict[int, bytes]:
        """The stored encoded ENVELOPEs of those of `uids` whose keys are of `version`
        and have one (keys stored anew drop their ENVELOPE)."""
