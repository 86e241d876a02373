"""Hostile and broken input: bounded time, limits, and the never-raise safety net."""

from __future__ import annotations

import logging
import time

import pytest

from postbus.message import parse, parse_full
from postbus.message import parser as parser_module
from postbus.message.limits import MAX_ADDRESSES, MAX_HEADER_FIELDS
from tests.unit.message.message_samples import MIXED, check_invariants, crlf

SIZE = 4 * 2**20
HOSTILE = {
    "many header lines": b"X: y\r\n" * (SIZE // 6) + b"\r\nbody",
    "endless Re:": b"Subject: " + b"Re: " * (SIZE // 4) + b"\r\n\r\nx",
    "endless encoded words": b"Subject: " + b"=?utf-8?q?a?= " * (SIZE // 14) + b"\r\n\r\nx",
    "endless (fwd)": b"Subject: x" + b" (fwd)" * (SIZE // 6) + b"\r\n\r\nx",
    "huge address list": b"To: " + b"a@b, " * (SIZE // 5) + b"\r\n\r\nx",
    "huge odd address list": b"To: " + b"a.b c: " * (SIZE // 7) + b"\r\n\r\nx",
    "unterminated comment": b"To: (" + b"x" * SIZE + b"\r\n\r\nx",
    "delimiter near-misses": crlf("Content-Type: multipart/mixed; boundary=x\n\n")
    + b"--xy\r\n" * (SIZE // 6),
    "delimiter flood": crlf("Content-Type: multipart/mixed; boundary=x\n\n") + b"--x\r\n" * (SIZE // 5),
    "deep multipart": b"".join(crlf(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n")
                               for i in range(100)) + b"\r\n" + b"x" * SIZE,
    "script openers": crlf("Content-Type: text/html\n\n") + b"<p>a</p><script>" * (SIZE // 16),
    "no separator": b"Subject: x\r\n" + b"A" * SIZE,
    "many parameters": b"Content-Type: text/plain" + b"; a=b" * (SIZE // 5) + b"\r\n\r\nx",
    "many RFC 2231 sections": b"Content-Type: text/plain" + b"; n*1*=%41" * (SIZE // 10) + b"\r\n\r\nx",
    "many language comments": b"Content-Language: " + b"(a)" * (SIZE // 3) + b"\r\n\r\nx",
    "many references": b"References: " + b"<a@b> " * (SIZE // 6) + b"\r\n\r\nx",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_parsed_in_bounded_time(name: str) -> None:
    raw = HOSTILE[name]
    start = time.perf_counter()
    result = parse_full(raw, strict=True)
    elapsed = time.perf_counter() - start
    check_invariants(result.meta, raw)
    assert elapsed < 2.0, f"{name}: {elapsed:.2f}s"


@pytest.mark.parametrize("near_misses", [0, 31, 32, 33, 500])
def test_delimiter_search_gives_the_same_parts_after_many_near_misses(near_misses: int) -> None:
    raw = (crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n")
           + b"--bb\r\n" * near_misses
           + crlf("--b  \nContent-Type: text/html\n\nsecond\n--b\n\nthird\n--b--\nepilogue\n"))
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    first, second, third = meta.body.children
    assert raw[first.body_start:first.end] == b"first" + b"\r\n--bb" * near_misses
    assert second.mime_type == "text/html" and raw[second.body_start:second.end] == b"second"
    assert raw[third.body_start:third.end] == b"third"


def test_header_field_and_address_limits() -> None:
    raw = b"X: y\r\n" * (MAX_HEADER_FIELDS + 10) + b"Subject: beyond the limit\r\n\r\n"
    assert parse(raw, strict=True).envelope.subject is None
    many = b"To: " + b", ".join(b"u%d@example.org" % i for i in range(MAX_ADDRESSES + 50))
    assert len(parse(many + b"\r\n\r\n", strict=True).envelope.to) == MAX_ADDRESSES


@pytest.mark.allow_errors
def test_internal_error_is_logged_and_described_minimally(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(parser_module.Walker, "message", broken)
    with pytest.raises(RuntimeError):
        parse(MIXED, strict=True)
    with caplog.at_level(logging.ERROR, logger="postbus.message.parser"):
        meta = parse(MIXED)
    assert "message parser failed" in caplog.text
    check_invariants(meta, MIXED)
    assert meta.truncated and meta.header_end == MIXED.index(b"\r\n\r\n") + 4


@pytest.mark.allow_errors
def test_search_text_error_is_logged(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(parser_module, "search_text", broken)
    with caplog.at_level(logging.ERROR, logger="postbus.message.parser"):
        result = parse_full(MIXED)
    assert (result.header_text, result.body_text) == ("", "")
    assert result.meta == parse(MIXED)
    assert "search text extraction failed" in caplog.text


def test_bytearray_and_memoryview_input() -> None:
    assert parse(bytearray(MIXED)) == parse(MIXED)
    assert parse(memoryview(MIXED)) == parse(MIXED)
