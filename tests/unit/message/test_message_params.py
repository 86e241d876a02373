"""Content-Type / Content-Disposition parameters (RFC 2045 §5.1, RFC 2231)."""

from __future__ import annotations

from postbus.message import param_value
from postbus.message.params import parse_content_type, parse_disposition


def test_content_type_basics() -> None:
    assert parse_content_type("Text/HTML; Charset=\"UTF-8\"") == ("Text", "HTML", [("charset", "UTF-8")])
    assert parse_content_type('multipart/mixed;\tboundary="a;b=c"') == (
        "multipart", "mixed", [("boundary", "a;b=c")])
    assert parse_content_type('text/plain; name="with \\"quote\\""') == (
        "text", "plain", [("name", 'with "quote"')])
    assert parse_content_type("text/plain;; charset=x;") == ("text", "plain", [("charset", "x")])
    assert parse_content_type("text/plain; name=my file.txt") == (
        "text", "plain", [("name", "my file.txt")])


def test_invalid_content_types() -> None:
    for value in ["", "text", "/plain", "text/", "te xt/plain"]:
        assert parse_content_type(value) is None


def test_rfc2231_continuations_and_extended_values() -> None:
    # RFC 2231 §3 and §4 examples
    ctype = parse_content_type(
        "message/external-body; access-type=URL; URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub\"")
    assert ctype is not None
    assert ctype[2] == [("access-type", "URL"), ("url", "ftp://cs.utk.edu/pub")]
    ctype = parse_content_type(
        "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; "
        "title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"")
    assert ctype is not None
    assert ctype[2] == [("title*", "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A"
                                   "%20isn%27t%20it!")]
    assert param_value(ctype[2], "TITLE") == "This is even more ***fun*** isn't it!"


def test_disposition_and_file_names() -> None:
    disposition = parse_disposition(
        "attachment; filename*=iso-8859-1'fr'r%E9sum%E9.txt; filename=\"resume.txt\"")
    assert disposition is not None
    kind, params = disposition
    assert kind == "attachment"
    assert param_value(params, "filename") == "résumé.txt"  # the RFC 2231 form wins
    encoded_word = parse_disposition('inline; filename="=?utf-8?b?w6l0w6kucGRm?="')
    assert encoded_word is not None
    assert param_value(encoded_word[1], "filename") == "été.pdf"
    assert parse_disposition("") is None
    assert param_value([], "filename") is None
