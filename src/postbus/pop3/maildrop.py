"""The POP3 maildrop: a snapshot of the account's INBOX taken at login.

RFC 1939 §5: message numbers are fixed for the session, and so are the sizes
LIST reports; deletions are only marks until the UPDATE state. Invariants:

- The snapshot holds (uid, size, blob id, seen) per message, a few dozen bytes
  each, never a message body or its parsed record.
- A unique-id is "<uid_validity>.<uid>" (RFC 1939 §7 UIDL): stable across
  sessions and across IMAP activity, since UIDs are never reused in a folder
  and `uid_validity` is fixed for the life of the INBOX.
- Nothing changes in the store before `update()`: a session that ends any
  other way leaves the maildrop as it found it.
- `update()` removes every message marked deleted with one `store.expunge`
  call: one transaction, which frees the quota and publishes the change that
  IMAP sessions turn into EXPUNGE responses. A message another session
  expunged meanwhile is simply no longer there to remove. Then it sets \\Seen
  on the messages retrieved and kept, as Dovecot does at QUIT, so that the
  webmail does not show mail the POP3 client already downloaded as new.
"""

from __future__ import annotations

from dataclasses import dataclass

from postbus.message import decode_meta, find_header_end
from postbus.pop3.proto import Pop3Error
from postbus.store import NotFound, Store
from postbus.store.model import INBOX, Mailbox

SNAPSHOT_PAGE = 1000  # UIDs per fetch_info call while taking the snapshot
SEEN = "\\Seen"
HEADER_PROBE = 64 * 1024  # bytes read to find a header end when the record cannot say


def messages_text(count: int) -> str:
    return f"{count} message" if count == 1 else f"{count} messages"


@dataclass(frozen=True, slots=True)
class DropMessage:
    uid: int
    size: int
    blob_id: str
    seen: bool


class Maildrop:
    def __init__(self, store: Store, inbox: Mailbox, messages: list[DropMessage]) -> None:
        self.store = store
        self.inbox = inbox
        self.messages = messages
        self.deleted: set[int] = set()  # message numbers
        self.retrieved: set[int] = set()

    @classmethod
    async def open(cls, store: Store, account_id: int) -> Maildrop:
        inbox = await store.get_mailbox(account_id, INBOX)
        if inbox is None:
            raise NotFound("the account has no INBOX")
        uids = [entry.uid for entry in await store.list_messages(inbox.id)]
        messages: list[DropMessage] = []
        for start in range(0, len(uids), SNAPSHOT_PAGE):
            infos = await store.fetch_info(inbox.id, uids[start:start + SNAPSHOT_PAGE])
            messages.extend(
                DropMessage(i.uid, i.size, i.blob_id, SEEN in i.flags) for i in infos
            )
        return cls(store, inbox, messages)

    # -- what the TRANSACTION state reads ---------------------------------------
    def get(self, number: int) -> DropMessage:
        """The message `number` (1-based); -ERR when there is none or it is marked deleted."""
        if not 1 <= number <= len(self.messages):
            raise Pop3Error("No such message")
        if number in self.deleted:
            raise Pop3Error("Message is marked deleted")
        return self.messages[number - 1]

    def stat(self) -> tuple[int, int]:
        """RFC 1939 §5 STAT: count and octets of the messages not marked deleted."""
        kept = [m.size for n, m in enumerate(self.messages, 1) if n not in self.deleted]
        return len(kept), sum(kept)

    def listing(self) -> list[tuple[int, DropMessage]]:
        return [(n, m) for n, m in enumerate(self.messages, 1) if n not in self.deleted]

    def unique_id(self, message: DropMessage) -> str:
        return f"{self.inbox.uid_validity}.{message.uid}"

    async def header_end(self, message: DropMessage) -> int:
        """Where the body starts, from the parse-once record (RFC 1939 §7 TOP)."""
        infos = await self.store.fetch_info(self.inbox.id, [message.uid])
        if infos:
            try:
                return decode_meta(infos[0].meta).header_end
            except ValueError:  # msgspec.DecodeError: a record from an unknown version
                pass
        head = await self.store.read_blob(message.blob_id, 0, HEADER_PROBE)
        return find_header_end(head, 0, len(head))

    # -- what the TRANSACTION state changes ---------------------------------------
    def delete(self, number: int) -> None:
        self.get(number)
        self.deleted.add(number)

    def reset(self) -> None:
        """RFC 1939 §5 RSET."""
        self.deleted.clear()

    def mark_retrieved(self, number: int) -> None:
        self.retrieved.add(number)

    # -- the UPDATE state ---------------------------------------------------------
    async def update(self) -> int:
        """Applies the session's changes; returns how many messages are left."""
        gone = [self.messages[n - 1].uid for n in sorted(self.deleted)]
        if gone:
            await self.store.expunge(self.inbox.id, gone)  # RFC 1939 §6
        seen = [self.messages[n - 1].uid for n in sorted(self.retrieved - self.deleted)
                if not self.messages[n - 1].seen]
        if seen:
            await self.store.store_flags(self.inbox.id, seen, lambda f: f | {SEEN})
        return len(self.messages) - len(gone)
