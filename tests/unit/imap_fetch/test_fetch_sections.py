"""BODY[section]<partial> and RFC822.* responses, byte-exact (checked against Dovecot 2.3)."""

from __future__ import annotations

import pytest

from tests.unit.imap_fetch.samples import NESTED, SIMPLE
from tests.unit.imap_fetch.support import Folder

SIMPLE_HEADER, _, SIMPLE_TEXT = SIMPLE.partition(b"\r\n\r\n")
SIMPLE_HEADER += b"\r\n\r\n"


def lit(data: bytes) -> bytes:
    return b"{%d}\r\n%s" % (len(data), data)


@pytest.fixture
async def simple(folder: Folder) -> Folder:
    await folder.add(SIMPLE)
    await folder.add(NESTED)
    return folder


async def test_whole_message_header_and_text(simple: Folder) -> None:
    data, _ = await simple.fetch("1 (BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
    assert data == (b"* 1 FETCH (BODY[] " + lit(SIMPLE) + b" BODY[HEADER] " + lit(SIMPLE_HEADER)
                    + b" BODY[TEXT] " + lit(SIMPLE_TEXT) + b")\r\n")


async def test_header_fields_echo_upper_case_names(simple: Folder) -> None:
    data, _ = await simple.fetch("1 (BODY.PEEK[HEADER.FIELDS (x-long Subject)])", uid=True)
    fields = b"Subject: Lunch on\r\n Thursday?\r\nX-Long: one\r\n  two\r\n\r\n"
    assert data == (b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (X-LONG SUBJECT)] "
                    + lit(fields) + b")\r\n")


async def test_header_fields_not(simple: Folder) -> None:
    data, _ = await simple.fetch("1 BODY.PEEK[HEADER.FIELDS.NOT (Subject from X-LONG)]")
    kept = (b"To: Bob <bob@example.net>, carol@example.com\r\n"
            b'Cc: "Dave, D." <dave@example.com>\r\n'
            b"Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
            b"Message-ID: <1234@example.org>\r\n\r\n")
    assert data == b"* 1 FETCH (BODY[HEADER.FIELDS.NOT (SUBJECT FROM X-LONG)] " + lit(kept) + b")\r\n"


async def test_header_fields_absent_is_blank_line(simple: Folder) -> None:
    data, _ = await simple.fetch("1 BODY.PEEK[HEADER.FIELDS (X-Nothere)]")
    assert data == b"* 1 FETCH (BODY[HEADER.FIELDS (X-NOTHERE)] {2}\r\n\r\n)\r\n"


async def test_nested_message_sections(simple: Folder) -> None:
    data, _ = await simple.fetch(
        "2 (BODY.PEEK[1.2.HEADER] BODY.PEEK[1.2.TEXT] BODY.PEEK[1.1] BODY.PEEK[1.2.1]"
        " BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[1.HEADER.FIELDS (subject)])")
    assert data == (
        b"* 2 FETCH (BODY[1.2.HEADER] "
        + lit(b"From: c@example.org\r\nSubject: inner\r\nX-Deep: yes\r\n\r\n")
        + b" BODY[1.2.TEXT] " + lit(b"inner body")
        + b" BODY[1.1] " + lit(b"middle text")
        + b" BODY[1.2.1] " + lit(b"inner body")
        + b" BODY[1.MIME] " + lit(b"Content-Type: message/rfc822\r\n\r\n")
        + b" BODY[2] " + lit(b"AAECAw==")
        + b" BODY[1.HEADER.FIELDS (SUBJECT)] " + lit(b"Subject: middle\r\n\r\n")
        + b")\r\n")


async def test_sections_that_name_nothing_are_empty(simple: Folder) -> None:
    # As Dovecot: a missing part, HEADER of a non-message part, part 2 of a single part
    data, _ = await simple.fetch(
        "2 (BODY.PEEK[5] BODY.PEEK[1.5] BODY.PEEK[2.HEADER] BODY.PEEK[1.1.TEXT]"
        " BODY.PEEK[2.1])")
    assert data == (b"* 2 FETCH (BODY[5] {0}\r\n BODY[1.5] {0}\r\n BODY[2.HEADER] {0}\r\n"
                    b" BODY[1.1.TEXT] {0}\r\n BODY[2.1] {0}\r\n)\r\n")
    data, _ = await simple.fetch("1 (BODY.PEEK[1] BODY.PEEK[2])")
    assert data == b"* 1 FETCH (BODY[1] " + lit(SIMPLE_TEXT) + b" BODY[2] {0}\r\n)\r\n"


async def test_partials(simple: Folder) -> None:
    data, _ = await simple.fetch(
        "1 (BODY.PEEK[]<0.10> BODY.PEEK[TEXT]<4.3> BODY.PEEK[]<1000.10>"
        " BODY.PEEK[HEADER.FIELDS (SUBJECT)]<9.8> BODY.PEEK[TEXT]<10.100000>)")
    assert data == (
        b"* 1 FETCH (BODY[]<0> " + lit(SIMPLE[:10])
        + b" BODY[TEXT]<4> " + lit(SIMPLE_TEXT[4:7])
        + b" BODY[]<1000> {0}\r\n"
        + b" BODY[HEADER.FIELDS (SUBJECT)]<9> " + lit(b"Lunch on")
        + b" BODY[TEXT]<10> " + lit(SIMPLE_TEXT[10:])
        + b")\r\n")


async def test_rfc822_items(simple: Folder) -> None:
    data, _ = await simple.fetch("1 (RFC822.HEADER)")
    assert data == b"* 1 FETCH (RFC822.HEADER " + lit(SIMPLE_HEADER) + b")\r\n"
    data, _ = await simple.fetch("1 (RFC822.TEXT)", readonly=True)
    assert data == b"* 1 FETCH (RFC822.TEXT " + lit(SIMPLE_TEXT) + b")\r\n"
    data, _ = await simple.fetch("1 RFC822", readonly=True)
    assert data == b"* 1 FETCH (RFC822 " + lit(SIMPLE) + b")\r\n"


async def test_body_and_peek_of_one_section_answer_once(simple: Folder) -> None:
    data, outcome = await simple.fetch("1 (BODY.PEEK[TEXT] BODY[TEXT])")
    assert data == b"* 1 FETCH (FLAGS (\\Seen) BODY[TEXT] " + lit(SIMPLE_TEXT) + b")\r\n"
    assert [e.uid for e in outcome.seen] == [1]


async def test_message_without_header_or_body(folder: Folder) -> None:
    await folder.add(b"Subject: only a header\r\n")
    await folder.add(b"")
    data, _ = await folder.fetch("1:2 (BODY.PEEK[HEADER] BODY.PEEK[TEXT] RFC822.SIZE)")
    assert data == (b"* 1 FETCH (BODY[HEADER] {24}\r\nSubject: only a header\r\n"
                    b" BODY[TEXT] {0}\r\n RFC822.SIZE 24)\r\n"
                    b"* 2 FETCH (BODY[HEADER] {0}\r\n BODY[TEXT] {0}\r\n RFC822.SIZE 0)\r\n")
