"""Response writer: quoting rules, literals, status lines, mailbox names."""

import pytest

from postbus.imap.proto import writer as w
from postbus.imap.proto.limits import MAX_QUOTED


def test_tagged_and_untagged_status() -> None:
    assert w.tagged("a1", "OK", "FETCH completed") == b"a1 OK FETCH completed\r\n"
    assert w.tagged("a1", "NO", "Too big", "TOOBIG") == b"a1 NO [TOOBIG] Too big\r\n"
    assert w.untagged_status("OK", "Ready", "CAPABILITY IMAP4rev2") == (
        b"* OK [CAPABILITY IMAP4rev2] Ready\r\n"
    )
    assert w.untagged("3 EXISTS") == b"* 3 EXISTS\r\n"
    assert w.continuation() == b"+ Ready for literal data\r\n"
    assert w.continuation("") == b"+ \r\n"


def test_response_text_cannot_forge_lines() -> None:
    line = w.tagged("a", "BAD", "Unknown command x\r\n* OK injected\x00")
    assert line == b"a BAD Unknown command x  * OK injected \r\n"
    assert line.count(b"\r\n") == 1
    with pytest.raises(ValueError):
        w.tagged("a", "NO", "x", "BAD]CODE")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hello", b'"hello"'),
        ("", b'""'),
        ('say "hi" \\o/', b'"say \\"hi\\" \\\\o/"'),
        ("two\r\nlines", b"{10}\r\ntwo\r\nlines"),
        (b"nul\x00", b"{4}\r\nnul\x00"),
        ("caf\u00e9", b"{5}\r\ncaf\xc3\xa9"),
        (b"\xff\xfe", b"{2}\r\n\xff\xfe"),
    ],
)
def test_string_quoting(value: str | bytes, expected: bytes) -> None:
    assert w.string(value) == expected


def test_utf8_accept_allows_quoted_utf8_only_when_valid() -> None:
    assert w.string("caf\u00e9", utf8=True) == b'"caf\xc3\xa9"'
    assert w.string(b"\xff", utf8=True) == b"{1}\r\n\xff"
    assert w.string("a\nb", utf8=True) == b"{3}\r\na\nb"


def test_long_strings_become_literals() -> None:
    assert w.string("x" * MAX_QUOTED).startswith(b'"')
    assert w.string("x" * (MAX_QUOTED + 1)).startswith(b"{%d}\r\n" % (MAX_QUOTED + 1))


def test_nstring_astring_and_literals() -> None:
    assert w.nstring(None) == b"NIL"
    assert w.nstring("NIL") == b'"NIL"'
    assert w.astring("INBOX") == b"INBOX"
    assert w.astring("nil") == b'"nil"'
    assert w.astring("two words") == b'"two words"'
    assert w.astring("") == b'""'
    assert w.astring("a]b") == b"a]b"
    assert w.astring("a%b") == b'"a%b"'
    assert w.literal(memoryview(b"abc")) == b"{3}\r\nabc"
    assert w.literal8(b"\x00\x01") == b"~{2}\r\n\x00\x01"
    assert w.literal_prefix(12) == b"{12}\r\n"
    assert w.literal_prefix(12, binary=True) == b"~{12}\r\n"


def test_lists_flags_numbers() -> None:
    assert w.paren_list([b"a", b"b"]) == b"(a b)"
    assert w.paren_list([]) == b"()"
    assert w.flag_list(["\\Seen", "$Junk"]) == b"(\\Seen $Junk)"
    assert w.number(42) == b"42"


def test_mailbox_names() -> None:
    assert w.mailbox("INBOX") == b"INBOX"
    assert w.mailbox("Boîte d'envoi") == b"\"Bo&AO4-te d'envoi\""
    assert w.mailbox("Entwürfe&Co") == b"Entw&APw-rfe&-Co"
    assert w.mailbox("Entwürfe&Co", utf8=True) == b'"Entw\xc3\xbcrfe&Co"'
    assert w.mailbox("Sent Items") == b'"Sent Items"'
