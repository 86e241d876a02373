"""`Mailboxes`: what a front end may do with a logged-in user's folders and mail.

One instance per process (`App.mailboxes`), shared by IMAP, POP3 and the
webmail.  Every method takes the account it acts for, or a `Mailbox` /
mailbox id the caller obtained for that account from `get`.  Invariants:

- The rules live here and only here: names (`mailbox.names`), limits
  (`mailbox.limits`), INBOX cannot be deleted (RFC 9051 §6.3.5), renaming
  INBOX moves its messages (§6.3.6), CREATE makes missing parents (§6.3.4),
  subscriptions are the user's own list (RFC 3501 §6.3.9), the flag rule
  (`mailbox.flags`), MULTIAPPEND all-or-nothing (RFC 3502 §6.3.11).
- Matching names against LIST patterns yields to the event loop every
  `MATCH_BATCH` names, so no pattern holds the loop for long.
- The store is called only for storage; its refusals pass through unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from postbus.config import Settings
from postbus.delivery.ingest import ingest_bytes
from postbus.mailbox import fetch as reading
from postbus.mailbox import keys
from postbus.mailbox import search as searching
from postbus.mailbox import sort as sorting
from postbus.mailbox import thread as threading
from postbus.mailbox.entries import EntryCache
from postbus.mailbox.errors import (
    AlreadyExists,
    FolderExists,
    FolderNotFound,
    LimitReached,
    MessageNotFound,
    Refused,
    SpecialUseRefused,
    TooBig,
)
from postbus.mailbox.flags import FlagMode, flag_update
from postbus.mailbox.limits import MATCH_BATCH, MAX_FOLDERS, MAX_SUBSCRIPTIONS
from postbus.mailbox.listing import (
    Listed,
    ListOptions,
    Lsubbed,
    list_candidates,
    lsub_candidates,
    select_listed,
    select_lsub,
)
from postbus.mailbox.names import canonical, check_limits, check_new_name, parents
from postbus.mailbox.patterns import Pattern
from postbus.mailbox.query import Criterion, FetchItems, Section, SortKey
from postbus.mailbox.quota import QuotaReport
from postbus.mailbox.tree import Folder, folder_tree
from postbus.mailbox.types import (
    DELIMITER,
    INBOX,
    Appended,
    Changes,
    Mailbox,
    MailboxStatus,
    MessageEntry,
    MessageInfo,
)
from postbus.mailbox.view import SEEN, MailboxView
from postbus.message import section_ranges
from postbus.store import Store
from postbus.store.events import Subscription

View = TypeVar("View", bound=MailboxView)

#: RFC 6154 §2 attributes a real folder can carry (\All and \Flagged are
#: virtual views, which Postbus does not have).
CREATABLE_SPECIAL_USE = frozenset({"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"})


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to append: its octets (copied once, when stored), flags and
    INTERNALDATE (None: now)."""

    data: bytes | bytearray | memoryview
    flags: tuple[str, ...] = ()
    internal_date: float | None = None


class Mailboxes:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._entries = EntryCache(store)  # opened folders, kept up to date by mod-sequence
        self.max_message_size = settings.max_message_size

    # -- folders -----------------------------------------------------------------------
    async def find(self, account_id: int, name: str) -> Mailbox | None:
        return await self._store.get_mailbox(account_id, canonical(name))

    async def get(self, account_id: int, name: str) -> Mailbox:
        """The folder `name`; NotFound when there is none."""
        mailbox = await self.find(account_id, name)
        if mailbox is None:
            raise FolderNotFound(f"No folder named {name}")
        return mailbox

    async def tree(self, account_id: int) -> list[Folder]:
        """Every folder and implied level, INBOX first then by name."""
        return folder_tree(await self._store.list_mailboxes(account_id))

    async def folder(self, account_id: int, name: str) -> Folder | None:
        """The tree node of `name` (for one LIST line), or None."""
        name = canonical(name)
        for folder in await self.tree(account_id):
            if folder.name == name:
                return folder
        return None

    async def list_folders(self, account_id: int, options: ListOptions) -> list[Listed]:
        """LIST (RFC 9051 §6.3.9, RFC 5258): see `mailbox.listing`."""
        tree = await self.tree(account_id)
        subs: list[str] = []
        if options.subscribed or options.mark_subscribed or options.recursive_match:
            subs = await self._store.list_subscriptions(account_id)
        candidates = list_candidates(tree, subs, options)
        matched = await _match(candidates, options.patterns)
        return select_listed(tree, subs, options, matched)

    async def lsub(self, account_id: int, patterns: Sequence[str]) -> list[Lsubbed]:
        """LSUB (RFC 3501 §6.3.9): see `mailbox.listing`."""
        subs = await self._store.list_subscriptions(account_id)
        matched = await _match(lsub_candidates(subs), patterns)
        return select_lsub(subs, matched)

    async def create(self, account_id: int, name: str, *, special_use: str | None = None
                     ) -> Mailbox:
        """CREATE (RFC 9051 §6.3.4): the folder and its missing parents; not subscribed."""
        name = check_new_name(name)
        if name == INBOX:
            raise FolderExists("INBOX always exists")
        if special_use is not None and special_use not in CREATABLE_SPECIAL_USE:
            raise SpecialUseRefused(f"{special_use} cannot be given to a folder")  # RFC 6154 §3
        existing = {m.name for m in await self._store.list_mailboxes(account_id)}
        if name in existing:
            raise FolderExists(f"{name} already exists")
        missing = [p for p in parents(name) if p not in existing]
        _check_count(len(existing) + len(missing) + 1)
        await self._create_parents(account_id, missing)
        return await self._store.create_mailbox(account_id, name, special_use=special_use)

    async def _create_parents(self, account_id: int, missing: list[str]) -> None:
        for parent in missing:
            try:
                await self._store.create_mailbox(account_id, parent)
            except AlreadyExists:
                pass  # made by another session meanwhile

    async def delete(self, account_id: int, name: str) -> Mailbox:
        """DELETE (RFC 9051 §6.3.5): the folder and its messages; children and
        subscriptions stay (RFC 3501 §6.3.9).  Returns the folder deleted."""
        name = canonical(name)
        if name == INBOX:
            raise Refused("INBOX cannot be deleted")
        mailbox = await self.get(account_id, name)
        await self._store.delete_mailbox(account_id, mailbox.name)
        return mailbox

    async def rename(self, account_id: int, old: str, new: str) -> None:
        """RENAME (RFC 9051 §6.3.6) of a folder and its children; subscriptions stay."""
        new = check_new_name(new)
        source = await self.get(account_id, old)
        old = source.name
        if new == INBOX or new == old:
            raise FolderExists(f"{new} already exists")
        if new.startswith(old + DELIMITER):
            raise Refused("A folder cannot become its own child")
        mailboxes = await self._store.list_mailboxes(account_id)
        existing = {m.name for m in mailboxes}
        if new in existing:
            raise FolderExists(f"{new} already exists")
        missing = [p for p in parents(new) if p not in existing]
        if old == INBOX:
            # §6.3.6: INBOX stays, empty; its messages move to the new folder,
            # and its children are not renamed.
            _check_count(len(existing) + len(missing) + 1)
            await self._create_parents(account_id, missing)
            target = await self._store.create_mailbox(account_id, new)
            uids = [e.uid for e in await self._store.list_messages(source.id)]
            if uids:
                await self._store.copy(source.id, uids, target.id, move=True)
            return
        prefix = old + DELIMITER
        for name in existing:
            if name.startswith(prefix):
                check_limits(new + name[len(old):])  # the children move too
        _check_count(len(existing) + len(missing))
        await self._create_parents(account_id, missing)
        await self._store.rename_mailbox(account_id, old, new)

    # -- subscriptions (RFC 3501 §6.3.6, §6.3.7) -----------------------------------------
    async def subscriptions(self, account_id: int) -> list[str]:
        return await self._store.list_subscriptions(account_id)

    async def subscribe(self, account_id: int, name: str) -> None:
        """Subscribes an existing folder (RFC 3501 §6.3.6 lets the server check)."""
        mailbox = await self.get(account_id, name)
        subs = await self._store.list_subscriptions(account_id)
        if mailbox.name not in subs and len(subs) >= MAX_SUBSCRIPTIONS:
            raise LimitReached(f"Too many subscriptions (limit {MAX_SUBSCRIPTIONS})")
        await self._store.set_subscribed(account_id, mailbox.name, True)

    async def unsubscribe(self, account_id: int, name: str) -> None:
        """Removes the name from the subscriptions, whether or not a folder has it."""
        await self._store.set_subscribed(account_id, canonical(name), False)

    # -- counts and quota ----------------------------------------------------------------
    async def status(self, mailbox: Mailbox) -> MailboxStatus:
        """Counters kept by the store (messages, unseen, size, deleted,
        deleted_size) and the folder's uid_next, uid_validity, highest_modseq:
        one row read, whatever the folder's size."""
        return await self._store.mailbox_status(mailbox.id)

    async def status_of(self, account_id: int, name: str) -> MailboxStatus:
        """`status` of the folder `name`, found and read in one row read; NotFound
        when there is none."""
        status = await self._store.find_mailbox_status(account_id, canonical(name))
        if status is None:
            raise FolderNotFound(f"No folder named {name}")
        return status

    async def quota(self, account_id: int) -> QuotaReport:
        account = await self._store.get_account_by_id(account_id)
        if account is None:
            raise FolderNotFound("The account no longer exists")
        return QuotaReport.of(account)

    # -- messages ------------------------------------------------------------------------
    async def messages(self, mailbox_id: int) -> list[MessageEntry]:
        """Every message of the folder, ascending UID."""
        return await self._store.list_messages(mailbox_id)

    async def fetch_info(self, mailbox_id: int, uids: Sequence[int]) -> list[MessageInfo]:
        return await self._store.fetch_info(mailbox_id, uids)

    async def read_body(self, blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        """The octets [offset, offset+length) of a message body (-1: to the end)."""
        return await self._store.read_blob(blob_id, offset, length)

    async def append(self, mailbox: Mailbox, messages: Sequence[NewMessage]) -> list[Appended]:
        """APPEND / MULTIAPPEND: all or nothing (RFC 3502 §6.3.11); the quota
        is checked by the store in the same transaction as each insert."""
        appended: list[Appended] = []
        try:
            for message in messages:
                if len(message.data) > self.max_message_size:
                    raise TooBig(f"Message too big (limit {self.max_message_size} octets)")
                if not message.data:
                    raise Refused("An empty message cannot be stored")
                ingested = await ingest_bytes(self._store, bytes(message.data))
                appended.append(await self._store.append(
                    mailbox.id, ingested.blob, ingested.parsed,
                    flags=[f for f in message.flags if f != "\\Recent"],
                    internal_date=message.internal_date,
                ))
        except Exception:
            if appended:
                await self._store.expunge(mailbox.id, [a.uid for a in appended])
            raise
        return appended

    async def read_section(self, mailbox_id: int, uid: int, section: Section, limit: int
                           ) -> bytes:
        """The octets of `section` of message `uid`, as FETCH BODY.PEEK[section] reads
        them (`mailbox.fetch`: the record's byte ranges, never a re-parse), for a message
        built of parts of others (IMAP CATENATE, RFC 4469 §5).  \\Seen is not set.

        MessageNotFound when the message or the part does not exist; TooBig when the
        octets are over `limit`, checked before they are read."""
        items = FetchItems(sections=(section,))
        async for fetched in reading.fetch(self._store, mailbox_id, [uid], items):
            if fetched.gone:
                raise MessageNotFound(f"No message with UID {uid}")
            if section.part:
                kind = "HEADER" if section.text.startswith("HEADER.") else section.text
                if section_ranges(await fetched.record(), section.part, kind) is None:
                    raise MessageNotFound(f"Message {uid} has no such part")
            content, _ = await fetched.section(section)
            if len(content) > limit:
                raise TooBig(f"Message too big (limit {self.max_message_size} octets)")
            if isinstance(content, reading.Span):
                assert fetched.reader is not None
                return await fetched.reader.read(content.start, content.end)
            return content
        raise MessageNotFound(f"No message with UID {uid}")

    async def copy(self, source_id: int, uids: Sequence[int], destination: Mailbox, *,
                   move: bool = False) -> list[tuple[int, int]]:
        """COPY / MOVE: (source UID, new UID) pairs, ascending."""
        if not uids:
            return []
        return await self._store.copy(source_id, uids, destination.id, move=move)

    async def expunge(self, mailbox_id: int, uids: Sequence[int]) -> list[int]:
        if not uids:
            return []
        return await self._store.expunge(mailbox_id, uids)

    async def store_flags(
        self, mailbox_id: int, uids: Sequence[int], mode: FlagMode, flags: Sequence[str], *,
        unchanged_since: int | None = None,
    ) -> tuple[list[MessageEntry], list[int]]:
        """STORE (RFC 9051 §6.4.6): the entries that changed, and the UIDs that
        failed UNCHANGEDSINCE (RFC 7162 §3.1.3)."""
        if not uids:
            return [], []
        return await self._store.store_flags(
            mailbox_id, uids, flag_update(mode, flags), unchanged_since=unchanged_since)


    # -- the selected view and what reads through it -------------------------------------
    def watch(self, account_id: int) -> Subscription:
        """The change events of the account's folders (the selected view, IDLE)."""
        return self._store.changes.subscribe(account_id)

    async def open_view(self, mailbox: Mailbox, readonly: bool, kind: type[View], *,
                        recent: bool = False) -> View:
        """A view of `mailbox` (a `MailboxView` or a front end's subclass of it).

        Its entries come from the cache of opened folders (`mailbox.entries`):
        opening a folder again reads what changed since, not every message.
        With `recent` (an IMAP4rev1 SELECT or EXAMINE) the view keeps \\Recent:
        it claims the folder's new messages now, and those it is told of later
        (`MailboxView.claim_recent`, RFC 3501 §2.3.2)."""
        entries, exact = await self._entries.entries(mailbox)
        view = kind(mailbox, entries, readonly)
        view.entries_modseq = exact
        if recent:
            view.tracks_recent = True
            await view.claim_recent(self._store)
        return view

    async def recent_count(self, mailbox: Mailbox) -> int:
        """STATUS RECENT (RFC 3501 §6.3.10): the messages no session has claimed."""
        return await self._store.recent_count(mailbox.id)

    async def refresh(self, view: MailboxView) -> None:
        """Record in `view` what other sessions changed since it last looked."""
        await view.refresh(self._store)

    async def changes_since(self, mailbox_id: int, modseq: int) -> Changes:
        """What changed in the folder after `modseq`: changed entries and expunged UIDs
        (RFC 7162 §3.2.5: every expunge is kept with its mod-sequence, across restarts)."""
        return await self._store.changes_since(mailbox_id, modseq)

    async def search(self, mailbox_id: int, entries: Sequence[MessageEntry],
                     criterion: Criterion, *, recent: Collection[int] = frozenset()
                     ) -> list[int]:
        """The UIDs of `entries` that match `criterion`, ascending (`mailbox.search`)."""
        return await searching.search(self._store, mailbox_id, entries, criterion,
                                      recent=recent)

    async def sort(self, mailbox_id: int, uids: Iterable[int], keys: Sequence[SortKey]
                   ) -> list[int]:
        """`uids` in the order of `keys` (RFC 5256, `mailbox.sort`)."""
        return await sorting.sort(self._store, mailbox_id, uids, keys)

    async def thread(self, mailbox_id: int, uids: Iterable[int],
                     algorithm: threading.Algorithm) -> list[threading.Thread]:
        """The threads of `uids` (RFC 5256 §3, `mailbox.thread`)."""
        return await threading.thread(self._store, mailbox_id, uids, algorithm)

    def fetch(self, mailbox_id: int, uids: Sequence[int], items: FetchItems
              ) -> AsyncIterator[reading.Fetched]:
        """What FETCH reads for each UID, in order (`mailbox.fetch`)."""
        return reading.fetch(self._store, mailbox_id, uids, items)

    async def envelopes(self, mailbox_id: int, uids: Sequence[int]) -> dict[int, bytes]:
        """The encoded ENVELOPEs a front end kept (`remember_envelopes`) for those of
        `uids` that have one: a large FETCH then reads no parse-once record."""
        return await self._store.envelopes(mailbox_id, uids, keys.KEYS_VERSION)

    async def remember_envelopes(self, envelopes: Sequence[tuple[str, bytes]]) -> None:
        """Keeps (body id, encoded ENVELOPE) pairs beside the records' stored keys,
        `keys.BATCH` per store call. The encoding is the front end's; it must not
        change without `keys.RULES_VERSION` changing."""
        for start in range(0, len(envelopes), keys.BATCH):
            await self._store.set_envelopes(envelopes[start:start + keys.BATCH])

    async def check_decodable(self, mailbox_id: int, uids: Sequence[int],
                              sections: Sequence[Section]) -> None:
        """Raises `UnknownEncoding` when a section cannot be decoded (RFC 3516 §4.2)."""
        await reading.check_decodable(self._store, mailbox_id, uids, sections)

    async def mark_seen(self, mailbox_id: int, entries: Sequence[MessageEntry]
                        ) -> list[MessageEntry]:
        """Set \\Seen on those of `entries` without it, in one store call, through the
        one flag rule (RFC 9051 §6.4.5); the entries that changed."""
        unseen = [e.uid for e in entries if SEEN not in e.flags]
        changed, _ = await self.store_flags(mailbox_id, unseen, "add", [SEEN])
        return changed


def _check_count(total: int) -> None:
    if total > MAX_FOLDERS:
        raise LimitReached(f"Too many folders (limit {MAX_FOLDERS})")


async def _match(candidates: list[str], patterns: Sequence[str]) -> set[str]:
    """The candidates that match any pattern, yielding to the loop between batches."""
    longest = max(map(len, candidates), default=0)
    compiled = [Pattern(p, longest) for p in patterns if p]
    if any(p.matches_all for p in compiled):
        return set(candidates)
    compiled = [p for p in compiled if not p.matches_none]
    matched: set[str] = set()
    if not compiled:
        return matched
    for start in range(0, len(candidates), MATCH_BATCH):
        if start:
            await asyncio.sleep(0)
        for name in candidates[start:start + MATCH_BATCH]:
            if any(p.matches(name) for p in compiled):
                matched.add(name)
    return matched
