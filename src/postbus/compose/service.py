"""`Compose`: write, save and send a message for a logged-in user.

One instance per process, over the app's services: the mailbox service for
Drafts, Sent and the originals (`mailbox/`, as IMAP sees them), the delivery
pipeline for sending (`compose.submit`, the rules of SMTP submission), the
address book for the addresses written to, the preferences for identities.

Invariants:
- the From address is checked on the server on every save and send (a forged
  form is refused with ComposeRefused("from")), and its display name is the
  stored identity's, never the form's;
- a message is built once per send, checked against the size limit, delivered
  without its Bcc field, then saved with it in the \\Sent folder (RFC 6154) and
  marked \\Seen; the delivery is the commitment: a Sent copy that cannot be
  saved (quota) is reported, and does not undo the send;
- a draft is saved as a new message in \\Drafts with \\Draft and \\Seen, then
  the previous version is expunged, so a failed save leaves the old one; only a
  message of the Drafts folder that has \\Draft is ever replaced or discarded.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from postbus.addressbook import AddressBook
from postbus.compose import draft as drafting
from postbus.compose import submit
from postbus.compose.draft import Draft, Source
from postbus.compose.errors import ComposeRefused
from postbus.compose.limits import MAX_ATTACHMENTS, MAX_SUBJECT_CHARS
from postbus.compose.mime import Attachment, Composed, build, new_message_id
from postbus.compose.original import Original, parse_off_loop
from postbus.compose.recipients import Addressee, all_recipients, parse_field
from postbus.mailbox.errors import FolderNotFound, OverQuota, TooBig
from postbus.mailbox.service import Mailboxes, NewMessage
from postbus.mailbox.types import Mailbox
from postbus.preferences import Preferences, PreferencesService
from postbus.store.model import Account

if TYPE_CHECKING:
    from postbus.app import App

DRAFT = "\\Draft"
SEEN = "\\Seen"
ANSWERED = "\\Answered"
FORWARDED = "$Forwarded"  # RFC 5788 keyword registry
SENT_USE, SENT_NAME = "\\Sent", "Sent"
DRAFTS_USE, DRAFTS_NAME = "\\Drafts", "Drafts"


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: str
    queue_id: int | None  # the outbound queue item, when some recipients are elsewhere
    saved: bool  # the copy in Sent was stored
    recipients: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    index: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class SavedDraft:
    uid: int
    attachments: tuple[AttachmentInfo, ...]


class Compose:
    def __init__(self, app: App) -> None:
        self.app = app
        self.mailboxes: Mailboxes = app.mailboxes
        self.addressbook = AddressBook(app.store)
        self.preferences = PreferencesService(
            app.store, recipient_delimiter=app.settings.delivery.recipient_delimiter)

    # -- starting a message -------------------------------------------------------------
    async def blank(self, account: Account) -> Draft:
        """A new message: the default identity, the signature below an empty body."""
        prefs = await self.preferences.get(account)
        return Draft(from_address=prefs.identities[0].address,
                     body=drafting.with_signature("", prefs.signature))

    async def reply(self, account: Account, source: Source, *, everyone: bool,
                    attribution: str) -> Draft:
        original = await self.original(account, source)
        prefs = await self.preferences.get(account)
        own = {i.address for i in prefs.identities} | set(await self.preferences.owned(account))
        return drafting.reply(original, source, own=own, everyone=everyone,
                              attribution=attribution, signature=prefs.signature,
                              from_address=self._identity_for(prefs, original, own))

    async def forward(self, account: Account, source: Source, *, inline: bool, heading: str,
                      labels: dict[str, str]) -> Draft:
        original = await self.original(account, source)
        prefs = await self.preferences.get(account)
        own = {i.address for i in prefs.identities} | set(await self.preferences.owned(account))
        return drafting.forward(original, source, inline=inline, heading=heading, labels=labels,
                                signature=prefs.signature,
                                from_address=self._identity_for(prefs, original, own))

    @staticmethod
    def _identity_for(prefs: Preferences, original: Original, own: set[str]) -> str:
        """Answer as the identity the original was sent to, else the default one."""
        for a in (*original.to, *original.cc):
            if prefs.identity_for(a.address) is not None:
                return a.address
        return prefs.identities[0].address

    async def original(self, account: Account, source: Source) -> Original:
        raw = await self._read(account, source)
        return await parse_off_loop(raw)

    async def _read(self, account: Account, source: Source) -> bytes:
        try:
            box = await self.mailboxes.get(account.id, source.folder)
        except FolderNotFound:
            raise ComposeRefused("not_found", source.folder) from None
        infos = await self.mailboxes.fetch_info(box.id, [source.uid])
        if not infos:
            raise ComposeRefused("not_found", str(source.uid))
        return await self.mailboxes.read_body(infos[0].blob_id)

    # -- building -------------------------------------------------------------------------
    async def _composed(self, account: Account, d: Draft, *, sending: bool
                        ) -> tuple[Composed, list[Addressee]]:
        prefs = await self.preferences.get(account)
        address = d.from_address.strip() or prefs.identities[0].address
        await submit.check_from(self.app, account, address)
        identity = prefs.identity_for(address)
        sender = Addressee(identity.name, identity.address) if identity else Addressee("", address)
        to, cc, bcc = parse_field(d.to), parse_field(d.cc), parse_field(d.bcc)
        recipients = all_recipients([to, cc, bcc])
        if sending and not recipients:
            raise ComposeRefused("no_recipient")
        if len(d.subject) > MAX_SUBJECT_CHARS:
            raise ComposeRefused("limit", f"{MAX_SUBJECT_CHARS} characters in the subject")
        if len(d.body) > self.app.settings.max_message_size:
            raise ComposeRefused("too_big", str(self.app.settings.max_message_size))
        attachments = await self._attachments(account, d)
        zone = _zone(prefs.timezone)
        refs = tuple(r for r in d.references.split() if r.startswith("<") and r.endswith(">"))
        composed = Composed(
            sender=sender, to=tuple(to), cc=tuple(cc), bcc=tuple(bcc),
            subject=d.subject.replace("\r", " ").replace("\n", " "),
            body=d.body, attachments=attachments,
            in_reply_to=d.in_reply_to if d.in_reply_to.startswith("<") else "",
            references=refs, message_id=new_message_id(address.rpartition("@")[2]),
            date=datetime.datetime.now(zone),
        )
        return composed, recipients

    async def _attachments(self, account: Account, d: Draft) -> tuple[Attachment, ...]:
        parts: list[Attachment] = []
        if d.draft_uid is not None:
            previous = await self._draft_original(account, d.draft_uid)
            if previous is not None:
                parts.extend(a for i, a in enumerate(previous.attachments) if i not in d.drop)
        elif d.forwarded is not None and d.forward_mode:
            original = await self.original(account, d.forwarded)
            parts.extend(drafting.forwarded_parts(original, d.forward_mode))
        parts.extend(d.attachments)
        if len(parts) > MAX_ATTACHMENTS:
            raise ComposeRefused("limit", f"{MAX_ATTACHMENTS} attachments")
        total = sum(len(p.data) for p in parts)
        if total > self.app.settings.max_message_size:
            raise ComposeRefused("too_big", str(self.app.settings.max_message_size))
        return tuple(parts)

    # -- sending ---------------------------------------------------------------------------
    async def send(self, account: Account, d: Draft) -> Sent:
        composed, recipients = await self._composed(account, d, sending=True)
        raw = build(composed, with_bcc=False)
        if len(raw) > self.app.settings.max_message_size:
            raise ComposeRefused("too_big", str(self.app.settings.max_message_size))
        outcome = await submit.submit(self.app, account, composed.sender.address, recipients, raw)
        saved = await self._save_sent(account, build(composed, with_bcc=True))
        await self.addressbook.remember(account.id, [(r.address, r.name) for r in recipients])
        if d.draft_uid is not None:
            await self.discard_draft(account, d.draft_uid)
        await self._mark(account, d.replied, ANSWERED)
        await self._mark(account, d.forwarded, FORWARDED)
        return Sent(composed.message_id, outcome.queue_id, saved,
                    tuple(r.address for r in recipients))

    async def _save_sent(self, account: Account, raw: bytes) -> bool:
        box = await self.special_folder(account, SENT_USE, SENT_NAME)
        try:
            await self.mailboxes.append(box, [NewMessage(raw, flags=(SEEN,))])
        except (OverQuota, TooBig):
            return False
        return True

    async def _mark(self, account: Account, source: Source | None, flag: str) -> None:
        if source is None:
            return
        try:
            box = await self.mailboxes.get(account.id, source.folder)
        except FolderNotFound:
            return  # moved or deleted meanwhile: nothing to mark
        await self.mailboxes.store_flags(box.id, [source.uid], "add", [flag])

    # -- drafts ----------------------------------------------------------------------------
    async def save_draft(self, account: Account, d: Draft, *, autosave: bool = False
                         ) -> SavedDraft:
        """Stores the draft as a new message in Drafts and expunges the previous
        version. With `autosave` (the form's text only, files not sent along) the
        previous version's attachments are kept whatever `drop` says."""
        if autosave:
            d = replace(d, drop=(), attachments=())
        composed, _ = await self._composed(account, d, sending=False)
        raw = build(composed, with_bcc=True)
        if len(raw) > self.app.settings.max_message_size:
            raise ComposeRefused("too_big", str(self.app.settings.max_message_size))
        box = await self.special_folder(account, DRAFTS_USE, DRAFTS_NAME)
        try:
            [appended] = await self.mailboxes.append(box, [NewMessage(raw, flags=(DRAFT, SEEN))])
        except OverQuota:
            raise ComposeRefused("mailbox_full") from None
        if d.draft_uid is not None and d.draft_uid != appended.uid:
            await self.discard_draft(account, d.draft_uid)
        return SavedDraft(appended.uid, _infos(composed.attachments))

    async def _draft_message(self, account: Account, uid: int) -> tuple[Mailbox, bytes] | None:
        box = await self.special_folder(account, DRAFTS_USE, DRAFTS_NAME)
        infos = await self.mailboxes.fetch_info(box.id, [uid])
        if not infos or DRAFT not in infos[0].flags:
            return None
        return box, await self.mailboxes.read_body(infos[0].blob_id)

    async def _draft_original(self, account: Account, uid: int) -> Original | None:
        found = await self._draft_message(account, uid)
        return None if found is None else await parse_off_loop(found[1])

    async def open_draft(self, account: Account, uid: int) -> tuple[Draft, tuple[AttachmentInfo, ...]]:
        """The form of a saved draft, and the attachments it holds."""
        found = await self._draft_message(account, uid)
        if found is None:
            raise ComposeRefused("not_found", str(uid))
        o = await parse_off_loop(found[1])
        d = Draft(from_address=o.from_[0].address if o.from_ else "",
                  to=_field(o.to), cc=_field(o.cc), bcc=_field(o.bcc),
                  subject=o.subject, body=o.text, in_reply_to=o.in_reply_to,
                  references=" ".join(o.references), draft_uid=uid)
        return d, _infos(o.attachments)

    async def draft_attachment(self, account: Account, uid: int, index: int) -> Attachment:
        o = await self._draft_original(account, uid)
        if o is None or not 0 <= index < len(o.attachments):
            raise ComposeRefused("not_found", f"{uid}/{index}")
        return o.attachments[index]

    async def discard_draft(self, account: Account, uid: int) -> None:
        found = await self._draft_message(account, uid)
        if found is not None:
            await self.mailboxes.expunge(found[0].id, [uid])

    # -- folders ---------------------------------------------------------------------------
    async def special_folder(self, account: Account, use: str, name: str) -> Mailbox:
        """The folder with the special use (RFC 6154), else the one named `name`,
        else a new one of that name and use."""
        for folder in await self.mailboxes.tree(account.id):
            if folder.mailbox is not None and folder.mailbox.special_use == use:
                return folder.mailbox
        found = await self.mailboxes.find(account.id, name)
        if found is not None:
            return found
        return await self.mailboxes.create(account.id, name, special_use=use)


def _infos(attachments: Sequence[Attachment]) -> tuple[AttachmentInfo, ...]:
    return tuple(AttachmentInfo(i, a.filename, a.content_type, len(a.data))
                 for i, a in enumerate(attachments))


def _zone(name: str) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC



def _field(addresses: Sequence[Addressee]) -> str:
    return ", ".join(a.display() for a in addresses)
