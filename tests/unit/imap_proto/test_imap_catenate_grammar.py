"""CATENATE (RFC 4469 §5) in APPEND, and the IMAP URLs it names (RFC 5092, URL-PARTIAL
RFC 5550 §5): the grammar and the sans-IO URL parser."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postbus.imap.proto import AppendArgs, CatText, CatUrl, Section
from postbus.imap.proto.limits import MAX_CATENATE_PARTS, MAX_NUMBER
from postbus.imap.proto.url import BadUrl, ImapUrl, parse_url, response_url

from .helpers import command, error


def test_catenate_parts_in_order_with_multiappend() -> None:
    cmd = command(b'a APPEND Drafts (\\Draft) CATENATE (TEXT {3+}\r\nabc URL "/INBOX/;UID=2" '
                  b"TEXT ~{2+}\r\n\x00\x01 URL ;UID=3) {1+}\r\nZ CATENATE (URL {7+}\r\n;UID=20)")
    assert isinstance(cmd.args, AppendArgs)
    first, plain, last = cmd.args.messages
    assert first.flags == ("\\Draft",) and bytes(first.data) == b""
    assert first.catenate == (CatText(memoryview(b"abc")), CatUrl("/INBOX/;UID=2"),
                              CatText(memoryview(b"\x00\x01"), True), CatUrl(";UID=3"))
    assert plain.catenate is None and bytes(plain.data) == b"Z"
    assert last.catenate == (CatUrl(";UID=20"),)


@pytest.mark.parametrize("line", [
    b"a APPEND x CATENATE ()", b"a APPEND x CATENATE (TEXT \"abc\")", b"a APPEND x CATENATE (URL)",
    b"a APPEND x CATENATE (URL a", b"a APPEND x CATENATE (BODY {1+}\r\nm)",
    b"a APPEND x CATENATE (URL a) junk", b"a APPEND x CATENATE(URL a)",
])
def test_catenate_syntax_errors(line: bytes) -> None:
    assert error(line).status == "BAD"


def test_catenate_part_count_is_bounded() -> None:
    parts = b" ".join([b"URL ;UID=1"] * (MAX_CATENATE_PARTS + 1))
    refusal = error(b"a APPEND x CATENATE (" + parts + b")")
    assert (refusal.status, refusal.code) == ("NO", "TOOBIG")
    parts = b" ".join([b"URL ;UID=1"] * MAX_CATENATE_PARTS)
    args = command(b"a APPEND x CATENATE (" + parts + b")").args
    assert isinstance(args, AppendArgs) and len(args.messages[0].catenate or ()) == MAX_CATENATE_PARTS
    # The bound is over the whole command, not per message of a MULTIAPPEND.
    half = b" ".join([b"URL ;UID=1"] * (MAX_CATENATE_PARTS // 2 + 1))
    refusal = error(b"a APPEND x CATENATE (" + half + b") CATENATE (" + half + b")")
    assert (refusal.status, refusal.code) == ("NO", "TOOBIG")


def url(host: str | None = None, port: int | None = None, user: str | None = None,
        mailbox: str | None = "INBOX", relative: bool = False, uid_validity: int | None = None,
        uid: int = 20, section: Section | None = None,
        partial: tuple[int, int | None] | None = None) -> ImapUrl:
    return ImapUrl(host, port, user, mailbox, relative, uid_validity, uid, section, partial)


@pytest.mark.parametrize(("text", "expected"), [
    ("imap://alice%40example.test;AUTH=*@Mail.Example.ORG:993/INBOX;UIDVALIDITY=1234/;UID=20"
     "/;SECTION=1.MIME/;PARTIAL=0.1024",
     url("mail.example.org", 993, "alice@example.test", uid_validity=1234,
         section=Section((1,), "MIME"), partial=(0, 1024))),
    ("IMAP://bob@host/a/b%20c/;uid=20", url("host", None, "bob", "a/b c")),
    ("imap://host/INBOX/;UID=20", url("host")),
    ("//alice@host/INBOX/;UID=20/;PARTIAL=7", url("host", None, "alice", partial=(7, None))),
    ("/INBOX;UIDVALIDITY=1234/;UID=20/;SECTION=1.MIME", url(uid_validity=1234,
                                                            section=Section((1,), "MIME"))),
    ("/Entw%C3%BCrfe/;UID=20/;SECTION=HEADER.FIELDS%20(From%20To)",
     url(mailbox="Entwürfe", section=Section((), "HEADER.FIELDS", ("From", "To")))),
    (";UID=20", url(mailbox=None)),
    (";UID=20/;SECTION=TEXT/;PARTIAL=5.10", url(mailbox=None, section=Section((), "TEXT"),
                                               partial=(5, 10))),
    ("Sub;UIDVALIDITY=9/;UID=20", url(mailbox="Sub", relative=True, uid_validity=9)),
])
def test_urls_naming_a_message_or_part(text: str, expected: ImapUrl) -> None:
    assert parse_url(text) == expected


@pytest.mark.parametrize("text", [
    "", "/", "/INBOX", "imap://host", "imap://host/", "imap://host/INBOX", "imap:/INBOX/;UID=1",
    "imaps://host/INBOX/;UID=1", "http://host/INBOX/;UID=1", "/INBOX?ALL", "/INBOX/;UID=",
    "/INBOX/;UID=0", "/INBOX/;UID=4294967296", "/INBOX;UIDVALIDITY=0/;UID=1",
    "/INBOX/;UID=1/;PARTIAL=4294967296", "/INBOX/;UID=1/;PARTIAL=1.0", ";SECTION=1",
    ";PARTIAL=0.1024", "/INBOX/;UID=1/;SECTION=", "/INBOX/;UID=1/;SECTION=0",
    "/INBOX/;UID=1/;SECTION=MIME", "/INBOX/;UID=1/;SECTION=1]", "/INBOX/;UID=1;URLAUTH=x:y:z",
    "/INBOX/;UID=1;EXPIRE=2025-01-01T00:00:00Z;URLAUTH=x:y:z", "/%FF/;UID=1", "/a%00b/;UID=1",
    "/../x/;UID=1", "imap://a@b@c/INBOX/;UID=1", "imap://host:99999x/INBOX/;UID=1",
    "/INBOX/;UID=1#frag", "/INBOX/;UID=1/;PARTIAL=0.10/;SECTION=1", ";UIDVALIDITY=1/;UID=2",
])
def test_urls_that_name_no_message_are_bad(text: str) -> None:
    with pytest.raises(BadUrl):
        parse_url(text)


def test_the_badurl_echo_is_one_token_ending_at_its_bracket() -> None:
    assert response_url("/INBOX/;UID=1") == "/INBOX/;UID=1"
    assert response_url("imap://[::1]/a b/;UID=1") == "imap://[::1%5D/a%20b/;UID=1"
    assert response_url("/Entwürfe\r\n") == "/Entw%C3%BCrfe%0D%0A"
    assert response_url("") == '""'


@given(st.one_of(st.text(max_size=80), st.from_regex(
    r"\A(imap://[a-z%@;=*]{0,12}[a-z.:0-9\[\]]{0,10})?/?[A-Za-z%0-9/]{0,10}(;UIDVALIDITY=[0-9]{0,11})?"
    r"(/;UID=[0-9]{0,11})?(/;SECTION=[A-Z0-9.%() ]{0,20})?(/;PARTIAL=[0-9.]{0,12})?\Z")))
def test_any_text_is_a_url_or_badurl(text: str) -> None:
    try:
        ref = parse_url(text)
    except BadUrl:
        return
    # What it names is always one message of a folder, within RFC 5092's 32-bit numbers.
    assert 1 <= ref.uid <= MAX_NUMBER
    assert ref.mailbox is None or (ref.mailbox and "\x00" not in ref.mailbox)
    assert ref.partial is None or 0 <= ref.partial[0] <= MAX_NUMBER
