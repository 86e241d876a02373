"""The command table: each command's handler and the states that allow it, as data.

``states`` decides whether a command may run (RFC 9051 §6: any state, not
authenticated, authenticated, selected); anything else is answered ``BAD``
by the session.  ``uses_sequence_numbers`` marks the commands whose non-UID
form must not be answered with EXPUNGE responses (RFC 9051 §7.5.1 names
FETCH, STORE and SEARCH; COPY and SORT are held to the same rule, as
Dovecot does, because the client reads sequence numbers from their replies).
``sync`` False skips the announcement of other sessions' changes after the
command (the view was just opened, closed, or the connection is ending).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from postbus.imap.handlers import (
    append,
    auth,
    compress,
    copy,
    expunge,
    fetch,
    idle,
    listing,
    mailbox,
    misc,
    notify,
    quota,
    search,
    select,
    store,
)
from postbus.imap.outcome import Done
from postbus.imap.proto import Command
from postbus.imap.state import (
    ANY,
    AUTHENTICATED,
    AUTHENTICATED_ONLY,
    NOT_AUTHENTICATED,
    SELECTED,
    State,
)

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

Handler = Callable[["ImapSession", Command], Awaitable[Done | None]]


@dataclass(frozen=True, slots=True)
class Rule:
    handler: Handler
    states: frozenset[State]
    uses_sequence_numbers: bool = False
    sync: bool = True


TABLE: dict[str, Rule] = {
    # any state (RFC 9051 §6.1)
    "CAPABILITY": Rule(misc.capability, ANY),
    "NOOP": Rule(misc.noop, ANY),
    "LOGOUT": Rule(misc.logout, ANY, sync=False),
    "ID": Rule(misc.id_, ANY),  # RFC 2971
    # not authenticated (§6.2)
    "STARTTLS": Rule(auth.starttls, NOT_AUTHENTICATED, sync=False),
    "LOGIN": Rule(auth.login, NOT_AUTHENTICATED, sync=False),
    "AUTHENTICATE": Rule(auth.authenticate, NOT_AUTHENTICATED, sync=False),
    # authenticated (§6.3)
    "ENABLE": Rule(misc.enable, AUTHENTICATED_ONLY),  # RFC 5161
    "SELECT": Rule(select.select, AUTHENTICATED, sync=False),
    "EXAMINE": Rule(select.examine, AUTHENTICATED, sync=False),
    "NAMESPACE": Rule(misc.namespace, AUTHENTICATED),  # RFC 2342
    "CREATE": Rule(mailbox.create, AUTHENTICATED),
    "DELETE": Rule(mailbox.delete, AUTHENTICATED),
    "RENAME": Rule(mailbox.rename, AUTHENTICATED),
    "SUBSCRIBE": Rule(mailbox.subscribe, AUTHENTICATED),
    "UNSUBSCRIBE": Rule(mailbox.unsubscribe, AUTHENTICATED),
    "STATUS": Rule(mailbox.status, AUTHENTICATED),
    "LIST": Rule(listing.list_, AUTHENTICATED),
    "LSUB": Rule(listing.lsub, AUTHENTICATED),
    "APPEND": Rule(append.append, AUTHENTICATED),
    "IDLE": Rule(idle.idle, AUTHENTICATED),  # RFC 2177
    "GETQUOTA": Rule(quota.getquota, AUTHENTICATED),  # RFC 9208
    "GETQUOTAROOT": Rule(quota.getquotaroot, AUTHENTICATED),
    "SETQUOTA": Rule(quota.setquota, AUTHENTICATED),
    "COMPRESS": Rule(compress.compress, AUTHENTICATED),  # RFC 4978
    "NOTIFY": Rule(notify.notify, AUTHENTICATED),  # RFC 5465
    # selected (§6.4)
    "CHECK": Rule(misc.check, SELECTED),
    "CLOSE": Rule(select.close, SELECTED, sync=False),
    "UNSELECT": Rule(select.unselect, SELECTED, sync=False),  # RFC 3691
    "EXPUNGE": Rule(expunge.expunge, SELECTED),
    "SEARCH": Rule(search.search, SELECTED, uses_sequence_numbers=True),
    "SORT": Rule(search.sort, SELECTED, uses_sequence_numbers=True),  # RFC 5256
    "THREAD": Rule(search.thread, SELECTED, uses_sequence_numbers=True),  # RFC 5256
    "FETCH": Rule(fetch.fetch, SELECTED, uses_sequence_numbers=True),
    "STORE": Rule(store.store, SELECTED, uses_sequence_numbers=True),
    "COPY": Rule(copy.copy, SELECTED, uses_sequence_numbers=True),
    "MOVE": Rule(copy.move, SELECTED),  # RFC 6851: sends its own EXPUNGEs
    "CANCELUPDATE": Rule(search.cancelupdate, SELECTED),  # RFC 5267 §4.3.5
}
