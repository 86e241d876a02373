"""Selected-state commands: FETCH, STORE, COPY, MOVE, EXPUNGE, SEARCH, SORT, THREAD."""

import pytest

from postbus.imap.proto import (
    NO_ARGS,
    CopyArgs,
    FetchArgs,
    FetchAtt,
    SearchAll,
    SearchAnd,
    SearchArgs,
    SearchFlag,
    SearchSeq,
    SearchString,
    Section,
    SequenceArgs,
    SequenceSet,
    SortArgs,
    SortCriterion,
    StoreArgs,
    ThreadArgs,
)

from .helpers import command, error


def fetch(line: bytes) -> FetchArgs:
    args = command(line).args
    assert isinstance(args, FetchArgs)
    return args


def names(args: FetchArgs) -> list[str]:
    return [a.name for a in args.atts]


def test_fetch_macros() -> None:
    assert names(fetch(b"a FETCH 1 ALL")) == ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"]
    assert names(fetch(b"a FETCH 1 fast")) == ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]
    assert names(fetch(b"a FETCH 1 FULL")) == [
        "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"
    ]
    assert fetch(b"a FETCH 1 FULL").macro == "FULL"
    assert error(b"a FETCH 1 (ALL)").status == "BAD"


def test_fetch_simple_items() -> None:
    args = fetch(
        b"a FETCH 1:* (uid FLAGS ENVELOPE BODYSTRUCTURE BODY INTERNALDATE RFC822 "
        b"RFC822.HEADER RFC822.SIZE RFC822.TEXT MODSEQ)"
    )
    assert names(args) == [
        "UID", "FLAGS", "ENVELOPE", "BODYSTRUCTURE", "BODY", "INTERNALDATE", "RFC822",
        "RFC822.HEADER", "RFC822.SIZE", "RFC822.TEXT", "MODSEQ",
    ]
    assert [a.key for a in args.atts][:2] == [b"UID", b"FLAGS"]
    assert args.seqset == SequenceSet(((1, 0),))


def test_uid_fetch_header_fields() -> None:
    cmd = command(b"A1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])")
    assert cmd.uid and cmd.name == "FETCH"
    assert isinstance(cmd.args, FetchArgs)
    att = cmd.args.atts[1]
    assert att == FetchAtt(
        "BODY", Section((), "HEADER.FIELDS", ("FROM", "SUBJECT", "DATE")), None, True,
        b"BODY[HEADER.FIELDS (FROM SUBJECT DATE)]",
    )
    assert not att.sets_seen


@pytest.mark.parametrize(
    ("item", "section", "partial", "peek", "key"),
    [
        (b"BODY[]", Section(), None, False, b"BODY[]"),
        (b"BODY.PEEK[]<0.1024>", Section(), (0, 1024), True, b"BODY[]<0>"),
        (b"body[text]", Section((), "TEXT"), None, False, b"BODY[TEXT]"),
        (b"BODY[1]", Section((1,)), None, False, b"BODY[1]"),
        (b"BODY[1.2.3]<10.20>", Section((1, 2, 3)), (10, 20), False, b"BODY[1.2.3]<10>"),
        (b"BODY[1.2.HEADER]", Section((1, 2), "HEADER"), None, False, b"BODY[1.2.HEADER]"),
        (b"BODY[2.MIME]", Section((2,), "MIME"), None, False, b"BODY[2.MIME]"),
        (b"BODY[3.TEXT]", Section((3,), "TEXT"), None, False, b"BODY[3.TEXT]"),
        (b"BODY[HEADER.FIELDS.NOT (Received \"X y\")]",
         Section((), "HEADER.FIELDS.NOT", ("Received", "X y")), None, False,
         b'BODY[HEADER.FIELDS.NOT (Received "X y")]'),
        (b"BINARY[1]", Section((1,)), None, False, b"BINARY[1]"),
        (b"BINARY.PEEK[1.2]<0.5>", Section((1, 2)), (0, 5), True, b"BINARY[1.2]<0>"),
        (b"BINARY[]", Section(), None, False, b"BINARY[]"),
        (b"BINARY.SIZE[2]", Section((2,)), None, False, b"BINARY.SIZE[2]"),
    ],
)
def test_fetch_sections(
    item: bytes, section: Section, partial: tuple[int, int] | None, peek: bool, key: bytes
) -> None:
    (att,) = fetch(b"a FETCH 1 " + item).atts
    assert (att.section, att.partial, att.peek, att.key) == (section, partial, peek, key)


def test_fetch_header_field_names_as_literal() -> None:
    (att,) = fetch(b"a FETCH 1 BODY[HEADER.FIELDS ({4}\r\nFrom)]").atts
    assert att.section == Section((), "HEADER.FIELDS", ("From",))


def test_sets_seen() -> None:
    atts = fetch(b"a FETCH 1 (BODY[] BODY.PEEK[] RFC822 RFC822.HEADER BINARY.SIZE[1] FLAGS)").atts
    assert [a.sets_seen for a in atts] == [True, False, True, False, False, False]


@pytest.mark.parametrize(
    "item",
    [b"BODY[MIME]", b"BODY[0]", b"BODY[1.]", b"BODY[HEADER.FIELDS]", b"BODY[HEADER.FIELDS ()]",
     b"BINARY[TEXT]", b"BINARY[1.HEADER]", b"BODY[]<0.0>", b"BODY[]<1>", b"FOO",
     b"FLAGS[1]", b"BODY[1", b"()", b"(FLAGS", b"BODY[TEXT]<0.10", b"BODY[01234567890]"],
)
def test_fetch_errors(item: bytes) -> None:
    assert error(b"a FETCH 1 " + item).status == "BAD"


def test_fetch_modifiers() -> None:
    args = fetch(b"a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)")
    assert (args.changedsince, args.vanished) == (12345, True)
    assert fetch(b"a FETCH 1:* FLAGS (CHANGEDSINCE 7)").changedsince == 7
    # RFC 7162 §3.2.6: VANISHED only in UID FETCH, only with CHANGEDSINCE
    assert error(b"a FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)").status == "BAD"
    assert error(b"a UID FETCH 1:* (FLAGS) (VANISHED)").status == "BAD"
    assert error(b"a FETCH 1 FLAGS (FOO)").status == "BAD"
    assert error(b"a FETCH 1 FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)").status == "BAD"


def test_store() -> None:
    s = SequenceSet(((2, 4),))
    assert command(b"a STORE 2:4 +FLAGS (\\Deleted)").args == StoreArgs(s, "add", ("\\Deleted",))
    assert command(b"a STORE 2:4 -flags.silent \\seen $x").args == StoreArgs(
        s, "remove", ("\\Seen", "$x"), silent=True
    )
    assert command(b"a STORE 2:4 FLAGS ()").args == StoreArgs(s, "replace", ())
    cmd = command(b"a UID STORE 2:4 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)")
    assert cmd.uid and cmd.args == StoreArgs(
        s, "add", ("\\Deleted",), silent=True, unchangedsince=320162338
    )


@pytest.mark.parametrize(
    "line",
    [b"a STORE 1 FLAG (\\Seen)", b"a STORE 1 +FLAGS", b"a STORE 1", b"a STORE 1 (FOO 1) FLAGS ()",
     b"a STORE 0 FLAGS ()", b"a STORE 1 FLAGS (\\)", b"a STORE 1 *FLAGS ()"],
)
def test_store_errors(line: bytes) -> None:
    assert error(line).status == "BAD"


@pytest.mark.parametrize("name", [b"COPY", b"MOVE"])
def test_copy_and_move(name: bytes) -> None:
    cmd = command(b"a " + name + b' 1,3:5 "Saved &AOk-l&AOk-ments"')
    assert cmd.args == CopyArgs(SequenceSet(((1, 1), (3, 5))), "Saved élé" + "ments")
    cmd = command(b"a UID " + name + b" 4:* Trash")
    assert cmd.uid and cmd.args == CopyArgs(SequenceSet(((4, 0),)), "Trash")
    assert error(b"a " + name + b" 1").status == "BAD"


def test_expunge_and_uid_expunge() -> None:
    assert command(b"a EXPUNGE").args == NO_ARGS
    cmd = command(b"a UID EXPUNGE 3000:3002")
    assert cmd.uid and cmd.args == SequenceArgs(SequenceSet(((3000, 3002),)))
    assert error(b"a UID EXPUNGE").status == "BAD"
    assert error(b"a EXPUNGE 1").status == "BAD"


def test_search_plain_and_esearch() -> None:
    cmd = command(b"a SEARCH UNSEEN")
    assert cmd.args == SearchArgs(SearchFlag("\\Seen", False))
    cmd = command(b"a UID SEARCH RETURN (MIN MAX COUNT ALL SAVE) CHARSET utf-8 TEXT foo")
    assert cmd.uid and cmd.args == SearchArgs(
        SearchString("TEXT", "foo"), "UTF-8", ("MIN", "MAX", "COUNT", "ALL", "SAVE")
    )
    assert command(b"a SEARCH RETURN () ALL").args == SearchArgs(SearchAll(), None, ())
    assert error(b"a SEARCH RETURN (FOO) ALL").status == "BAD"
    assert error(b"a SEARCH").status == "BAD"


def test_search_saved_result() -> None:
    cmd = command(b"a UID SEARCH UID $ SEEN")
    assert cmd.args == SearchArgs(SearchAnd((
        SearchSeq(SequenceSet((), saved=True), uid=True), SearchFlag("\\Seen")
    )))


def test_search_bad_charset_is_no() -> None:
    err = error(b"a SEARCH CHARSET KOI8-R TEXT x")
    assert (err.status, err.code) == ("NO", "BADCHARSET (US-ASCII UTF-8)")
    assert err.tag == "a"


def test_sort() -> None:
    cmd = command(
        b"a SORT (REVERSE DATE SUBJECT ARRIVAL FROM TO CC SIZE DISPLAYFROM DISPLAYTO) "
        b"UTF-8 ALL"
    )
    assert cmd.args == SortArgs(
        (SortCriterion("DATE", True), SortCriterion("SUBJECT"), SortCriterion("ARRIVAL"),
         SortCriterion("FROM"), SortCriterion("TO"), SortCriterion("CC"), SortCriterion("SIZE"),
         SortCriterion("DISPLAYFROM"), SortCriterion("DISPLAYTO")),
        "UTF-8", SearchAll(),
    )
    cmd = command(b"a UID SORT (reverse arrival) US-ASCII UNDELETED SINCE 1-Feb-1994")
    assert cmd.uid and isinstance(cmd.args, SortArgs)
    assert cmd.args.criteria == (SortCriterion("ARRIVAL", True),)
    assert cmd.args.charset == "US-ASCII"
    cmd = command(b"a SORT RETURN (MIN COUNT) (DATE) UTF-8 ALL")  # ESORT, RFC 5267
    assert isinstance(cmd.args, SortArgs) and cmd.args.returns == ("MIN", "COUNT")
    cmd = command(b"a SORT RETURN (PARTIAL -1:-50 COUNT) (DATE) UTF-8 ALL")  # RFC 9394
    assert isinstance(cmd.args, SortArgs) and cmd.args.partial == (-1, -50)
    assert cmd.args.returns == ("PARTIAL", "COUNT")
    cmd = command(b"a SEARCH RETURN (partial 500:1) ALL")
    assert isinstance(cmd.args, SearchArgs) and cmd.args.partial == (500, 1)


@pytest.mark.parametrize(
    "line",
    [b"a SORT (DATE)", b"a SORT () UTF-8 ALL", b"a SORT (REVERSE) UTF-8 ALL",
     b"a SORT (BOGUS) UTF-8 ALL", b"a SORT DATE UTF-8 ALL", b"a SORT (DATE) UTF-8",
     b"a SORT RETURN (PARTIAL) (DATE) UTF-8 ALL", b"a SORT RETURN (PARTIAL 0:5) (DATE) UTF-8 ALL",
     b"a SORT RETURN (PARTIAL -1:5) (DATE) UTF-8 ALL",
     b"a SORT RETURN (PARTIAL 1:5 PARTIAL 6:9) (DATE) UTF-8 ALL",
     b"a SORT RETURN (ALL PARTIAL 1:5) (DATE) UTF-8 ALL"],
)
def test_sort_errors(line: bytes) -> None:
    assert error(line).status == "BAD"


def test_sort_bad_charset() -> None:
    assert error(b"a SORT (DATE) ISO-8859-1 ALL").code == "BADCHARSET (US-ASCII UTF-8)"


def test_thread() -> None:
    cmd = command(b"a THREAD references UTF-8 SINCE 5-MAR-2000")
    assert isinstance(cmd.args, ThreadArgs) and cmd.args.algorithm == "REFERENCES"
    cmd = command(b"a UID THREAD ORDEREDSUBJECT US-ASCII ALL")
    assert cmd.uid and cmd.args == ThreadArgs("ORDEREDSUBJECT", "US-ASCII", SearchAll())
    assert error(b"a THREAD FOO UTF-8 ALL").status == "BAD"


def test_fetch_preview_and_lazy() -> None:
    # RFC 8970 §7: PREVIEW with optional modifiers; the answer is always PREVIEW.
    assert names(fetch(b"a FETCH 1 PREVIEW")) == ["PREVIEW"]
    assert names(fetch(b"a FETCH 1 (UID PREVIEW (LAZY) FLAGS)")) == ["UID", "PREVIEW", "FLAGS"]
    assert fetch(b"a FETCH 1 (preview (lazy))").atts[0].key == b"PREVIEW"
    args = fetch(b"a FETCH 1 PREVIEW (CHANGEDSINCE 7)")  # a FETCH modifier, not a preview one
    assert names(args) == ["PREVIEW"] and args.changedsince == 7
    assert error(b"a FETCH 1 (PREVIEW (EAGER))").status == "BAD"
    assert error(b"a FETCH 1 (PREVIEW ())").status == "BAD"


def test_fetch_fuzzy_preview_and_snippet() -> None:
    # The drafts before RFC 8970 (SNIPPET=FUZZY, PREVIEW=FUZZY), in the forms Dovecot 2.3
    # takes: FUZZY or LAZY=FUZZY ask for PREVIEW (FUZZY "..."); SNIPPET always answers so.
    assert [(a.name, a.key) for a in fetch(
        b"a FETCH 1 (PREVIEW (FUZZY) PREVIEW (lazy=fuzzy) PREVIEW (LAZY) SNIPPET"
        b" SNIPPET (FUZZY) snippet (lazy) SNIPPET (LAZY FUZZY))").atts] == [
        ("PREVIEW.FUZZY", b"PREVIEW"), ("PREVIEW.FUZZY", b"PREVIEW"), ("PREVIEW", b"PREVIEW"),
        ("SNIPPET", b"SNIPPET"), ("SNIPPET", b"SNIPPET"), ("SNIPPET", b"SNIPPET"),
        ("SNIPPET", b"SNIPPET")]
    args = fetch(b"a FETCH 1 SNIPPET (CHANGEDSINCE 7)")  # a FETCH modifier, not a preview one
    assert names(args) == ["SNIPPET"] and args.changedsince == 7
    assert names(fetch(b"a FETCH 1 PREVIEW (FUZZY) (CHANGEDSINCE 7)")) == ["PREVIEW.FUZZY"]
    for bad in (b"a FETCH 1 (SNIPPET (FOO))", b"a FETCH 1 (SNIPPET ())",
                b"a FETCH 1 (PREVIEW (FUZZY=LAZY))", b"a FETCH 1 (SNIPPET.FUZZY)"):
        assert error(bad).status == "BAD"
