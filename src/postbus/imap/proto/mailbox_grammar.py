"""Grammar of the mailbox commands (RFC 9051 §6.3, with their extensions).

SELECT/EXAMINE (CONDSTORE, QRESYNC: RFC 7162 §3.1.8, §3.2.5), CREATE
(SPECIAL-USE: RFC 6154 §3), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST
(LIST-EXTENDED: RFC 5258, LIST-STATUS: RFC 5819, SPECIAL-USE), LSUB, STATUS
(RFC 9051 §6.3.11, QUOTA RFC 9208 §4.3, CONDSTORE, APPENDLIMIT RFC 7889),
APPEND (MULTIAPPEND RFC 3502, BINARY RFC 3516, UTF8 RFC 6855, CATENATE RFC 4469) and QUOTA
(RFC 9208 §4).  Each function reads the arguments after the command word.
"""

from .commands import (
    AppendArgs,
    AppendMessage,
    CatPart,
    CatText,
    CatUrl,
    CreateArgs,
    ListArgs,
    MailboxArgs,
    QResync,
    QuotaRootArgs,
    RenameArgs,
    SelectArgs,
    SetQuotaArgs,
    StatusArgs,
)
from .dates import read_date_time
from .errors import ImapBad, ImapNo
from .lexer import Cursor
from .limits import MAX_CATENATE_PARTS, MAX_CATENATE_URL
from .sequence import read_sequence_set

STATUS_ITEMS = frozenset({
    "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE",
    "HIGHESTMODSEQ", "APPENDLIMIT", "DELETED-STORAGE",
    "MAILBOXID",  # RFC 8474 §4.2
})
LIST_SELECT_OPTIONS = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
LIST_RETURN_OPTIONS = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"})
# RFC 6154 §2 attributes, in their canonical spelling.
SPECIAL_USE = {
    a.lower(): a
    for a in ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")
}


def read_mailbox_only(cur: Cursor, uid: bool) -> MailboxArgs:
    cur.sp()
    return MailboxArgs(cur.mailbox())


def read_select(cur: Cursor, uid: bool) -> SelectArgs:
    cur.sp()
    mailbox = cur.mailbox()
    condstore = False
    qresync = None
    if cur.skip(b" ("):
        while True:
            param = cur.keyword("a SELECT parameter")
            if param == "CONDSTORE":
                condstore = True
            elif param == "QRESYNC" and qresync is None:
                cur.sp()
                qresync = _read_qresync(cur)
            else:
                raise ImapBad(f"Unknown or repeated SELECT parameter {param}")
            if cur.skip(b")"):
                break
            cur.sp()
    return SelectArgs(mailbox, condstore, qresync)


def _read_qresync(cur: Cursor) -> QResync:
    # RFC 7162 §3.2.5: "(" uidvalidity SP mod-sequence-value [SP known-uids]
    #                      [SP seq-match-data] ")"
    cur.expect(b"(")
    uid_validity = cur.nz_number(what="a UIDVALIDITY")
    cur.sp()
    modseq = cur.number64("a mod-sequence")
    known_uids = seq_match = None
    if cur.skip(b" ") and cur.peek() != 0x28:
        known_uids = read_sequence_set(cur)
        cur.skip(b" ")
    if cur.skip(b"("):
        seqs = read_sequence_set(cur)
        cur.sp()
        seq_match = (seqs, read_sequence_set(cur))
        cur.expect(b")")
    cur.expect(b")", "')' to close QRESYNC")
    return QResync(uid_validity, modseq, known_uids, seq_match)


def read_create(cur: Cursor, uid: bool) -> CreateArgs:
    cur.sp()
    mailbox = cur.mailbox()
    special_use: tuple[str, ...] = ()
    if cur.skip(b" ("):
        while True:
            param = cur.keyword("a CREATE parameter")
            if param != "USE" or special_use:
                raise ImapBad(f"Unknown or repeated CREATE parameter {param}")
            cur.sp()
            attrs = cur.paren_list(cur.flag)
            special_use = tuple(SPECIAL_USE.get(a.lower(), a) for a in attrs)
            if cur.skip(b")"):
                break
            cur.sp()
    return CreateArgs(mailbox, special_use)


def read_rename(cur: Cursor, uid: bool) -> RenameArgs:
    cur.sp()
    old = cur.mailbox()
    cur.sp()
    return RenameArgs(old, cur.mailbox())


def _read_status_items(cur: Cursor) -> tuple[str, ...]:
    items = tuple(cur.paren_list(lambda: cur.keyword("a STATUS item"), allow_empty=False))
    for item in items:
        if item not in STATUS_ITEMS:
            raise ImapBad(f"Unknown STATUS item {item}")
    return items


def read_status(cur: Cursor, uid: bool) -> StatusArgs:
    cur.sp()
    mailbox = cur.mailbox()
    cur.sp()
    return StatusArgs(mailbox, _read_status_items(cur))


def read_lsub(cur: Cursor, uid: bool) -> ListArgs:
    cur.sp()
    reference = cur.list_mailbox()
    cur.sp()
    return ListArgs(reference, (cur.list_mailbox(),))


def read_list(cur: Cursor, uid: bool) -> ListArgs:
    cur.sp()
    extended = False
    selection: frozenset[str] = frozenset()
    if cur.peek() == 0x28:  # RFC 5258 §3: list-select-opts
        extended = True
        selection = frozenset(cur.paren_list(lambda: cur.keyword("a LIST option")))
        if not selection <= LIST_SELECT_OPTIONS:
            raise ImapBad("Unknown LIST selection option")
        if "RECURSIVEMATCH" in selection and selection <= {"RECURSIVEMATCH", "REMOTE"}:
            # RFC 5258 §3.1: RECURSIVEMATCH alone, or with only REMOTE, is BAD.
            raise ImapBad("RECURSIVEMATCH needs another selection option")
        cur.sp()
    reference = cur.list_mailbox()
    cur.sp()
    if cur.peek() == 0x28:
        extended = True
        patterns = tuple(cur.paren_list(cur.list_mailbox, allow_empty=False))
    else:
        patterns = (cur.list_mailbox(),)
    returns: set[str] = set()
    status_items: tuple[str, ...] = ()
    if cur.skip(b" "):
        if not cur.skip_word(b"RETURN"):
            raise ImapBad("Expected RETURN")
        extended = True
        cur.sp()
        cur.expect(b"(")
        while not cur.skip(b")"):
            if returns:
                cur.sp()
            option = cur.keyword("a LIST return option")
            if option not in LIST_RETURN_OPTIONS:
                raise ImapBad(f"Unknown LIST return option {option}")
            if option == "STATUS":  # RFC 5819 §2
                cur.sp()
                status_items = _read_status_items(cur)
            returns.add(option)
    return ListArgs(
        reference, patterns, selection, frozenset(returns), status_items, extended
    )


def read_append(cur: Cursor, uid: bool) -> AppendArgs:
    cur.sp()
    mailbox = cur.mailbox()
    messages = []
    catenated = 0  # CATENATE parts so far, over all the messages
    while True:  # RFC 3502: append-message *(SP append-message)
        cur.sp()
        flags: tuple[str, ...] = ()
        if cur.peek() == 0x28:
            flags = cur.flag_list()
            cur.sp()
        internal_date = None
        if cur.peek() == 0x22:
            internal_date = read_date_time(cur)
            cur.sp()
        if cur.skip_word(b"CATENATE"):
            cur.sp()
            parts = _read_catenate(cur, catenated)
            catenated += len(parts)
            messages.append(AppendMessage(flags, internal_date, memoryview(b""), catenate=parts))
            if cur.at_end():
                return AppendArgs(mailbox, tuple(messages))
            continue
        utf8 = False
        if cur.skip_word(b"UTF8"):  # RFC 6855 §4: "UTF8" SP "(" literal8 ")"
            utf8 = True
            cur.sp()
            cur.expect(b"(")
        if not cur.at_literal():
            raise ImapBad("Expected the message as a literal")
        data, binary = cur.literal()
        if utf8:
            cur.expect(b")")
        view = memoryview(data).toreadonly()
        messages.append(AppendMessage(flags, internal_date, view, binary, utf8))
        if cur.at_end():
            return AppendArgs(mailbox, tuple(messages))


def _read_catenate(cur: Cursor, before: int) -> tuple[CatPart, ...]:
    """RFC 4469 §5: ``"(" cat-part *(SP cat-part) ")"``, ``cat-part = "TEXT" SP literal /
    "URL" SP astring``; a TEXT literal may also be a literal8 (BINARY, RFC 3516).
    `before` parts came in earlier messages of the command (MAX_CATENATE_PARTS)."""
    parts: list[CatPart] = []

    def part() -> CatPart:
        if before + len(parts) >= MAX_CATENATE_PARTS:
            raise ImapNo(f"Too many CATENATE parts (limit {MAX_CATENATE_PARTS})", "TOOBIG")
        kind = cur.keyword("TEXT or URL")
        cur.sp()
        item: CatPart
        if kind == "TEXT":
            if not cur.at_literal():
                raise ImapBad("Expected the TEXT part as a literal")
            data, binary = cur.literal()
            item = CatText(memoryview(data).toreadonly(), binary)
        elif kind == "URL":
            raw = cur.astring("an IMAP URL")
            if len(raw) > MAX_CATENATE_URL:
                raise ImapNo(f"URL too long (limit {MAX_CATENATE_URL} octets)", "TOOBIG")
            item = CatUrl(raw.decode("utf-8", "replace"))
        else:
            raise ImapBad(f"Unknown CATENATE part {kind[:32]}")
        parts.append(item)
        return item

    cur.paren_list(part, allow_empty=False)
    return tuple(parts)


def read_getquota(cur: Cursor, uid: bool) -> QuotaRootArgs:
    cur.sp()
    return QuotaRootArgs(cur.astring_text("a quota root"))


def read_setquota(cur: Cursor, uid: bool) -> SetQuotaArgs:
    cur.sp()
    root = cur.astring_text("a quota root")
    cur.sp()
    cur.expect(b"(")
    limits: list[tuple[str, int]] = []
    while not cur.skip(b")"):
        if limits:
            cur.sp()
        resource = cur.keyword("a resource name")
        cur.sp()
        limits.append((resource, cur.number64("a resource limit")))
    return SetQuotaArgs(root, tuple(limits))
