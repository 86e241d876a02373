"""Sans-IO IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) protocol core.

Bytes in, events out; values in, bytes out.  Nothing here performs I/O,
awaits, or knows about the store (STYLE habit 1):

* :class:`Receiver` frames the byte stream into commands, enforcing every limit
  of ``limits.py`` before buffering, and returns one event at a time.
* ``parser`` / ``*_grammar`` / ``fetch`` / ``search`` turn a framed command into
  a typed :class:`Command`, or raise :class:`ImapBad` / :class:`ImapNo`.
* ``writer`` / ``responses`` / ``structure`` build response bytes; ``mutf7``
  converts mailbox names for clients without UTF8=ACCEPT.

Invariant: for any input, the receiver yields only the events in ``events.py``;
no other exception escapes (``tests/fuzz/test_imap_proto_fuzz.py``).
"""

from .commands import (
    NO_ARGS,
    AppendArgs,
    AppendMessage,
    AuthenticateArgs,
    CatPart,
    CatText,
    CatUrl,
    Command,
    CommandArgs,
    CompressArgs,
    CopyArgs,
    CreateArgs,
    EnableArgs,
    FetchArgs,
    IdArgs,
    ListArgs,
    LoginArgs,
    MailboxArgs,
    NoArgs,
    NotifyArgs,
    NotifyGroup,
    QResync,
    QuotaRootArgs,
    RenameArgs,
    SearchArgs,
    SelectArgs,
    SequenceArgs,
    SetQuotaArgs,
    SortArgs,
    SortCriterion,
    StatusArgs,
    StoreArgs,
    ThreadArgs,
)
from .errors import ImapBad, ImapBye, ImapError, ImapNo
from .events import (
    NEED_DATA,
    AuthLine,
    Event,
    IdleDone,
    NeedContinuation,
    NeedData,
    ProtocolError,
)
from .fetch import FetchAtt, Section
from .lexer import NO_MATCH
from .parser import COMMANDS, UID_COMMANDS, parse_command
from .receiver import Receiver
from .search import (
    SearchAll,
    SearchAnd,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModSeq,
    SearchNot,
    SearchObjectId,
    SearchOr,
    SearchSeq,
    SearchSize,
    SearchString,
    SearchWithin,
)
from .sequence import STAR, SequenceSet, format_set

__all__ = [
    "COMMANDS",
    "NEED_DATA",
    "NO_ARGS",
    "NO_MATCH",
    "STAR",
    "UID_COMMANDS",
    "AppendArgs",
    "AppendMessage",
    "AuthLine",
    "AuthenticateArgs",
    "CatPart",
    "CatText",
    "CatUrl",
    "Command",
    "CommandArgs",
    "CompressArgs",
    "CopyArgs",
    "CreateArgs",
    "EnableArgs",
    "Event",
    "FetchArgs",
    "FetchAtt",
    "IdArgs",
    "IdleDone",
    "ImapBad",
    "ImapBye",
    "ImapError",
    "ImapNo",
    "ListArgs",
    "LoginArgs",
    "MailboxArgs",
    "NeedContinuation",
    "NeedData",
    "NoArgs",
    "NotifyArgs",
    "NotifyGroup",
    "ProtocolError",
    "QResync",
    "QuotaRootArgs",
    "Receiver",
    "RenameArgs",
    "SearchAll",
    "SearchAnd",
    "SearchArgs",
    "SearchDate",
    "SearchFlag",
    "SearchHeader",
    "SearchKey",
    "SearchModSeq",
    "SearchNot",
    "SearchObjectId",
    "SearchOr",
    "SearchSeq",
    "SearchSize",
    "SearchString",
    "SearchWithin",
    "Section",
    "SelectArgs",
    "SequenceArgs",
    "SequenceSet",
    "SetQuotaArgs",
    "SortArgs",
    "SortCriterion",
    "StatusArgs",
    "StoreArgs",
    "ThreadArgs",
    "format_set",
    "parse_command",
]
