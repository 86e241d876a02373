"""One IMAP session: states, the command loop and the one place errors become replies.

Theory of operation.  The connection layer (``connection.py``) feeds the
sans-IO :class:`~postbus.imap.proto.Receiver` and starts :meth:`_process`
when input arrives.  It takes the receiver's events in order: a continuation
request for a synchronising literal, a refusal for a malformed command, or a
:class:`Command`, which is looked up in the dispatch table (``dispatch.TABLE``:
which states allow it is data there) and awaited.  When the receiver needs
more bytes the task ends.

Replies.  Handlers write untagged responses with ``send`` / ``write`` and
return a :class:`~postbus.imap.outcome.Done`; they *raise* refusals.
:meth:`_execute` turns them into the wire reply in one place: ``ImapBad`` →
``BAD``, ``ImapNo`` and store refusals → ``NO [code]`` (a refusal's own text
only when the service wrote it for the user, else a fixed text per kind with
the detail logged: ``mailbox.errors.client_text``), ``ImapBye`` → ``BYE``
and close, anything unexpected → ``NO [SERVERBUG]`` plus a traceback logged
under ``postbus.imap``; a lost connection ends the session silently.

Invariants:

* Commands run one at a time, in the order received (RFC 9051 §5.5), and every
  command ends with a drain of the transport.
* After each command the selected view is synchronised with the store and the
  changes of other sessions are announced at the points RFC 9051 §7.5.1
  allows (see ``selected.py``).  After NOTIFY SET (RFC 5465) they are also
  delivered between commands, never while one is arriving or running
  (``notify.py``).
* The autologout time is ``limits.idle_timeout`` once logged in (31 minutes
  by default; RFC 9051 §5.4 asks for at least 30) and ``command_timeout``
  before; IDLE counts as silence (RFC 2177 §3).
"""

from __future__ import annotations

import asyncio
import logging
import time

from postbus import metrics
from postbus.app import App
from postbus.executor import Overloaded
from postbus.imap import contexts
from postbus.imap.capabilities import capabilities
from postbus.imap.connection import ImapConnection
from postbus.imap.dispatch import TABLE
from postbus.imap.notify import Notifier
from postbus.imap.outcome import Done, SessionClosed
from postbus.imap.proto import (
    Command,
    ImapBad,
    ImapBye,
    ImapNo,
    NeedContinuation,
    NeedData,
    ProtocolError,
    writer,
)
from postbus.imap.selected import SelectedMailbox
from postbus.imap.state import State
from postbus.mailbox.errors import NotFound, StoreError, Worded, client_text, code_for
from postbus.mailbox.service import Mailboxes
from postbus.mailbox.types import Account, Subscription
from postbus.net.connection import NETWORK_ERRORS, Listener, make_listener

log = logging.getLogger("postbus.imap")

#: Consecutive BAD replies before the server gives up on a client (it is
#: probably not speaking IMAP at all).  Policy: ``* BYE`` and close.
MAX_BAD_COMMANDS = 20

_DONE = Done()


class ImapSession(ImapConnection):
    __slots__ = (
        "_bad_count", "account", "auth_failures", "changes", "condstore", "notify", "qresync", "rev2",
        "selected", "service", "state", "utf8",
    )

    def __init__(self, app: App, service: str, listener: Listener | None = None) -> None:
        super().__init__(app, listener or make_listener(app, service))
        self.service = service
        self.state = State.NOT_AUTHENTICATED
        self.account: Account | None = None
        self.changes: Subscription | None = None
        self.selected: SelectedMailbox | None = None
        self.utf8 = False  # UTF8=ACCEPT or IMAP4rev2 enabled (RFC 6855, RFC 9051 §6.3.1)
        self.rev2 = False  # IMAP4rev2 enabled (RFC 9051 §6.3.1)
        self.condstore = False  # a CONDSTORE enabling command was issued (RFC 7162 §3.1)
        self.qresync = False  # ENABLE QRESYNC (RFC 7162 §3.2.3)
        self.notify: Notifier | None = None  # NOTIFY SET (RFC 5465), see imap/notify.py
        self.auth_failures = 0
        self._bad_count = 0

    # -- what handlers use -------------------------------------------------------------
    @property
    def mailboxes(self) -> Mailboxes:
        return self.app.mailboxes

    def capabilities(self) -> tuple[str, ...]:
        return capabilities(
            tls=self.tls,
            authenticated=self.state is not State.NOT_AUTHENTICATED,
            append_limit=self.app.settings.max_message_size,
        )

    def login(self, account: Account) -> None:
        """Enter the authenticated state and start watching the account's folders."""
        self.account = account
        self.state = State.AUTHENTICATED
        self.changes = self.mailboxes.watch(account.id)
        self.authenticated()

    def enable_condstore(self, *, qresync: bool = False) -> None:
        """RFC 7162 §3.1: after the first CONDSTORE enabling command (ENABLE, SELECT
        (CONDSTORE), STATUS HIGHESTMODSEQ, FETCH MODSEQ or CHANGEDSINCE, STORE
        UNCHANGEDSINCE, SEARCH MODSEQ) every untagged FETCH carries UID and MODSEQ
        until the connection ends.  QRESYNC implies CONDSTORE (§3.2.3) and turns
        EXPUNGE responses into VANISHED (§3.2.10)."""
        self.condstore = True
        self.qresync = self.qresync or qresync
        view = self.selected
        if view is not None:
            view.condstore, view.qresync = True, self.qresync

    def deselect(self) -> None:
        self.selected = None
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED

    async def refresh(self) -> None:
        """Record other sessions' changes to the selected folder without announcing them."""
        view = self.selected
        pending = self.changes.pending() if self.changes is not None else []
        if self.notify is not None:
            self.notify.note(pending)
        if view is None or not any(c.mailbox_id == view.mailbox_id for c in pending):
            return
        try:
            await self.mailboxes.refresh(view)
        except NotFound:
            raise ImapBye("The selected mailbox was deleted") from None

    async def sync(self, *, expunge: bool, uid: bool = True) -> None:
        """Bring the selected view up to date and announce what changed."""
        await self.refresh()
        view = self.selected
        if view is not None:
            out = view.announce(expunge=expunge, rev1=not self.rev2, uid=uid)
            if view.contexts:  # RFC 5267 §4.3: after the EXISTS the ADDTO depends on
                out += await contexts.bring_up_to_date(self, view)
            if out:
                await self.write(out)
        if self.notify is not None:
            await self.notify.deliver()

    def notify_now(self) -> asyncio.Task[None] | None:
        """NOTIFY (RFC 5465 §3): the command task, started to deliver notifications
        when none runs; None when the connection is gone or a command is still
        arriving (the command's own replies then carry them)."""
        if self.lost or self.closing or self.transport is None:
            return None
        if self._task is None and self.receiver.between_commands:
            self._task = asyncio.get_running_loop().create_task(self._process())
        return self._task

    # -- the connection's hooks ----------------------------------------------------------
    def greeting(self) -> bytes:
        caps = " ".join(self.capabilities())
        return writer.untagged_status("OK", "Postbus ready", f"CAPABILITY {caps}")

    def _timeout(self) -> float:
        settings = self.app.settings
        if self.state is State.NOT_AUTHENTICATED:
            return settings.duration("limits", "command_timeout")
        return settings.duration("limits", "idle_timeout")

    def _who(self) -> str:
        return self.account.address if self.account is not None else "an anonymous client"

    def _forget(self) -> None:
        if self.notify is not None:
            self.notify.close()
            self.notify = None
        if self.changes is not None:
            self.changes.close()
            self.changes = None
        self.selected = None

    def _close(self) -> None:
        self.state = State.LOGOUT
        super()._close()

    # -- the command loop ----------------------------------------------------------------
    async def _process(self) -> None:
        try:
            await self._process_events()
        except SessionClosed:
            self._close()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in the loop itself: never leave a half-dead connection
            self.log.exception("session failed")
            if self.transport is not None:
                self.transport.abort()
        finally:
            self._task = None

    async def _process_events(self) -> None:
        while True:
            if self._stopping:
                self._bye("Server shutting down")
                return
            event = self.receiver.next_event()
            if isinstance(event, NeedData):
                if self.notify is not None and not self._eof and await self.notify.idle():
                    continue  # notifications were sent (RFC 5465): look for input again
                if self._eof:
                    self._close()
                else:
                    self._resume_reading()
                return
            if isinstance(event, NeedContinuation):
                self.send(writer.continuation())  # RFC 9051 §7.5
            elif isinstance(event, ProtocolError):
                self._refuse(event)
            elif isinstance(event, Command):
                self._pause_reading()
                await self._execute(event)
                if self.state is State.LOGOUT:
                    self._close()
                    return
                await self.drain()
            # IdleDone / AuthLine only come while a handler expects them.

    async def _execute(self, cmd: Command) -> None:
        started = time.perf_counter()
        try:
            await self._execute_timed(cmd)
        finally:
            if cmd.name != "IDLE":  # IDLE lasts as long as the client wants
                metrics.command_done("imap", started)

    async def _execute_timed(self, cmd: Command) -> None:
        tag = cmd.tag
        rule = TABLE.get(cmd.name)
        try:
            if rule is None:
                raise ImapBad(f"{cmd.name} is not supported")
            if self.state not in rule.states:
                raise ImapBad(f"{cmd.name} is not allowed in the {self.state.value} state")
            done = await rule.handler(self, cmd) or _DONE
            if rule.sync and (self.selected is not None or self.notify is not None):
                # RFC 9051 §7.5.1: no EXPUNGE while answering FETCH, STORE, SEARCH...
                await self.sync(expunge=cmd.uid or not rule.uses_sequence_numbers)
            self._bad_count = 0
            name = f"UID {cmd.name}" if cmd.uid else cmd.name
            self.send(writer.tagged(tag, "OK", done.text or f"{name} completed", done.code))
            if done.after is not None:
                await done.after()
        except ImapBad as exc:
            self._reply_bad(tag, exc.message, exc.code)
        except ImapNo as exc:
            self.send(writer.tagged(tag, "NO", exc.message, exc.code))
        except ImapBye as exc:
            self._bye(exc.message, exc.code)
            raise SessionClosed() from None
        except StoreError as exc:  # the mailbox service's refusals (RFC 5530 codes)
            if not isinstance(exc, Worded):  # its text is not for the client: log it
                self.log.info("%s refused for %s: %s: %s", cmd.name, self._who(),
                              type(exc).__name__, exc)
            self.send(writer.tagged(tag, "NO", client_text(exc), code_for(exc)))
        except Overloaded:  # reported by the executor; RFC 5530 §3: try again later
            self.send(writer.tagged(tag, "NO", "Server busy, try again later", "UNAVAILABLE"))
        except (SessionClosed, asyncio.CancelledError):
            raise
        except NETWORK_ERRORS:
            raise SessionClosed() from None
        except Exception:
            self.log.exception("%s failed for %s", cmd.name, self._who())
            self.send(writer.tagged(tag, "NO", "Internal server error", "SERVERBUG"))

    def _refuse(self, error: ProtocolError) -> None:
        if error.fatal:
            self._bye(error.message)
            raise SessionClosed()
        if error.status == "NO":
            line = (writer.tagged(error.tag, "NO", error.message, error.code) if error.tag
                    else writer.untagged_status("NO", error.message, error.code))
            self.send(line)
            return
        self._reply_bad(error.tag, error.message, error.code)

    def _reply_bad(self, tag: str | None, message: str, code: str | None) -> None:
        self._bad_count += 1
        if tag is None:
            self.send(writer.untagged_status("BAD", message, code))
        else:
            self.send(writer.tagged(tag, "BAD", message, code))
        if self._bad_count >= MAX_BAD_COMMANDS:
            self._bye("Too many invalid commands")
            raise SessionClosed()
