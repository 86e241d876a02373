"""SEARCH keys (RFC 3501 §6.4.4, RFC 9051 §6.4.4, RFC 7162 §3.1.5, RFC 5182).

The parser turns the key list into a small tree of frozen dataclasses that the
store evaluates.  Search strings are decoded to ``str`` here: the only charsets
accepted are US-ASCII and UTF-8; any other is refused with
``NO [BADCHARSET (US-ASCII UTF-8)]`` as RFC 9051 §6.4.4 requires (NO, not BAD).
Nesting of parentheses, NOT and OR is bounded by ``MAX_SEARCH_DEPTH``.

``OLDER``/``YOUNGER`` are RFC 5032 (WITHIN).

Rev1 keys without a rev2 equivalent are mapped onto flags: ``RECENT`` is
``\\Recent`` set, ``OLD`` is ``\\Recent`` unset, ``NEW`` is ``RECENT UNSEEN``.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .dates import read_date
from .errors import ImapBad, ImapNo
from .lexer import Cursor
from .limits import MAX_SEARCH_DEPTH
from .sequence import SequenceSet, read_sequence_set

SUPPORTED_CHARSETS = ("US-ASCII", "UTF-8")
BADCHARSET = "BADCHARSET (US-ASCII UTF-8)"


@dataclass(frozen=True, slots=True)
class SearchAll:
    """``ALL``."""


@dataclass(frozen=True, slots=True)
class SearchFlag:
    """A system flag or keyword that must be set (``present``) or unset."""

    flag: str
    present: bool = True


@dataclass(frozen=True, slots=True)
class SearchSeq:
    """A message sequence-number set (``uid`` False) or ``UID`` set; may be ``$``."""

    seqset: SequenceSet
    uid: bool = False


@dataclass(frozen=True, slots=True)
class SearchDate:
    """``BEFORE/ON/SINCE`` (internal date), ``SENTBEFORE/SENTON/SENTSINCE`` (Date:) and
    ``SAVEDBEFORE/SAVEDON/SAVEDSINCE`` (the save date, RFC 8514 §4.4)."""

    field: Literal["internal", "sent", "saved"]
    op: Literal["before", "on", "since"]
    date: dt.date


@dataclass(frozen=True, slots=True)
class SearchSize:
    """``LARGER n`` / ``SMALLER n`` (RFC822.SIZE)."""

    op: Literal["larger", "smaller"]
    size: int


@dataclass(frozen=True, slots=True)
class SearchWithin:
    """``OLDER n`` / ``YOUNGER n``: INTERNALDATE against n seconds ago (RFC 5032 §3)."""

    op: Literal["older", "younger"]
    seconds: int


@dataclass(frozen=True, slots=True)
class SearchString:
    """Substring match; ``field`` is BCC, CC, FROM, SUBJECT, TO, BODY or TEXT."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class SearchHeader:
    """``HEADER name value``; ``name`` as sent, match it case-insensitively."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class SearchModSeq:
    """``MODSEQ [entry-name entry-type] n`` (RFC 7162 §3.1.5)."""

    modseq: int
    entry: str | None = None
    entry_type: str | None = None


@dataclass(frozen=True, slots=True)
class SearchObjectId:
    """``EMAILID id`` / ``THREADID id`` (RFC 8474 §6)."""

    field: Literal["EMAILID", "THREADID"]
    value: str


@dataclass(frozen=True, slots=True)
class SearchNot:
    key: "SearchKey"


@dataclass(frozen=True, slots=True)
class SearchOr:
    left: "SearchKey"
    right: "SearchKey"


@dataclass(frozen=True, slots=True)
class SearchAnd:
    keys: tuple["SearchKey", ...]


SearchKey = (
    SearchAll | SearchFlag | SearchSeq | SearchDate | SearchSize | SearchWithin | SearchString
    | SearchHeader | SearchModSeq | SearchObjectId | SearchNot | SearchOr | SearchAnd
)

_FLAG_KEYS: dict[str, SearchKey] = {
    "ALL": SearchAll(),
    "SAVEDATESUPPORTED": SearchAll(),  # RFC 8514 §4.4: every folder keeps save dates
    "ANSWERED": SearchFlag("\\Answered"),
    "DELETED": SearchFlag("\\Deleted"),
    "DRAFT": SearchFlag("\\Draft"),
    "FLAGGED": SearchFlag("\\Flagged"),
    "SEEN": SearchFlag("\\Seen"),
    "RECENT": SearchFlag("\\Recent"),
    "UNANSWERED": SearchFlag("\\Answered", False),
    "UNDELETED": SearchFlag("\\Deleted", False),
    "UNDRAFT": SearchFlag("\\Draft", False),
    "UNFLAGGED": SearchFlag("\\Flagged", False),
    "UNSEEN": SearchFlag("\\Seen", False),
    "OLD": SearchFlag("\\Recent", False),
    "NEW": SearchAnd((SearchFlag("\\Recent"), SearchFlag("\\Seen", False))),
}
_STRING_KEYS = frozenset({"BCC", "CC", "FROM", "SUBJECT", "TO", "BODY", "TEXT"})
_DATE_KEYS: dict[str, tuple[Literal["internal", "sent", "saved"],
                            Literal["before", "on", "since"]]] = {
    "BEFORE": ("internal", "before"),
    "ON": ("internal", "on"),
    "SINCE": ("internal", "since"),
    "SENTBEFORE": ("sent", "before"),
    "SENTON": ("sent", "on"),
    "SENTSINCE": ("sent", "since"),
    "SAVEDBEFORE": ("saved", "before"),  # RFC 8514 §4.4
    "SAVEDON": ("saved", "on"),
    "SAVEDSINCE": ("saved", "since"),
}
_ENTRY_TYPES = frozenset({"priv", "shared", "all"})


def read_charset(cur: Cursor) -> str:
    """Consume a charset name; refuse anything but US-ASCII and UTF-8."""
    charset = cur.astring_text("a charset").upper()
    if charset not in SUPPORTED_CHARSETS:
        raise ImapNo(f"Unsupported charset {charset}", BADCHARSET)
    return charset


def read_search_key(cur: Cursor, depth: int = 0) -> SearchKey:
    """Consume one ``search-key`` (recursively for NOT, OR and parentheses)."""
    if depth >= MAX_SEARCH_DEPTH:
        raise ImapBad("Search keys nested too deeply")
    c = cur.peek()
    if c == 0x28:  # "("
        keys = cur.paren_list(lambda: read_search_key(cur, depth + 1), allow_empty=False)
        return keys[0] if len(keys) == 1 else SearchAnd(tuple(keys))
    if c >= 0 and c in b"0123456789*$":
        return SearchSeq(read_sequence_set(cur))
    name = cur.keyword("a search key")
    simple = _FLAG_KEYS.get(name)
    if simple is not None:
        return simple
    cur.sp()
    if name in _STRING_KEYS:
        return SearchString(name, cur.astring_text())
    date_key = _DATE_KEYS.get(name)
    if date_key is not None:
        return SearchDate(date_key[0], date_key[1], read_date(cur))
    handler = _ARGUMENT_KEYS.get(name)
    if handler is None:
        raise ImapBad(f"Unknown search key {name}")
    return handler(cur, depth)


def _header(cur: Cursor, depth: int) -> SearchKey:
    name = cur.astring_text("a header name")
    cur.sp()
    return SearchHeader(name, cur.astring_text())


def _keyword(present: bool) -> Callable[[Cursor, int], SearchKey]:
    def read(cur: Cursor, depth: int) -> SearchKey:
        return SearchFlag(cur.flag(), present)

    return read


def _size(op: Literal["larger", "smaller"]) -> Callable[[Cursor, int], SearchKey]:
    def read(cur: Cursor, depth: int) -> SearchKey:
        return SearchSize(op, cur.number64("a size"))

    return read


def _within(op: Literal["older", "younger"]) -> Callable[[Cursor, int], SearchKey]:
    def read(cur: Cursor, depth: int) -> SearchKey:
        # RFC 5032 §4: interval = 1*DIGIT, "should be a non-zero number"
        return SearchWithin(op, cur.nz_number(what="an interval in seconds"))

    return read


def _not(cur: Cursor, depth: int) -> SearchKey:
    return SearchNot(read_search_key(cur, depth + 1))


def _or(cur: Cursor, depth: int) -> SearchKey:
    left = read_search_key(cur, depth + 1)
    cur.sp()
    return SearchOr(left, read_search_key(cur, depth + 1))


def _uid(cur: Cursor, depth: int) -> SearchKey:
    return SearchSeq(read_sequence_set(cur), uid=True)


def _modseq(cur: Cursor, depth: int) -> SearchKey:
    # RFC 7162 §3.1.5: MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer
    if cur.peek() == 0x22:
        entry = cur.text(cur.quoted())
        cur.sp()
        entry_type = cur.atom("an entry type").lower()
        if entry_type not in _ENTRY_TYPES:
            raise ImapBad("Entry type must be priv, shared or all")
        cur.sp()
        return SearchModSeq(cur.number64("a mod-sequence"), entry, entry_type)
    return SearchModSeq(cur.number64("a mod-sequence"))


def _object_id(field: Literal["EMAILID", "THREADID"]) -> Callable[[Cursor, int], SearchKey]:
    def read(cur: Cursor, depth: int) -> SearchKey:
        return SearchObjectId(field, cur.astring_text("an object id"))  # RFC 8474 §6

    return read


_ARGUMENT_KEYS: dict[str, Callable[[Cursor, int], SearchKey]] = {
    "HEADER": _header,
    "KEYWORD": _keyword(True),
    "UNKEYWORD": _keyword(False),
    "LARGER": _size("larger"),
    "SMALLER": _size("smaller"),
    "OLDER": _within("older"),  # RFC 5032
    "YOUNGER": _within("younger"),
    "NOT": _not,
    "OR": _or,
    "UID": _uid,
    "MODSEQ": _modseq,
    "EMAILID": _object_id("EMAILID"),
    "THREADID": _object_id("THREADID"),
}


def read_search_program(cur: Cursor) -> tuple[str | None, SearchKey]:
    """``["CHARSET" SP charset SP] search-key *(SP search-key)`` up to the end."""
    charset = None
    if cur.skip_word(b"CHARSET"):
        cur.sp()
        charset = read_charset(cur)
        cur.sp()
    return charset, read_search_keys(cur)


def read_search_keys(cur: Cursor) -> SearchKey:
    """``search-key *(SP search-key)`` up to the end of the command, AND-ed."""
    keys = [read_search_key(cur)]
    while not cur.at_end():
        cur.sp()
        keys.append(read_search_key(cur))
    return keys[0] if len(keys) == 1 else SearchAnd(tuple(keys))
