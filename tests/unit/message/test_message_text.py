"""Decoded text: transfer encodings, charsets, HTML, preview (RFC 8970) and search text."""

from __future__ import annotations

import base64
import time

import pytest

from postbus.message import (
    MAX_BODY_TEXT,
    decode_body,
    decode_text,
    html_to_text,
    parse,
    parse_full,
    part_text,
)
from postbus.message.transfer import decode_base64, decode_transfer
from tests.unit.message.message_samples import FORWARD, MIXED, crlf


def single(content_type: str, encoding: str, body: bytes) -> bytes:
    return (crlf(f"Subject: t\nContent-Type: {content_type}\nContent-Transfer-Encoding: {encoding}\n\n")
            + body)


@pytest.mark.parametrize(("charset", "encoding", "body", "expected"), [
    ("iso-8859-1", "quoted-printable", b"Caf=E9 cr=E8me=\r\n br=FBl=E9e", "Café crème brûlée"),
    ("utf-8", "quoted-printable", b"Caf=C3=A9 =E2=82=AC", "Café €"),
    ("windows-1252", "quoted-printable", b"=93quoted=94 =80 =85", "\u201cquoted\u201d € …"),
    ("iso-8859-1", "base64", base64.b64encode("Grüße €".encode("cp1252")), "Grüße €"),
    ("utf-8", "base64", base64.encodebytes("Grüße, 世界".encode()), "Grüße, 世界"),
    ("windows-1252", "base64", base64.b64encode("naïve – ok".encode("cp1252")), "naïve – ok"),
    ("us-ascii", "8bit", "8-bit in ascii: é".encode(), "8-bit in ascii: é"),
    ("x-unknown-charset", "8bit", "café".encode("cp1252"), "café"),
    ("utf-8", "7bit", b"broken \xff utf-8", "broken \ufffd utf-8"),
])
def test_body_text_decoding(charset: str, encoding: str, body: bytes, expected: str) -> None:
    raw = single(f"text/plain; charset={charset}", encoding, body)
    result = parse_full(raw, strict=True)
    assert result.body_text == expected
    assert result.meta.preview == expected
    assert part_text(raw, result.meta.body) == expected


def test_broken_base64_and_qp_are_decoded_as_far_as_possible() -> None:
    assert decode_base64(b"SGVs bG8*\r\n!!") == b"Hello"
    assert decode_base64(b"SGk=SGk=") == b"HiHi"  # concatenated encodings
    assert decode_base64(b"SGVsbG8gd29ybGQ") == b"Hello world"  # missing padding
    assert decode_base64(b"QUJDR") == b"ABC"  # dangling sextet dropped
    assert decode_base64(b"") == b""
    assert decode_transfer(b"a=ZZb=\nc=4", "Quoted-Printable") == b"a=ZZbc=4"
    assert decode_transfer(b"raw", "x-uuencode") == b"raw"


def test_decode_body_of_an_attachment() -> None:
    meta = parse(MIXED, strict=True)
    pdf = meta.body.children[1]
    assert decode_body(MIXED, pdf).startswith(b"%PDF-1.4\n")


def test_decode_text_charset_rules() -> None:
    assert decode_text("é".encode("latin-1"), "ISO-8859-1") == "é"
    assert decode_text(b"\x80", "iso-8859-1") == "€"  # read as windows-1252, as browsers do
    assert decode_text("é".encode(), None) == "é"
    assert decode_text(b"\xe9", None) == "é"
    assert decode_text(b"\xe9", "zlib_codec") == "é"  # not a text encoding: sniffed
    assert decode_text("\u00e9".encode("utf-16"), "utf-16") == "é"


def test_html_to_text() -> None:
    html = ("<html><head><title>T</title><style>p {color: red}</style></head>"
            "<body><!-- hidden --><script>var x = '<p>';</script>"
            "<p>Hello&nbsp;<b>wor</b>ld &amp; you</p><br>a &lt; b</body></html>")
    assert " ".join(html_to_text(html).split()) == "Hello\xa0world & you a < b".replace("\xa0", " ")
    assert html_to_text("1 < 2 and 3 > 2") == "1 < 2 and 3 > 2"
    assert "still here" in html_to_text("<script>unclosed <p>still here</p>")


def test_html_stripping_is_linear_on_hostile_input() -> None:
    hostile = "<script" * 20_000 + "<" * 50_000 + "<!--" * 20_000 + "<a " * 20_000
    start = time.perf_counter()
    html_to_text(hostile)
    assert time.perf_counter() - start < 1.0


def test_preview_prefers_plain_text_and_skips_quotes() -> None:
    raw = crlf("Content-Type: multipart/alternative; boundary=a\n\n--a\n"
               "Content-Type: text/html\n\n<p>HTML version</p>\n--a\n"
               "Content-Type: text/plain\n\nOn Monday you wrote:\n> old text\n>> older\n"
               "Plain   version\twith  spaces\n--a--\n")
    assert parse(raw, strict=True).preview == "On Monday you wrote: Plain version with spaces"


def test_preview_of_html_only_and_length() -> None:
    words = " ".join(f"word{i}" for i in range(200))
    raw = single("text/html; charset=utf-8", "7bit",
                 f"<html><head><style>{'x' * 5000}</style></head><body><div>{words}</div>".encode())
    preview = parse(raw, strict=True).preview
    assert preview.startswith("word0 word1 word2")
    assert len(preview) <= 200


def test_preview_skips_attachments_and_enters_forwarded_messages() -> None:
    raw = crlf("Content-Type: multipart/mixed; boundary=m\n\n--m\n"
               "Content-Type: text/plain; name=notes.txt\nContent-Disposition: attachment\n\n"
               "attached notes\n--m\nContent-Type: image/png\n\nPNG\n--m--\n")
    assert parse(raw, strict=True).preview == ""
    only_forward = crlf("Content-Type: message/rfc822\n\nSubject: inner\n\nForwarded words\n")
    assert parse(only_forward, strict=True).preview == "Forwarded words"


def test_all_quoted_preview_keeps_the_quotes() -> None:
    raw = crlf("Subject: x\n\n> only quoted\n")
    assert parse(raw, strict=True).preview == "> only quoted"


def test_search_text_of_a_mixed_message() -> None:
    result = parse_full(MIXED, strict=True)
    assert "From: Alice <alice@example.org>" in result.header_text
    assert "Subject: Report" in result.header_text
    # one alternative (plain), the attachment's name, not its content
    assert result.body_text == "The report is attached. Regards report.pdf"


def test_search_text_includes_forwarded_headers_and_text() -> None:
    body = parse_full(FORWARD, strict=True).body_text
    assert body.startswith("See below.")
    assert "Subject: Original" in body and "Original text" in body


def test_search_header_text_decodes_encoded_words() -> None:
    raw = crlf("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nX-Tag: =?iso-8859-1?q?caf=E9?=\n\nx")
    assert parse_full(raw, strict=True).header_text == "Subject: Grüße\nX-Tag: café"


def test_body_text_is_capped() -> None:
    raw = single("text/plain", "7bit", b"abcdefghi " * (MAX_BODY_TEXT // 5))
    result = parse_full(raw, strict=True)
    assert len(result.body_text) <= MAX_BODY_TEXT
    assert result.body_text.startswith("abcdefghi abcdefghi")
