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

Short point reads may run on the event loop; anything that can wait on disk
or the network is awaited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

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
)


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
        self, name: str, *, dkim_selector: str = "", dkim_private_key: str = ""
    ) -> Domain: ...

    async def get_domain(self, name: str) -> Domain | None: ...

    async def list_domains(self) -> list[Domain]: ...

    async def remove_domain(self, name: str) -> None:
        """Removes the domain with its accounts (their folders, messages and
        subscriptions) and its aliases."""

    # -- accounts -------------------------------------------------------------
    async def add_account(
        self, address: str, password_hash: str, *, quota_bytes: int, enabled: bool = True
    ) -> Account:
        """Creates the account and its special-use folders (INBOX, Sent, Drafts,
        Trash, Junk, Archive: `model.SPECIAL_USE_FOLDERS`), each subscribed."""

    async def get_account(self, address: str) -> Account | None: ...

    async def get_account_by_id(self, account_id: int) -> Account | None: ...

    async def list_accounts(self, domain: str | None = None) -> list[Account]: ...

    async def remove_account(self, address: str) -> None:
        """Removes the account with its folders, messages and subscriptions."""

    async def update_account(
        self,
        address: str,
        *,
        password_hash: str | None = None,
        quota_bytes: int | None = None,
        enabled: bool | None = None,
    ) -> Account: ...

    # -- aliases --------------------------------------------------------------
    async def set_alias(self, source: str, targets: Sequence[str]) -> Alias:
        """Creates or replaces the alias `source` (an address or "@domain")."""

    async def get_alias(self, source: str) -> Alias | None: ...

    async def list_aliases(self, domain: str | None = None) -> list[Alias]: ...

    async def remove_alias(self, source: str) -> None: ...

    # -- administrators -------------------------------------------------------
    async def add_admin(
        self, name: str, password_hash: str, *, operator: bool, domains: Sequence[str] = ()
    ) -> Admin: ...

    async def get_admin(self, name: str) -> Admin | None: ...

    async def list_admins(self) -> list[Admin]: ...

    async def remove_admin(self, name: str) -> None: ...

    async def update_admin(self, name: str, *, password_hash: str) -> Admin: ...

    # -- settings (small key/value records: tokens, per-user preferences) -----
    async def get_setting(self, key: str) -> str | None: ...

    async def set_setting(self, key: str, value: str | None) -> None: ...

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

    async def list_queue(self) -> list[QueueItem]: ...

    async def get_queue_item(self, item_id: int) -> QueueItem | None: ...

    async def delete_queue_item(self, item_id: int) -> None: ...

    async def retry_queue(self, item_id: int | None, now: float) -> int:
        """Makes the item (or all items) due now; returns how many."""

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
