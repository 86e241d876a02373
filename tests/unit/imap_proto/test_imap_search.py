"""Every SEARCH key of RFC 3501 §6.4.4 / RFC 9051 §6.4.4, MODSEQ (RFC 7162), nesting."""

import datetime as dt

import pytest

from postbus.imap.proto import (
    SearchAll,
    SearchAnd,
    SearchArgs,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModSeq,
    SearchNot,
    SearchOr,
    SearchSeq,
    SearchSize,
    SearchString,
    SearchWithin,
    SequenceSet,
)
from postbus.imap.proto.limits import MAX_SEARCH_DEPTH

from .helpers import command, error


def key(criteria: bytes) -> SearchKey:
    args = command(b"a SEARCH " + criteria).args
    assert isinstance(args, SearchArgs)
    return args.key


FEB_1 = dt.date(1994, 2, 1)


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (b"ALL", SearchAll()),
        (b"ANSWERED", SearchFlag("\\Answered")),
        (b"DELETED", SearchFlag("\\Deleted")),
        (b"DRAFT", SearchFlag("\\Draft")),
        (b"FLAGGED", SearchFlag("\\Flagged")),
        (b"SEEN", SearchFlag("\\Seen")),
        (b"RECENT", SearchFlag("\\Recent")),
        (b"UNANSWERED", SearchFlag("\\Answered", False)),
        (b"UNDELETED", SearchFlag("\\Deleted", False)),
        (b"UNDRAFT", SearchFlag("\\Draft", False)),
        (b"UNFLAGGED", SearchFlag("\\Flagged", False)),
        (b"UNSEEN", SearchFlag("\\Seen", False)),
        (b"OLD", SearchFlag("\\Recent", False)),
        (b"NEW", SearchAnd((SearchFlag("\\Recent"), SearchFlag("\\Seen", False)))),
        (b"KEYWORD $Forwarded", SearchFlag("$Forwarded")),
        (b"UNKEYWORD Junk", SearchFlag("Junk", False)),
        (b"BCC bob", SearchString("BCC", "bob")),
        (b"CC \"a b\"", SearchString("CC", "a b")),
        (b"FROM {5}\r\nalice", SearchString("FROM", "alice")),
        (b"SUBJECT \"re: x\"", SearchString("SUBJECT", "re: x")),
        (b"TO carol", SearchString("TO", "carol")),
        (b"BODY \"caf\xc3\xa9\"", SearchString("BODY", "café")),
        (b"TEXT needle", SearchString("TEXT", "needle")),
        (b"HEADER Message-ID \"<a@b>\"", SearchHeader("Message-ID", "<a@b>")),
        (b"HEADER X-Spam \"\"", SearchHeader("X-Spam", "")),
        (b"BEFORE 1-Feb-1994", SearchDate("internal", "before", FEB_1)),
        (b"ON \"01-feb-1994\"", SearchDate("internal", "on", FEB_1)),
        (b"SINCE 1-FEB-1994", SearchDate("internal", "since", FEB_1)),
        (b"SENTBEFORE 1-Feb-1994", SearchDate("sent", "before", FEB_1)),
        (b"SENTON 1-Feb-1994", SearchDate("sent", "on", FEB_1)),
        (b"SENTSINCE 1-Feb-1994", SearchDate("sent", "since", FEB_1)),
        (b"LARGER 1024", SearchSize("larger", 1024)),
        (b"SMALLER 4294967296", SearchSize("smaller", 4294967296)),
        (b"OLDER 3600", SearchWithin("older", 3600)),  # RFC 5032
        (b"younger 60", SearchWithin("younger", 60)),
        (b"UID 1:5,9", SearchSeq(SequenceSet(((1, 5), (9, 9))), uid=True)),
        (b"2,4:*", SearchSeq(SequenceSet(((2, 2), (4, 0))))),
        (b"*", SearchSeq(SequenceSet(((0, 0),)))),
        (b"$", SearchSeq(SequenceSet((), saved=True))),
        (b"MODSEQ 620162338", SearchModSeq(620162338)),
        (b'MODSEQ "/flags/\\\\draft" all 620162338',
         SearchModSeq(620162338, "/flags/\\draft", "all")),
        (b"NOT SEEN", SearchNot(SearchFlag("\\Seen"))),
        (b"OR SEEN FLAGGED", SearchOr(SearchFlag("\\Seen"), SearchFlag("\\Flagged"))),
        (b"(SEEN)", SearchFlag("\\Seen")),
        (b"(SEEN FLAGGED)", SearchAnd((SearchFlag("\\Seen"), SearchFlag("\\Flagged")))),
    ],
)
def test_search_key(criteria: bytes, expected: SearchKey) -> None:
    assert key(criteria) == expected


def test_nested_program() -> None:
    got = key(b"OR (FROM a NOT TO b) (UID 1:* OR 5 LARGER 9) SINCE 1-Feb-1994 undeleted")
    assert got == SearchAnd((
        SearchOr(
            SearchAnd((SearchString("FROM", "a"), SearchNot(SearchString("TO", "b")))),
            SearchAnd((
                SearchSeq(SequenceSet(((1, 0),)), uid=True),
                SearchOr(SearchSeq(SequenceSet(((5, 5),))), SearchSize("larger", 9)),
            )),
        ),
        SearchDate("internal", "since", FEB_1),
        SearchFlag("\\Deleted", False),
    ))


def test_charset_us_ascii_and_utf8() -> None:
    args = command(b"a SEARCH CHARSET US-ASCII SUBJECT hi").args
    assert isinstance(args, SearchArgs) and args.charset == "US-ASCII"
    args = command(b'a SEARCH CHARSET "utf-8" SUBJECT {5}\r\n\xc3\xa9t\xc3\xa9').args
    assert isinstance(args, SearchArgs) and args.key == SearchString("SUBJECT", "été")
    assert args.charset == "UTF-8"


def test_depth_limit() -> None:
    deep = b"NOT " * (MAX_SEARCH_DEPTH + 1) + b"SEEN"
    assert error(b"a SEARCH " + deep).message == "Search keys nested too deeply"
    parens = b"(" * (MAX_SEARCH_DEPTH + 1) + b"SEEN" + b")" * (MAX_SEARCH_DEPTH + 1)
    assert error(b"a SEARCH " + parens).status == "BAD"
    ok = b"NOT " * (MAX_SEARCH_DEPTH - 1) + b"SEEN"
    assert isinstance(key(ok), SearchNot)


@pytest.mark.parametrize(
    "criteria",
    [b"FOO", b"FROM", b"BEFORE 31-Feb-1994", b"BEFORE 1-Foo-1994", b"BEFORE 1994-02-01",
     b"LARGER x", b"LARGER 99999999999999999999", b"UID", b"UID x", b"OR SEEN", b"NOT",
     b"()", b"(SEEN", b"SEEN)", b"0", b"1:0", b"HEADER Subject", b"MODSEQ",
     b"OLDER 0", b"YOUNGER", b"YOUNGER -5", b"OLDER 99999999999",
     b'MODSEQ "/flags/\\\\seen" bogus 5', b"TEXT \"\xff\"", b"SEEN  FLAGGED", b"ON 1-Feb-1994x"],
)
def test_search_errors(criteria: bytes) -> None:
    assert error(b"a SEARCH " + criteria).status == "BAD"
