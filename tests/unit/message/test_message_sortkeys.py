"""SORT keys: RFC 5256 base subject and address keys, RFC 5957 DISPLAY, and dates."""

from __future__ import annotations

import pytest

from postbus.message import base_subject, parse, parse_date
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
    ("=?utf-8?q?Re=3A_Gr=C3=BC=C3=9Fe?=", "grüsse", True),  # decoded first, case-folded
    ("Re:", "", True),
    ("", "", False),
    (None, "", False),
])
def test_base_subject(subject: str | None, base: str, is_reply: bool) -> None:
    assert base_subject(subject) == (base, is_reply)


def test_address_sort_keys() -> None:
    meta = parse(SIMPLE, strict=True)
    assert meta.sort_from == "alice"
    assert meta.sort_to == "bob"
    assert meta.sort_cc == "dave"
    assert meta.sort_display_from == "alice example"
    assert meta.sort_display_to == "bob"
    assert meta.sort_subject == "lunch on thursday?"
    assert meta.sort_date == 1057049557.0


def test_display_key_falls_back_to_the_address_and_skips_groups() -> None:
    raw = crlf("From: ALICE@Example.org\nTo: Team: =?utf-8?q?Zo=C3=AB?= <Zoe@example.org>;\n\nx")
    meta = parse(raw, strict=True)
    assert meta.sort_display_from == "alice@example.org"
    assert meta.sort_from == "alice"
    assert meta.sort_to == "zoe"
    assert meta.sort_display_to == "zoë"


def test_quoted_local_part_sort_key() -> None:
    meta = parse(crlf('From: "Joe Smith"@example.org\n\nx'), strict=True)
    assert meta.sort_from == "joe smith"


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
