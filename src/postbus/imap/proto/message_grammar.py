"""Grammar of the selected-state commands (RFC 9051 §6.4 and extensions).

FETCH (CONDSTORE/QRESYNC modifiers, RFC 7162 §3.1.4, §3.2.6), STORE
(UNCHANGEDSINCE, RFC 7162 §3.1.3), COPY, MOVE (RFC 6851), UID EXPUNGE
(RFC 4315 §2.1), SEARCH (ESEARCH RFC 4731, SEARCHRES RFC 5182), SORT
(RFC 5256, ESORT RFC 5267, DISPLAY RFC 5957), PARTIAL results (RFC 9394) and
THREAD (RFC 5256).
Each function reads the arguments after the command word.
"""

from typing import Literal

from .commands import (
    NO_ARGS,
    CopyArgs,
    FetchArgs,
    NoArgs,
    SearchArgs,
    SequenceArgs,
    SortArgs,
    SortCriterion,
    StoreArgs,
    ThreadArgs,
)
from .errors import ImapBad
from .fetch import read_fetch_atts
from .lexer import Cursor
from .search import read_charset, read_search_keys, read_search_program
from .sequence import read_sequence_set

SEARCH_RETURN_OPTIONS = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE", "PARTIAL",
                                   "UPDATE", "CONTEXT"})  # RFC 5267 §4.2, §4.3
SORT_KEYS = frozenset({
    "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO",
})
THREAD_ALGORITHMS = frozenset({"ORDEREDSUBJECT", "REFERENCES",  # RFC 5256 §3
                               "REFS"})  # draft-ietf-morg-inthread, as Dovecot has it
_STORE_MODES: dict[bytes, Literal["replace", "add", "remove"]] = {b"FLAGS": "replace", b"+FLAGS": "add", b"-FLAGS": "remove"}


def read_fetch(cur: Cursor, uid: bool) -> FetchArgs:
    cur.sp()
    seqset = read_sequence_set(cur)
    cur.sp()
    atts, macro = read_fetch_atts(cur)
    changedsince = None
    vanished = False
    if cur.skip(b" ("):
        while True:
            modifier = cur.keyword("a FETCH modifier")
            if modifier == "CHANGEDSINCE" and changedsince is None:
                cur.sp()
                changedsince = cur.number64("a mod-sequence")
            elif modifier == "VANISHED" and not vanished:
                vanished = True
            else:
                raise ImapBad(f"Unknown or repeated FETCH modifier {modifier}")
            if cur.skip(b")"):
                break
            cur.sp()
        # RFC 7162 §3.2.6: VANISHED only in UID FETCH and only with CHANGEDSINCE.
        if vanished and (not uid or changedsince is None):
            raise ImapBad("VANISHED needs UID FETCH with CHANGEDSINCE")
    return FetchArgs(seqset, atts, macro, changedsince, vanished)


def read_store(cur: Cursor, uid: bool) -> StoreArgs:
    cur.sp()
    seqset = read_sequence_set(cur)
    cur.sp()
    unchangedsince = None
    if cur.skip(b"("):  # RFC 7162 §3.1.3
        if cur.keyword("a STORE modifier") != "UNCHANGEDSINCE":
            raise ImapBad("Unknown STORE modifier")
        cur.sp()
        unchangedsince = cur.number64("a mod-sequence")
        cur.expect(b")")
        cur.sp()
    word = cur.atom("FLAGS, +FLAGS or -FLAGS").upper().encode()
    silent = word.endswith(b".SILENT")
    mode = _STORE_MODES.get(word.removesuffix(b".SILENT"))
    if mode is None:
        raise ImapBad("Expected FLAGS, +FLAGS or -FLAGS")
    cur.sp()
    if cur.peek() == 0x28:
        flags = cur.flag_list()
    else:
        flag_items = [cur.flag()]
        while cur.skip(b" "):
            flag_items.append(cur.flag())
        flags = tuple(flag_items)
    return StoreArgs(seqset, mode, flags, silent, unchangedsince)


def read_copy(cur: Cursor, uid: bool) -> CopyArgs:
    cur.sp()
    seqset = read_sequence_set(cur)
    cur.sp()
    return CopyArgs(seqset, cur.mailbox())


def read_expunge(cur: Cursor, uid: bool) -> SequenceArgs | NoArgs:
    if not uid:
        return NO_ARGS
    cur.sp()
    return SequenceArgs(read_sequence_set(cur))


def _read_return_options(cur: Cursor) -> tuple[tuple[str, ...] | None, tuple[int, int] | None]:
    """``RETURN (opt ...)`` of ESEARCH/ESORT (RFC 4731 §3.1, RFC 5267 §3.1), then the
    separating SP; with the range of ``PARTIAL`` (RFC 5267 §4.4, RFC 9394 §3.1)."""
    if not cur.skip_word(b"RETURN"):
        return None, None
    cur.sp()
    partial: list[tuple[int, int]] = []

    def option() -> str:
        name = cur.keyword("a RETURN option")
        if name not in SEARCH_RETURN_OPTIONS:
            raise ImapBad(f"Unknown RETURN option {name}")
        if name == "PARTIAL":
            cur.sp()
            partial.append(_read_partial_range(cur))
        return name

    options = tuple(cur.paren_list(option))
    # RFC 9394 §3.1: PARTIAL and ALL exclude each other; one range per command.
    if partial and ("ALL" in options or len(partial) > 1):
        raise ImapBad("PARTIAL goes with neither ALL nor another PARTIAL")
    cur.sp()
    return options, partial[0] if partial else None


def _read_partial_range(cur: Cursor) -> tuple[int, int]:
    """``lo:hi`` or ``-lo:-hi`` (RFC 9394 §3.1 partial-range), as sent."""
    first_negative = cur.skip(b"-")
    first = cur.nz_number(what="a partial range")
    cur.expect(b":", "':' in the partial range")
    last_negative = cur.skip(b"-")
    last = cur.nz_number(what="a partial range")
    if first_negative != last_negative:
        raise ImapBad("A partial range counts from one end only")
    return (-first, -last) if first_negative else (first, last)


def read_search(cur: Cursor, uid: bool) -> SearchArgs:
    cur.sp()
    returns, partial = _read_return_options(cur)
    charset, key = read_search_program(cur)
    return SearchArgs(key, charset, returns, partial)


def _read_sort_criterion(cur: Cursor) -> SortCriterion:
    reverse = cur.skip_word(b"REVERSE")
    if reverse:
        cur.sp()
    key = cur.keyword("a sort key")
    if key not in SORT_KEYS:
        raise ImapBad(f"Unknown sort key {key}")
    return SortCriterion(key, reverse)


def read_sort(cur: Cursor, uid: bool) -> SortArgs:
    cur.sp()
    returns, partial = _read_return_options(cur)
    criteria = tuple(cur.paren_list(lambda: _read_sort_criterion(cur), allow_empty=False))
    cur.sp()
    charset = read_charset(cur)
    cur.sp()
    return SortArgs(criteria, charset, read_search_keys(cur), returns, partial)


def read_thread(cur: Cursor, uid: bool) -> ThreadArgs:
    cur.sp()
    algorithm = cur.keyword("a threading algorithm")
    if algorithm not in THREAD_ALGORITHMS:
        raise ImapBad(f"Unknown threading algorithm {algorithm}")
    cur.sp()
    charset = read_charset(cur)
    cur.sp()
    return ThreadArgs(algorithm, charset, read_search_keys(cur))
