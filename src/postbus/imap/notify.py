"""NOTIFY (RFC 5465): what a session is told of changes, without polling.

Theory of operation.  The session already subscribes to its account's change
events (``store/events.py``; on PostgreSQL they cross nodes by LISTEN/NOTIFY).
An event names the folder and its kind: ``messages`` (a delivery, an expunge, a
flag change), ``mailboxes`` (create, delete, rename) or ``subscriptions``.
:meth:`Notifier.note` sees every batch the session takes (``session.refresh``);
:meth:`Notifier.deliver` then turns it into responses:

* the selected folder: the usual EXISTS / EXPUNGE / FETCH of ``selected.py``
  (RFC 5465 §5.1, §5.2); with a SELECTED filter they are also pushed between
  commands, SELECTED-DELAYED holds EXPUNGE back until a command allows it
  (§6), and MessageNew's fetch attributes add a FETCH per new message (§5.2);
* another watched folder: ``* STATUS name (MESSAGES n UIDNEXT n UNSEEN n)``,
  plus HIGHESTMODSEQ once CONDSTORE is on (§5.2, §5.3, §5.4);
* MailboxName: ``* LIST`` for a new folder, ``(\\NonExistent)`` for a deleted
  one, ``("OLDNAME" (old))`` for a renamed one (§5.4), found by comparing the
  folder list (id → name) with the one last seen;
* SubscriptionChange: ``* LIST (\\Subscribed)`` or ``* LIST ()`` (§5.5).

When.  Between commands, :meth:`watch` wakes on a change and has the session
run :meth:`background` in its command task, so notifications never interleave
with a command's responses; while a command runs they wait for its end
(``session.sync`` after the command, RFC 5465 §3).  IDLE delivers them too.

Limits.  More than :data:`MAX_PENDING_NOTIFICATIONS` folders with a notification
waiting at once ends NOTIFY with ``* OK [NOTIFICATIONOVERFLOW]`` (§5.8): the
client resynchronises instead of reading a flood.  AnnotationChange and the
METADATA events are refused with ``NO [BADEVENT (...)]`` (§5, §6): the server
has neither ANNOTATE nor METADATA.  Changes the session made itself are
notified like any other (STATUS after an APPEND to another folder, LIST after
its own CREATE), except in the selected folder, where ``selected.py`` does not
echo them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from postbus.executor import Overloaded
from postbus.imap.outcome import SessionClosed
from postbus.imap.proto import ImapBye, NotifyGroup, SequenceSet, responses
from postbus.imap.proto.notify_grammar import SELECTED_FILTERS
from postbus.imap.proto.writer import string
from postbus.mailbox.errors import NotFound, StoreError
from postbus.mailbox.types import DELIMITER, INBOX, Change
from postbus.net.connection import NETWORK_ERRORS

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

log = logging.getLogger("postbus.imap")

#: Folders with a STATUS or LIST notification waiting at one time.  Beyond it the
#: session gets ``[NOTIFICATIONOVERFLOW]`` and NOTIFY ends (RFC 5465 §5.8).
MAX_PENDING_NOTIFICATIONS = 200

#: The events this server can report (RFC 5465 §5); the BADEVENT code lists them.
SUPPORTED_EVENTS = ("MessageNew", "MessageExpunge", "FlagChange", "MailboxName",
                    "SubscriptionChange")
MESSAGE_EVENTS = frozenset({"MessageNew", "MessageExpunge", "FlagChange"})
BADEVENT = f"BADEVENT ({' '.join(SUPPORTED_EVENTS)})"


def unsupported(groups: Iterable[NotifyGroup]) -> list[str]:
    """The requested events this server does not support."""
    return [e for g in groups for e in g.events if e not in SUPPORTED_EVENTS]


class Notifier:
    """The NOTIFY SET of one session and what is waiting to be told."""

    __slots__ = ("_folders", "_settled", "_subscribed", "_watcher", "dirty", "groups", "names_dirty",
                 "overflow", "selected_group", "session", "subs_dirty")

    def __init__(self, session: ImapSession, groups: Sequence[NotifyGroup],
                 folders: dict[int, str], subscribed: set[str]) -> None:
        self.session = session
        self.selected_group = next((g for g in groups if g.filter in SELECTED_FILTERS), None)
        self.groups = [g for g in groups if g.filter not in SELECTED_FILTERS]
        self._folders = folders  # id → name, as last told
        self._subscribed = subscribed
        self.dirty: set[int] = set()  # folders with message changes not yet told
        self.names_dirty = False
        self.subs_dirty = False
        self.overflow = False
        self._watcher: asyncio.Task[None] | None = None
        self._settled: asyncio.Future[None] | None = None  # the watcher waits for a command

    # -- which events a folder gets --------------------------------------------------------
    def events_for(self, name: str) -> tuple[str, ...]:
        """The events of the first filter naming the (non-selected) folder (RFC 5465 §6)."""
        for group in self.groups:
            if self._matches(group, name):
                return group.events
        return ()

    def _matches(self, group: NotifyGroup, name: str) -> bool:
        kind = group.filter
        if kind == "PERSONAL":  # every folder: the account has only its own namespace
            return True
        if kind == "INBOXES":  # where mail is delivered: INBOX (RFC 5465 §6)
            return name == INBOX
        if kind == "SUBSCRIBED":
            return name in self._subscribed
        if kind == "MAILBOXES":
            return name in group.mailboxes
        # SUBTREE: the named folders and every folder below them
        return any(name == m or name.startswith(m + DELIMITER) for m in group.mailboxes)

    def _wants(self, name: str, event: str) -> bool:
        return event in self.events_for(name)

    # -- what the session feeds in ---------------------------------------------------------
    def note(self, changes: Iterable[Change]) -> None:
        for change in changes:
            if change.kind == "mailboxes":
                self.names_dirty = True
            elif change.kind == "subscriptions":
                self.subs_dirty = True
            else:
                self.dirty.add(change.mailbox_id)
        if len(self.dirty) > MAX_PENDING_NOTIFICATIONS:
            self.overflow = True

    def due(self) -> bool:
        """Whether something may be waiting (a change not yet taken, or not yet told)."""
        changes = self.session.changes
        return bool(self.dirty or self.names_dirty or self.subs_dirty or self.overflow
                    or (changes is not None and changes.has_pending))

    # -- delivery ----------------------------------------------------------------------------
    async def deliver(self) -> None:
        """Send what :meth:`note` recorded, for every folder but the selected one."""
        out: list[bytes] = []
        if self.names_dirty:
            self.names_dirty = False
            out += await self._name_changes()
        if self.subs_dirty:
            self.subs_dirty = False
            out += await self._subscription_changes()
        dirty, self.dirty = self.dirty, set()
        if len(out) > MAX_PENDING_NOTIFICATIONS:
            self.overflow = True
        if self.overflow:
            await self._overflow()
            return
        if out:
            await self.session.write(b"".join(out))
        view = self.session.selected
        for mailbox_id in sorted(dirty):
            name = self._folders.get(mailbox_id)
            if name is None or (view is not None and view.mailbox_id == mailbox_id):
                continue
            if MESSAGE_EVENTS.intersection(self.events_for(name)):
                await self._status(name)

    async def initial_status(self) -> None:
        """NOTIFY SET STATUS: a STATUS for each watched folder but the selected one
        (RFC 5465 §3)."""
        view = self.session.selected
        for mailbox_id, name in sorted(self._folders.items(), key=lambda item: item[1]):
            if view is not None and view.mailbox_id == mailbox_id:
                continue
            if MESSAGE_EVENTS.intersection(self.events_for(name)):
                await self._status(name)

    async def _status(self, name: str) -> None:
        session = self.session
        assert session.account is not None
        try:
            status = await session.mailboxes.status_of(session.account.id, name)
        except NotFound:  # deleted since: MailboxName tells of that
            return
        box = status.mailbox
        items: list[tuple[str, int | str]] = [
            ("MESSAGES", status.messages), ("UIDNEXT", box.uid_next), ("UNSEEN", status.unseen)]
        if session.condstore:  # RFC 5465 §5.2 with RFC 7162
            items.append(("HIGHESTMODSEQ", box.highest_modseq))
        await session.write(responses.status(box.name, items, utf8=session.utf8))

    async def _name_changes(self) -> list[bytes]:
        session = self.session
        assert session.account is not None
        tree = await session.mailboxes.tree(session.account.id)
        now = {f.mailbox.id: f.name for f in tree if f.mailbox is not None}
        before, self._folders = self._folders, now
        utf8 = session.utf8
        out: list[bytes] = []
        for mailbox_id, name in before.items():
            new = now.get(mailbox_id)
            if new is None:
                if self._wants(name, "MailboxName"):
                    out.append(responses.list_(["\\NonExistent"], DELIMITER, name, utf8=utf8))
            elif new != name and (self._wants(new, "MailboxName")
                                  or self._wants(name, "MailboxName")):
                old = b"(%s)" % responses.mailbox(name, utf8=utf8)
                out.append(responses.list_([], DELIMITER, new, utf8=utf8,
                                           extended=[string("OLDNAME"), old]))
        for mailbox_id, name in now.items():
            if mailbox_id not in before and self._wants(name, "MailboxName"):
                out.append(responses.list_([], DELIMITER, name, utf8=utf8))
        return out

    async def _subscription_changes(self) -> list[bytes]:
        session = self.session
        assert session.account is not None
        now = set(await session.mailboxes.subscriptions(session.account.id))
        before, self._subscribed = self._subscribed, now
        utf8 = session.utf8
        out = [responses.list_(["\\Subscribed"], DELIMITER, name, utf8=utf8)
               for name in sorted(now - before) if self._wants(name, "SubscriptionChange")]
        out += [responses.list_([], DELIMITER, name, utf8=utf8)
                for name in sorted(before - now) if self._wants(name, "SubscriptionChange")]
        return out

    async def _overflow(self) -> None:
        # RFC 5465 §5.8: the server gives up and behaves as after NOTIFY NONE.
        self.close()
        self.session.notify = None
        await self.session.write(b"* OK [NOTIFICATIONOVERFLOW] Too many notifications "
                                 b"pending, NOTIFY is off\r\n")

    # -- between commands --------------------------------------------------------------------
    async def idle(self) -> bool:
        """The command loop is about to wait for input: deliver what is due.  True
        when something was (the loop looks for input again), False when the loop may
        go idle.  Nothing is sent while part of a command has arrived."""
        session = self.session
        if not session.receiver.between_commands:
            return False
        if self.due():
            await self.background()
            await session.drain()
            return True
        settled, self._settled = self._settled, None
        if settled is not None and not settled.done():
            settled.set_result(None)
        return False

    async def background(self) -> None:
        """Deliver while no command runs, in the session's command task."""
        session = self.session
        group = self.selected_group
        view = session.selected
        try:
            if view is None or group is None or not group.events:
                await session.refresh()  # records the selected folder's changes, untold
                if session.notify is self:
                    await self.deliver()
                return
            last = max((e.uid for _, e in view.resolve(SequenceSet.parse("*"), uid=False)),
                       default=0)
            # SELECTED-DELAYED: EXPUNGE waits for a command that allows it (§6).
            await session.sync(expunge=group.filter == "SELECTED")
            if group.fetch and session.selected is view:
                await self._fetch_new(last, group)
        except ImapBye as exc:
            session._bye(exc.message)
            raise SessionClosed() from None
        except NETWORK_ERRORS:
            raise SessionClosed() from None
        except (StoreError, Overloaded) as exc:  # told at the next command instead
            log.info("NOTIFY delivery for %s deferred: %s", session._who(), type(exc).__name__)

    async def _fetch_new(self, last: int, group: NotifyGroup) -> None:
        # RFC 5465 §5.2: MessageNew's fetch attributes, for each new message.
        from postbus.imap import fetch as message_access

        session = self.session
        view = session.selected
        assert view is not None
        targets = [t for t in view.resolve(SequenceSet.parse(f"{last + 1}:*"), uid=True)
                   if t[1].uid > last]
        if not targets:
            return
        outcome = await message_access.fetch(
            session.mailboxes, view.mailbox_id, targets, group.fetch,
            uid_command=False, readonly=view.readonly, utf8=session.utf8,
            changed_since=None, write=session.write, recent=view.recent,
            condstore=session.condstore,
        )
        if outcome.seen:
            view.update(outcome.seen)

    def start(self) -> None:
        self._watcher = asyncio.get_running_loop().create_task(self.watch())

    async def watch(self) -> None:
        """Wake the session when a change arrives and no command is running."""
        changes = self.session.changes
        if changes is None:
            return
        session = self.session
        while True:
            await changes.wait()
            task = session.notify_now()
            if task is not None:
                await asyncio.wait([task])  # its last step delivers what is due
                continue
            if session.lost or session.closing:
                return
            # A command is arriving: its replies carry what is due; wait for its end.
            self._settled = asyncio.get_running_loop().create_future()
            await self._settled

    def close(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()


async def start(session: ImapSession, groups: Sequence[NotifyGroup], *, status: bool) -> None:
    """NOTIFY SET: replace the session's notifier with one for `groups`."""
    assert session.account is not None
    account_id = session.account.id
    tree = await session.mailboxes.tree(account_id)
    folders = {f.mailbox.id: f.name for f in tree if f.mailbox is not None}
    subscribed = set(await session.mailboxes.subscriptions(account_id))
    stop(session)
    # Changes from before NOTIFY are the past the client knows (or the STATUS below
    # tells): take them now, recording the selected folder's as usual.
    await session.refresh()
    notifier = Notifier(session, groups, folders, subscribed)
    session.notify = notifier
    if status:
        await notifier.initial_status()
    notifier.start()


def stop(session: ImapSession) -> None:
    """NOTIFY NONE (and the end of the session)."""
    if session.notify is not None:
        session.notify.close()
        session.notify = None


__all__ = ["BADEVENT", "MAX_PENDING_NOTIFICATIONS", "Notifier", "start", "stop", "unsupported"]
