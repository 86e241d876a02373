"""Section numbers to byte ranges (RFC 3501 §6.4.5) and BODY[HEADER.FIELDS] filtering."""

from __future__ import annotations

import pytest

from postbus.message import (
    get_header,
    header_fields,
    parse,
    resolve_section,
    section_ranges,
)
from tests.unit.message.message_samples import FORWARD, MIXED, SIMPLE, crlf


def fetch(raw: bytes, path: tuple[int, ...], kind: str = "") -> bytes | None:
    found = section_ranges(parse(raw, strict=True), path, kind)
    return None if found is None else raw[found[0]:found[1]]


def test_top_level_sections() -> None:
    meta = parse(MIXED, strict=True)
    assert resolve_section(meta, ()) is meta.body
    assert fetch(MIXED, ()) == MIXED
    assert fetch(MIXED, (), "HEADER") == MIXED[:MIXED.index(b"\r\n\r\n") + 4]
    assert fetch(MIXED, (), "TEXT") == MIXED[MIXED.index(b"\r\n\r\n") + 4:]
    with pytest.raises(ValueError):
        section_ranges(meta, (), "MIME")
    with pytest.raises(ValueError):
        section_ranges(meta, (1,), "BOGUS")


def test_part_one_of_a_single_part_message_is_its_body() -> None:
    body = SIMPLE[SIMPLE.index(b"\r\n\r\n") + 4:]
    assert fetch(SIMPLE, (1,)) == body
    assert fetch(SIMPLE, (2,)) is None
    assert fetch(SIMPLE, (1, 1)) is None  # a leaf has no sub-parts
    assert fetch(SIMPLE, (1,), "HEADER") is None  # HEADER needs message/rfc822


def test_multipart_numbering_and_mime_headers() -> None:
    meta = parse(MIXED, strict=True)
    assert resolve_section(meta, (1,)) is meta.body.children[0]
    assert fetch(MIXED, (1, 1)) == b"The report is attached.\r\nRegards"
    assert fetch(MIXED, (1, 2)) == b"<p>The <b>report</b> is attached.</p>"
    assert fetch(MIXED, (1, 2), "MIME") == b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    assert fetch(MIXED, (1,), "MIME") == (
        b'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n')
    assert fetch(MIXED, (2,)) is not None and fetch(MIXED, (2,)).startswith(b"JVBERi0x")  # type: ignore[union-attr]
    for missing in [(0,), (3,), (1, 3), (2, 1), (1, 1, 1)]:
        assert resolve_section(meta, missing) is None
        assert section_ranges(meta, missing, "") is None


def test_message_rfc822_sections() -> None:
    raw = FORWARD
    nested_message = raw[raw.index(b"From: Carol"):raw.index(b"\r\n--fwd--")]
    nested_header = nested_message[:nested_message.index(b"\r\n\r\n") + 4]
    assert fetch(raw, (2,)) == nested_message
    assert fetch(raw, (2,), "HEADER") == nested_header
    assert fetch(raw, (2,), "TEXT") == nested_message[len(nested_header):]
    assert fetch(raw, (2,), "MIME") == b"Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
    # numbering continues inside the encapsulated message's multipart body
    assert fetch(raw, (2, 1)) == b"Original text"
    assert fetch(raw, (2, 2)) == b"<p>Original text</p>"
    assert fetch(raw, (2, 2), "MIME") == b"Content-Type: text/html\r\n\r\n"
    assert fetch(raw, (2, 3)) is None


def test_rfc822_inside_a_multipart_at_1_2() -> None:
    raw = crlf("Subject: outer\nContent-Type: multipart/mixed; boundary=o\n\n--o\n"
               "Content-Type: multipart/mixed; boundary=i\n\n--i\n\nfirst\n--i\n"
               "Content-Type: message/rfc822\n\nSubject: inner\nFrom: x@example.org\n\ninner body\n"
               "--i--\n--o--\n")
    meta = parse(raw, strict=True)
    start, end = section_ranges(meta, (1, 2), "HEADER") or (0, 0)
    assert raw[start:end] == b"Subject: inner\r\nFrom: x@example.org\r\n\r\n"
    assert fetch(raw, (1, 2), "TEXT") == b"inner body"
    # the encapsulated message is not multipart: it has only part 1, its body
    assert fetch(raw, (1, 2, 1)) == b"inner body"
    assert fetch(raw, (1, 2, 1), "MIME") == b"Subject: inner\r\nFrom: x@example.org\r\n\r\n"
    part = resolve_section(meta, (1, 2))
    assert part is not None and part.envelope is not None and part.envelope.subject == "inner"


def test_header_fields() -> None:
    header = (b"From: a@example.org\r\nSubject: folded\r\n  subject\r\nTo: b@example.org\r\n"
              b"X-Other: 1\r\n\r\n")
    assert header_fields(header, ["subject", "FROM"], not_=False) == (
        b"From: a@example.org\r\nSubject: folded\r\n  subject\r\n\r\n")
    assert header_fields(header, ["Subject", "From"], not_=True) == (
        b"To: b@example.org\r\nX-Other: 1\r\n\r\n")
    assert header_fields(header, ["nothing"], not_=False) == b"\r\n"


def test_header_fields_on_odd_headers() -> None:
    header = b"garbage line\nSubject: bare lf\n cont\nFrom x Tue: not a field\nTo: t"
    assert header_fields(header, ["subject"], not_=False) == b"Subject: bare lf\n cont\n\r\n"
    assert header_fields(header, ["to"], not_=False) == b"To: t\r\n\r\n"
    assert header_fields(header, ["x"], not_=True) == b"Subject: bare lf\n cont\nTo: t\r\n\r\n"


def test_get_header() -> None:
    header = b"Received: one\r\nSubject: =?utf-8?q?x?=\r\nreceived: two\r\n  folded\r\n\r\nbody: no\r\n"
    assert get_header(header, "RECEIVED") == ["one", "two  folded"]
    assert get_header(header, "subject") == ["=?utf-8?q?x?="]
    assert get_header(header, "body") == []
