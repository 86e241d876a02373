"""SORT keys: RFC 5256 base subject and address keys, RFC 5957 DISPLAY, and dates."""

from __future__ import annotations

import pytest

from postbus.message import base_subject, parse, parse_date
from postbus.message.sortkeys import SORT_KEYS_VERSION, sort_keys, unicode_casemap
from tests.unit.message.message_samples import SIMPLE, crlf


@pytest.mark.parametrize(("subject", "base", "is_reply"), [
    ("Hello", "hello", False),
    ("Re: Hello", "hello", True),
    ("RE: re: Fwd: Hello", "hello", True),
    ("Fw: Hello", "hello", True),
    ("Re[2]: Hello", "hello", True),  # subj-blob inside subj-refwd
    ("[list] Re: Hello", "hello", True),  # blobs before a subj-refwd
    ("Re: [list] Hello", "hello", True),  # leading blob removed: leaves a non-empty base
    ("[only a blob]", "[only a blob]", False),  # removing it would leave nothing
    ("Re: [a] [b]", "[b]", True),
    ("Hello (fwd)", "hello", True),  # subj-trailer
    ("Hello (fwd) (FWD)  ", "hello", True),
    ("[Fwd: Re: Hello]", "hello", True),  # subj-fwd-hdr and subj-fwd-trl
    ("[fwd: [fwd: nested] ]", "nested", True),
    ("  Hello \t  world  ", "hello world", False),  # blanks collapsed, ends trimmed
    ("=?utf-8?q?Re=3A_Gr=C3=BC=C3=9Fe?=", "grüße", True),  # decoded first, then casemapped
    ("Re:", "", True),
    ("", "", False),
    (None, "", False),
])
def test_base_subject(subject: str | None, base: str, is_reply: bool) -> None:
    assert base_subject(subject) == (unicode_casemap(base), is_reply)


def test_address_sort_keys() -> None:
    meta = parse(SIMPLE, strict=True)
    assert meta.sort_from == "ALICE"
    assert meta.sort_to == "BOB"
    assert meta.sort_cc == "DAVE"
    assert meta.sort_display_from == "ALICE EXAMPLE"
    assert meta.sort_display_to == "BOB"
    assert meta.sort_subject == "LUNCH ON THURSDAY?"
    assert meta.sort_date == 1057049557.0
    assert meta.sort_keys_version == SORT_KEYS_VERSION


def test_display_key_falls_back_to_the_address() -> None:
    raw = crlf("From: alice@Example.org\nTo: =?utf-8?q?Zo=C3=AB?= <Zoe@example.org>\n\nx")
    meta = parse(raw, strict=True)
    assert meta.sort_display_from == "ALICE@EXAMPLE.ORG"
    assert meta.sort_from == "ALICE"
    assert meta.sort_to == "ZOE"
    assert meta.sort_display_to == "ZOE\u0308"  # ë: titlecase, then decomposed


def test_group_syntax_sorts_by_the_group_name() -> None:
    # RFC 5256 §3: the addr-mailbox of the first address, which for group syntax is
    # the group start (RFC 3501 §7.4.2: mailbox = group name); RFC 5957 §3 likewise.
    raw = crlf("From: Zed <zed@example.org>\n"
               "To: Team: =?utf-8?q?Zo=C3=AB?= <Zoe@example.org>, x@example.org;\n"
               "Cc: undisclosed-recipients:;\n\nx")
    meta = parse(raw, strict=True)
    assert meta.sort_to == "TEAM"
    assert meta.sort_display_to == "TEAM"
    assert meta.sort_cc == "UNDISCLOSED-RECIPIENTS"
    assert meta.sort_from == "ZED"


def test_quoted_local_part_sort_key() -> None:
    meta = parse(crlf('From: "Joe Smith"@example.org\n\nx'), strict=True)
    assert meta.sort_from == "JOE SMITH"


@pytest.mark.parametrize(("a", "b"), [
    # RFC 5051 §2: titlecase, then decompose recursively
    ("å", "\u00c5"), ("\u212b", "\u00c5"), ("\u00c5", "A\u030a"),  # ANGSTROM SIGN
    ("é", "E\u0301"), ("\u01c4", "\u01c6"), ("\u01c5", "\u01c6"),  # DŽ Dž dž
    ("STRASSE", "strasse"), ("ΣΊΣΥΦΟΣ", "σίσυφος"),
])
def test_unicode_casemap_equal(a: str, b: str) -> None:
    assert unicode_casemap(a) == unicode_casemap(b)


def test_unicode_casemap_is_not_lower_case() -> None:
    # i;unicode-casemap maps to titlecase: ASCII letters become capitals, so the
    # punctuation between "Z" and "a" ([ \\ ] ^ _ `) sorts after every letter.
    words = ["_under", "[xyz]", "apple", "Zebra", "`tick", "0zero", "~tilde", "^caret"]
    assert sorted(words, key=unicode_casemap) == [
        "0zero", "apple", "Zebra", "[xyz]", "^caret", "_under", "`tick", "~tilde"]
    assert unicode_casemap("ß") == "ß"  # no simple titlecase mapping: unchanged
    # a letter with a diacritic sorts right after its base letter, before the next one
    assert unicode_casemap("e") < unicode_casemap("é") < unicode_casemap("É!") < unicode_casemap("f")


def test_old_records_get_their_keys_recomputed_from_the_envelope() -> None:
    meta = parse(crlf("From: _x@example.org\nSubject: [xyz]\n\nx"), strict=True)
    keys = sort_keys(meta.envelope)
    assert (keys.subject, keys.from_) == (meta.sort_subject, meta.sort_from) == ("[XYZ]", "_X")


@pytest.mark.parametrize(("value", "expected"), [
    ("Tue, 1 Jul 2003 10:52:37 +0200", 1057049557.0),
    ("1 Jul 2003 10:52:37 +0200", 1057049557.0),
    ("Tue,  1 Jul 2003 08:52:37 GMT", 1057049557.0),
    ("Tue, 01 Jul 03 08:52:37 +0000", 1057049557.0),  # RFC 5322 §4.3 two-digit year
    ("Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", 1057049557.0),
    ("Tue, 1 Jul 2003 10:52 +0200", 1057049520.0),
    ("not a date", None),
    ("Tue, 45 Jul 2003 10:52:37 +0200", None),
    ("Tue, 1 Jul 99999 10:52:37 +0200", None),
    ("", None),
])
def test_parse_date(value: str, expected: float | None) -> None:
    assert parse_date(value) == expected


def test_sort_recomputes_the_keys_of_a_record_written_before_them() -> None:
    import msgspec

    from postbus.mailbox.keys import current_sort_keys

    meta = parse(crlf("From: _x@example.org\nTo: G: a@b.c;\nSubject: [xyz]\n\nx"), strict=True)
    old = msgspec.structs.replace(meta, sort_subject="[xyz]", sort_from="_x", sort_to="a",
                                  sort_keys_version=0)
    assert current_sort_keys(old) == meta
