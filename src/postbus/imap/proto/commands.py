"""Parsed IMAP commands: :class:`Command` and one argument type per family.

``Command.name`` is the upper-case command word (``FETCH``, never ``UID
FETCH``); ``Command.uid`` tells the UID form apart.  ``args`` is one of the
frozen dataclasses below, chosen by the command name (see ``parser.COMMANDS``).
Mailbox names are Unicode (modified UTF-7 already decoded unless UTF8=ACCEPT
was enabled) with ``INBOX`` in upper case.  Strings are ``str``; message data
is a read-only ``memoryview`` over the one buffer the literal was read into.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from .fetch import FetchAtt
from .search import SearchKey
from .sequence import SequenceSet


@dataclass(frozen=True, slots=True)
class NoArgs:
    """CAPABILITY, NOOP, LOGOUT, STARTTLS, CHECK, CLOSE, UNSELECT, EXPUNGE, IDLE, NAMESPACE."""


NO_ARGS = NoArgs()


@dataclass(frozen=True, slots=True)
class LoginArgs:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class AuthenticateArgs:
    """``mechanism`` upper-case; ``initial_response`` (SASL-IR, RFC 4959) still base64.

    ``initial_response`` is None when absent and ``b""`` when the client sent ``=``.
    """

    mechanism: str
    initial_response: bytes | None = None


@dataclass(frozen=True, slots=True)
class EnableArgs:
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IdArgs:
    """RFC 2971: None for ``ID NIL``, else the (field, value) pairs in order."""

    params: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True, slots=True)
class CompressArgs:
    mechanism: str


@dataclass(frozen=True, slots=True)
class MailboxArgs:
    """DELETE, SUBSCRIBE, UNSUBSCRIBE, GETQUOTAROOT."""

    mailbox: str


@dataclass(frozen=True, slots=True)
class QResync:
    """``QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]])`` (RFC 7162 §3.2.5)."""

    uid_validity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None


@dataclass(frozen=True, slots=True)
class SelectArgs:
    """SELECT / EXAMINE with optional CONDSTORE and QRESYNC parameters."""

    mailbox: str
    condstore: bool = False
    qresync: QResync | None = None


@dataclass(frozen=True, slots=True)
class CreateArgs:
    """CREATE with SPECIAL-USE attributes (RFC 6154 §3), e.g. ``("\\Drafts",)``."""

    mailbox: str
    special_use: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RenameArgs:
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class ListArgs:
    """LIST (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819) and LSUB.

    ``selection`` holds SUBSCRIBED / REMOTE / RECURSIVEMATCH / SPECIAL-USE;
    ``returns`` holds SUBSCRIBED / CHILDREN / SPECIAL-USE / STATUS;
    ``status_items`` the STATUS items when STATUS was requested.
    ``extended`` is True when the client used any extended syntax.
    """

    reference: str
    patterns: tuple[str, ...]
    selection: frozenset[str] = frozenset()
    returns: frozenset[str] = frozenset()
    status_items: tuple[str, ...] = ()
    extended: bool = False


@dataclass(frozen=True, slots=True)
class StatusArgs:
    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CatText:
    """``TEXT`` literal of a CATENATE list (RFC 4469 §5); ``binary``: a literal8."""

    data: memoryview
    binary: bool = False


@dataclass(frozen=True, slots=True)
class CatUrl:
    """``URL`` of a CATENATE list (RFC 4469 §5): an IMAP URL (RFC 5092) as sent,
    resolved by the handler (`url.parse_url`)."""

    url: str


CatPart = CatText | CatUrl


@dataclass(frozen=True, slots=True)
class AppendMessage:
    """One message of APPEND (MULTIAPPEND, RFC 3502).

    ``binary`` marks a literal8 (RFC 3516); ``utf8`` the ``UTF8 (~{n})`` form (RFC 6855).
    With CATENATE (RFC 4469) ``catenate`` holds the parts the message is made of and
    ``data`` is empty.
    """

    flags: tuple[str, ...]
    internal_date: dt.datetime | None
    data: memoryview
    binary: bool = False
    utf8: bool = False
    catenate: tuple[CatPart, ...] | None = None


@dataclass(frozen=True, slots=True)
class AppendArgs:
    mailbox: str
    messages: tuple[AppendMessage, ...]


@dataclass(frozen=True, slots=True)
class SearchArgs:
    """SEARCH; ``returns`` None means a plain SEARCH reply, a tuple (maybe empty) ESEARCH.

    RFC 4731 §3.1: ``RETURN ()`` means ``RETURN (ALL)``; the tuple is kept as sent.
    ``partial`` is the range of ``RETURN (PARTIAL lo:hi)`` as sent (RFC 9394 §3.1:
    both negative counts from the last result); ``"PARTIAL"`` is then in ``returns``.
    """

    key: SearchKey
    charset: str | None = None
    returns: tuple[str, ...] | None = None
    partial: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class SortCriterion:
    key: str
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class SortArgs:
    """SORT (RFC 5256 §3) with optional ESORT ``RETURN`` options (RFC 5267)."""

    criteria: tuple[SortCriterion, ...]
    charset: str
    key: SearchKey
    returns: tuple[str, ...] | None = None
    partial: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ThreadArgs:
    algorithm: str
    charset: str
    key: SearchKey


@dataclass(frozen=True, slots=True)
class FetchArgs:
    """FETCH with CONDSTORE/QRESYNC modifiers (RFC 7162 §3.1.4, §3.2.6)."""

    seqset: SequenceSet
    atts: tuple[FetchAtt, ...]
    macro: str | None = None
    changedsince: int | None = None
    vanished: bool = False


@dataclass(frozen=True, slots=True)
class StoreArgs:
    """STORE; ``mode`` replaces, adds or removes ``flags`` (RFC 9051 §6.4.6)."""

    seqset: SequenceSet
    mode: Literal["replace", "add", "remove"]
    flags: tuple[str, ...]
    silent: bool = False
    unchangedsince: int | None = None


@dataclass(frozen=True, slots=True)
class CopyArgs:
    """COPY and MOVE (RFC 6851)."""

    seqset: SequenceSet
    mailbox: str


@dataclass(frozen=True, slots=True)
class SequenceArgs:
    """UID EXPUNGE (RFC 4315 §2.1)."""

    seqset: SequenceSet


@dataclass(frozen=True, slots=True)
class QuotaRootArgs:
    """GETQUOTA (RFC 9208 §4.2)."""

    root: str


@dataclass(frozen=True, slots=True)
class SetQuotaArgs:
    """SETQUOTA root ((resource limit)*) (RFC 9208 §4.4); resources upper-case."""

    root: str
    limits: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class NotifyGroup:
    """One event group of NOTIFY SET (RFC 5465 §6): a filter (upper case:
    SELECTED, SELECTED-DELAYED, INBOXES, PERSONAL, SUBSCRIBED, SUBTREE, MAILBOXES),
    the names SUBTREE / MAILBOXES take, the events (empty for NONE) and
    MessageNew's fetch attributes."""

    filter: str
    mailboxes: tuple[str, ...]
    events: tuple[str, ...]
    fetch: tuple[FetchAtt, ...] = ()


@dataclass(frozen=True, slots=True)
class NotifyArgs:
    """NOTIFY SET [STATUS] groups, or NOTIFY NONE (``groups`` None)."""

    groups: tuple[NotifyGroup, ...] | None
    status: bool = False


@dataclass(frozen=True, slots=True)
class CancelUpdateArgs:
    """CANCELUPDATE (RFC 5267 §4.3.5): the tags of the searching commands."""

    tags: tuple[str, ...]


CommandArgs = (
    CancelUpdateArgs | NoArgs | LoginArgs | AuthenticateArgs | EnableArgs | IdArgs | CompressArgs | MailboxArgs
    | SelectArgs | CreateArgs | RenameArgs | ListArgs | StatusArgs | AppendArgs | SearchArgs
    | SortArgs | ThreadArgs | FetchArgs | StoreArgs | CopyArgs | SequenceArgs | QuotaRootArgs
    | SetQuotaArgs | NotifyArgs
)


@dataclass(frozen=True, slots=True)
class Command:
    """A complete, syntactically valid command."""

    tag: str
    name: str
    uid: bool = False
    args: CommandArgs = NO_ARGS
