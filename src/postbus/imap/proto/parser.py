"""Command dispatch: tag, command word, ``UID`` prefix, then the per-command grammar.

:data:`COMMANDS` maps each command word of RFC 3501 / RFC 9051 and the
supported extensions to the function reading its arguments.  Which session
states allow a command is the session's table, not this one: the parser only
decides what is well-formed.  :func:`parse_command` raises
:class:`~.errors.ImapBad` / :class:`~.errors.ImapNo` and nothing else.
"""

import re
from collections.abc import Callable, Sequence

from . import mailbox_grammar as mbx
from . import message_grammar as msg
from . import notify_grammar
from .commands import (
    NO_ARGS,
    AuthenticateArgs,
    CancelUpdateArgs,
    Command,
    CommandArgs,
    CompressArgs,
    EnableArgs,
    IdArgs,
    LoginArgs,
    NoArgs,
)
from .errors import ImapBad
from .lexer import ATOM, TAG, Cursor, LiteralPart
from .limits import MAX_ID_PAIRS, MAX_SEARCH_CONTEXTS

ArgsReader = Callable[[Cursor, bool], CommandArgs]

_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


def _no_args(cur: Cursor, uid: bool) -> NoArgs:
    return NO_ARGS


def _login(cur: Cursor, uid: bool) -> LoginArgs:
    cur.sp()
    username = cur.astring_text("a user name")
    cur.sp()
    return LoginArgs(username, cur.astring_text("a password"))


def _authenticate(cur: Cursor, uid: bool) -> AuthenticateArgs:
    cur.sp()
    mechanism = cur.keyword("a SASL mechanism")
    initial = None
    if cur.skip(b" "):  # RFC 4959 §3: initial response, "=" for an empty one
        raw = cur.match(_BASE64)
        if not raw:
            raise ImapBad("Invalid initial response")
        initial = b"" if raw == b"=" else raw
    return AuthenticateArgs(mechanism, initial)


def _enable(cur: Cursor, uid: bool) -> EnableArgs:
    caps = []
    while cur.skip(b" "):
        caps.append(cur.keyword("a capability"))
    if not caps:
        raise ImapBad("ENABLE needs at least one capability")
    return EnableArgs(tuple(caps))


def _id(cur: Cursor, uid: bool) -> IdArgs:
    # RFC 2971 §4: "ID" SP ( "(" string SP nstring *(SP string SP nstring) ")" / nil )
    cur.sp()
    if cur.skip_word(b"NIL"):
        return IdArgs(None)

    def pair() -> tuple[str, str | None]:
        field = cur.text(cur.string("an ID field"))
        cur.sp()
        value = cur.nstring("an ID value")
        return field, None if value is None else cur.text(value)

    pairs = cur.paren_list(pair, allow_empty=False)
    if len(pairs) > MAX_ID_PAIRS:
        raise ImapBad("Too many ID parameters")
    return IdArgs(tuple(pairs))


def _cancelupdate(cur: Cursor, uid: bool) -> CancelUpdateArgs:
    # RFC 5267 §5: "CANCELUPDATE" 1*(SP quoted)
    tags = []
    while cur.skip(b" "):
        tags.append(cur.text(cur.quoted()))
        if len(tags) > MAX_SEARCH_CONTEXTS:
            raise ImapBad("Too many tags")
    if not tags:
        raise ImapBad("CANCELUPDATE needs the tag of a search")
    return CancelUpdateArgs(tuple(tags))


def _compress(cur: Cursor, uid: bool) -> CompressArgs:
    cur.sp()
    return CompressArgs(cur.keyword("a compression mechanism"))


COMMANDS: dict[str, ArgsReader] = {
    # any state (RFC 9051 §6.1) and extensions usable in any state
    "CAPABILITY": _no_args,
    "NOOP": _no_args,
    "LOGOUT": _no_args,
    "ID": _id,
    "ENABLE": _enable,
    "COMPRESS": _compress,
    # not authenticated (§6.2)
    "STARTTLS": _no_args,
    "AUTHENTICATE": _authenticate,
    "LOGIN": _login,
    # authenticated (§6.3)
    "SELECT": mbx.read_select,
    "EXAMINE": mbx.read_select,
    "CREATE": mbx.read_create,
    "DELETE": mbx.read_mailbox_only,
    "RENAME": mbx.read_rename,
    "SUBSCRIBE": mbx.read_mailbox_only,
    "UNSUBSCRIBE": mbx.read_mailbox_only,
    "LIST": mbx.read_list,
    "LSUB": mbx.read_lsub,
    "NAMESPACE": _no_args,
    "STATUS": mbx.read_status,
    "APPEND": mbx.read_append,
    "IDLE": _no_args,
    "GETQUOTA": mbx.read_getquota,
    "GETQUOTAROOT": mbx.read_mailbox_only,
    "SETQUOTA": mbx.read_setquota,
    "NOTIFY": notify_grammar.read_notify,  # RFC 5465
    # selected (§6.4)
    "CHECK": _no_args,
    "CLOSE": _no_args,
    "UNSELECT": _no_args,
    "EXPUNGE": msg.read_expunge,
    "SEARCH": msg.read_search,
    "FETCH": msg.read_fetch,
    "STORE": msg.read_store,
    "COPY": msg.read_copy,
    "MOVE": msg.read_copy,
    "SORT": msg.read_sort,
    "THREAD": msg.read_thread,
    "CANCELUPDATE": _cancelupdate,  # RFC 5267 §4.3.5
}

#: Commands that take the ``UID`` prefix (RFC 9051 §6.4.9, RFC 4315, RFC 6851, RFC 5256).
UID_COMMANDS = frozenset({"FETCH", "STORE", "COPY", "MOVE", "SEARCH", "SORT", "THREAD", "EXPUNGE"})

_NAME = ATOM


def read_tag(segment: bytes) -> str | None:
    """The tag at the start of a command line, if it is well-formed and followed by SP/end."""
    m = TAG.match(segment)
    if m is None or (m.end() < len(segment) and segment[m.end()] != 0x20):
        return None
    return m.group().decode("ascii")


def parse_command(
    segments: Sequence[bytes], literals: Sequence[LiteralPart] = (), utf8: bool = False
) -> Command:
    """Parse one framed command; ``utf8`` is True once UTF8=ACCEPT is enabled."""
    cur = Cursor(segments, literals, utf8)
    raw_tag = cur.match(TAG)
    if raw_tag is None:
        raise ImapBad("Missing or invalid tag")
    cur.sp()
    raw_name = cur.match(_NAME)
    if raw_name is None:
        raise ImapBad("Missing or invalid command")
    name = raw_name.decode("ascii").upper()
    uid = name == "UID"
    if uid:
        cur.sp()
        raw_name = cur.match(_NAME)
        name = raw_name.decode("ascii").upper() if raw_name else ""
        if name not in UID_COMMANDS:
            raise ImapBad("UID must be followed by FETCH, STORE, COPY, MOVE, SEARCH, "
                          "SORT, THREAD or EXPUNGE")
    reader = COMMANDS.get(name)
    if reader is None:
        raise ImapBad(f"Unknown command {name[:32]}")
    args = reader(cur, uid)
    cur.end()
    return Command(raw_tag.decode("ascii"), name, uid, args)
