"""ENVELOPE, threading ids and header decoding (RFC 3501 §7.4.2, RFC 2047, RFC 5322)."""

from __future__ import annotations

from postbus.message import GROUP_END, decode_header_value, parse, parse_address_list
from postbus.message.sortkeys import unicode_casemap
from tests.unit.message.message_samples import SIMPLE, crlf


def test_envelope_of_a_normal_message() -> None:
    env = parse(SIMPLE, strict=True).envelope
    assert env.date == "Tue, 1 Jul 2003 10:52:37 +0200"
    assert env.subject == "Lunch on Thursday?"  # unfolded: CRLF removed, the space kept
    assert env.from_ == [("Alice Example", None, "alice", "example.org")]
    assert env.sender == env.from_ and env.reply_to == env.from_  # RFC 3501: default to From
    assert env.to == [("Bob", None, "bob", "example.net"), (None, None, "carol", "example.com")]
    assert env.cc == [("Dave, D.", None, "dave", "example.com")]
    assert env.bcc == []
    assert env.in_reply_to == "<1000@example.net>"
    assert env.message_id == "<1234@example.org>"


def test_threading_ids() -> None:
    meta = parse(SIMPLE, strict=True)
    assert meta.message_id == "1234@example.org"
    assert meta.in_reply_to == "1000@example.net"
    assert meta.references == ["999@example.net", "1000@example.net"]


def test_sender_and_reply_to_are_kept_when_present() -> None:
    raw = crlf("From: a@example.org\nSender: list@example.org\nReply-To: list@example.org\n\nx")
    env = parse(raw, strict=True).envelope
    assert env.sender == [(None, None, "list", "example.org")]
    assert env.reply_to == [(None, None, "list", "example.org")]


def test_empty_sender_defaults_to_from() -> None:
    env = parse(crlf("From: a@example.org\nSender:\nReply-To: \n\nx"), strict=True).envelope
    assert env.sender == env.reply_to == [(None, None, "a", "example.org")]


def test_group_syntax() -> None:
    raw = crlf("From: a@example.org\nTo: Team: x@example.org, \"Y\" <y@example.org>;, z@example.org\n"
               "Cc: undisclosed-recipients:;\n\nbody")
    env = parse(raw, strict=True).envelope
    assert env.to == [
        (None, None, "Team", None),  # group start: mailbox holds the group name
        (None, None, "x", "example.org"),
        ("Y", None, "y", "example.org"),
        GROUP_END,
        (None, None, "z", "example.org"),
    ]
    assert env.cc == [(None, None, "undisclosed-recipients", None), GROUP_END]


def test_unterminated_group_is_closed() -> None:
    assert parse_address_list("G: a@b") == [(None, None, "G", None), (None, None, "a", "b"), GROUP_END]


def test_address_oddities() -> None:
    assert parse_address_list("joe@example.org (Joe Bloggs)") == [
        ("Joe Bloggs", None, "joe", "example.org")]
    assert parse_address_list("<@relay.example:joe@example.org>") == [
        (None, "@relay.example", "joe", "example.org")]
    assert parse_address_list('"joe smith"@example.org') == [
        (None, None, '"joe smith"', "example.org")]
    assert parse_address_list("John Q. Public <jqp@example.org>") == [
        ("John Q. Public", None, "jqp", "example.org")]
    assert parse_address_list("nobody") == [(None, None, "nobody", "MISSING_DOMAIN")]
    assert parse_address_list("a@b, , ,c@d") == [(None, None, "a", "b"), (None, None, "c", "d")]
    assert parse_address_list('"unbalanced <x@y>') == [(None, None, '"unbalanced <x@y>', "MISSING_DOMAIN")]


def test_encoded_words_stay_raw_in_the_envelope() -> None:
    raw = crlf("From: =?iso-8859-1?q?J=F6rg?= <j@example.org>\n"
               "Subject: =?utf-8?b?Q2Fmw6kgY3LDqG1l?=\n\nx")
    meta = parse(raw, strict=True)
    assert meta.envelope.subject == "=?utf-8?b?Q2Fmw6kgY3LDqG1l?="
    assert meta.envelope.from_[0][0] == "=?iso-8859-1?q?J=F6rg?="
    assert meta.sort_subject == unicode_casemap("café crème")
    assert meta.sort_display_from == unicode_casemap("jörg")


def test_decode_header_value() -> None:
    assert decode_header_value("plain text") == "plain text"
    assert decode_header_value("=?utf-8?q?caf=C3=A9_au?= lait") == "café au lait"
    # RFC 2047 §6.2: white space between adjacent encoded words is dropped
    assert decode_header_value("=?utf-8?q?a?= \t =?utf-8?q?b?=") == "ab"
    # a UTF-8 character split across two words
    assert decode_header_value("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=") == "éé"
    assert decode_header_value("=?UTF-8?B?4pyT?=") == "✓"
    assert decode_header_value("=?utf-8?b?w6?= =?utf-8?q?=A9?=") == "é"
    assert decode_header_value("=?windows-1252?q?=80?=") == "€"
    assert decode_header_value("=?utf-8*en?q?hi?=") == "hi"  # RFC 2231 §5 language
    assert decode_header_value("x=?utf-8?q?glued?=y") == "xgluedy"


def test_decode_header_value_is_tolerant() -> None:
    assert decode_header_value("=?bogus-charset?q?caf=C3=A9?=") == "café"
    assert decode_header_value("=?utf-8?b?!!!not base64?=") == "=?utf-8?b?!!!not base64?="
    assert decode_header_value("=?utf-8?x?unknown?=") == "=?utf-8?x?unknown?="
    assert decode_header_value("=?utf-8?q?unterminated") == "=?utf-8?q?unterminated"
    assert decode_header_value("=?base64_codec?q?abc?=") == "abc"  # not a text codec
    assert decode_header_value("=?utf-8?b?/w==?=") == "\ufffd"


def test_missing_headers() -> None:
    meta = parse(b"\r\nJust a body\r\n", strict=True)
    env = meta.envelope
    assert (env.date, env.subject, env.in_reply_to, env.message_id) == (None, None, None, None)
    assert env.from_ == env.sender == env.reply_to == env.to == env.cc == env.bcc == []
    assert meta.header_end == 2
    assert meta.sort_date is None and meta.sort_subject == "" and meta.sort_from == ""
    assert meta.message_id is None and meta.references == []
    assert meta.preview == "Just a body"


def test_first_occurrence_wins() -> None:
    env = parse(crlf("Subject: one\nSubject: two\n\n"), strict=True).envelope
    assert env.subject == "one"


def test_eight_bit_headers() -> None:
    raw = (b"From: J\xc3\xb6rg <joerg@example.org>\r\n"
           b"To: Ren\xe9 <rene@example.org>\r\n"
           b"Subject: caf\xe9 \xff\r\n\r\nbody")
    meta = parse(raw, strict=True)
    assert meta.envelope.from_[0][0] == "Jörg"  # valid UTF-8 line read as UTF-8
    assert meta.envelope.to[0][0] == "René"  # invalid UTF-8 line read as latin-1
    assert meta.envelope.subject == "café ÿ"
    assert meta.envelope.subject.encode("latin-1") == b"caf\xe9 \xff"  # lossless


def test_mbox_from_line_is_not_a_field() -> None:
    raw = crlf("From alice@example.org Tue Jul  1 10:52:37 2003\nFrom: a@example.org\n\nx")
    assert parse(raw, strict=True).envelope.from_ == [(None, None, "a", "example.org")]
