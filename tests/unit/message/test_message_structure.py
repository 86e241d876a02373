"""The MIME walker: part tree, BODYSTRUCTURE fields and byte offsets (RFC 2045, RFC 2046)."""

from __future__ import annotations

import time

import pytest

from postbus.message import MAX_MESSAGE_DEPTH, MAX_PARTS, iter_parts, parse
from tests.unit.message.message_samples import FORWARD, MIXED, SIMPLE, check_invariants, crlf


def slice_of(raw: bytes, part_start: int, part_end: int) -> bytes:
    return raw[part_start:part_end]


def test_single_part_message() -> None:
    meta = parse(SIMPLE, strict=True)
    check_invariants(meta, SIMPLE)
    body = meta.body
    assert (body.type, body.subtype, body.params) == ("text", "plain", [("charset", "us-ascii")])
    assert body.encoding == "7BIT"
    assert SIMPLE[meta.header_end:].startswith(b"Hi Bob,")
    assert SIMPLE[:meta.header_end].endswith(b"<1000@example.net>\r\n\r\n")
    assert body.size == len(SIMPLE) - meta.header_end
    assert body.lines == 5
    assert meta.lines == SIMPLE.count(b"\n")
    assert not meta.has_attachments and not meta.truncated


def test_multipart_mixed_with_nested_alternative() -> None:
    meta = parse(MIXED, strict=True)
    check_invariants(meta, MIXED)
    root = meta.body
    assert (root.type, root.subtype) == ("multipart", "mixed")
    alternative, pdf = root.children
    assert (alternative.type, alternative.subtype) == ("multipart", "alternative")
    plain, html = alternative.children
    assert plain.mime_type == "text/plain" and plain.charset == "utf-8"
    # RFC 2046 §5.1.1: the CRLF before a delimiter belongs to the delimiter
    assert slice_of(MIXED, plain.body_start, plain.end) == b"The report is attached.\r\nRegards"
    assert plain.lines == 1 and plain.size == len(b"The report is attached.\r\nRegards")
    assert slice_of(MIXED, plain.header_start, plain.body_start) == (
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n")
    assert slice_of(MIXED, html.body_start, html.end) == b"<p>The <b>report</b> is attached.</p>"
    assert pdf.mime_type == "application/pdf"
    assert pdf.encoding == "base64"
    assert pdf.params == [("name", "report.pdf")]
    assert pdf.disposition == ("attachment", [("filename", "report.pdf")])
    assert pdf.id == "<pdf1@example.org>" and pdf.description == "The report"
    assert pdf.filename == "report.pdf"
    assert pdf.lines == 0  # only text and message parts count lines
    assert slice_of(MIXED, pdf.body_start, pdf.end).startswith(b"JVBERi0x")
    assert slice_of(MIXED, pdf.body_start, pdf.end).endswith(b"YW0K")
    # the epilogue and the close delimiter belong to no part
    assert pdf.end == MIXED.index(b"\r\n--outer--")
    assert meta.has_attachments


def test_message_rfc822_is_walked() -> None:
    meta = parse(FORWARD, strict=True)
    check_invariants(meta, FORWARD)
    text, attached = meta.body.children
    assert text.mime_type == "text/plain"
    assert attached.mime_type == "message/rfc822"
    assert attached.envelope is not None and attached.body is not None
    assert attached.envelope.subject == "Original"
    assert attached.envelope.from_ == [("Carol", None, "carol", "example.com")]
    assert attached.envelope.message_id == "<orig@example.com>"
    assert attached.lines == slice_of(FORWARD, attached.body_start, attached.end).count(b"\n")
    nested = attached.body
    assert nested.mime_type == "multipart/alternative"
    assert slice_of(FORWARD, nested.header_start, nested.body_start).startswith(b"From: Carol")
    assert slice_of(FORWARD, nested.body_start, nested.end).startswith(b"--alt")
    assert meta.has_attachments  # a forwarded message is an attachment


def test_multipart_digest_defaults_to_message_rfc822() -> None:
    raw = crlf("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nfirst\n"
               "--d\nContent-Type: text/plain\n\nnot a message\n--d--\n")
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    first, second = meta.body.children
    assert first.mime_type == "message/rfc822"
    assert first.envelope is not None and first.envelope.subject == "one"
    assert second.mime_type == "text/plain"


def test_parameters_and_extension_fields() -> None:
    raw = crlf(
        "Content-Type: text/plain; charset=\"UTF-8\"; format=flowed (a comment)\n"
        "Content-Transfer-Encoding: 8bit\n"
        "Content-Language: en, fr (French)\n"
        "Content-Location: http://example.org/x\n"
        "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
        "Content-Disposition: inline; filename*0*=utf-8''na%C3%AF; filename*1=ve.txt\n"
        "\nbody\n")
    part = parse(raw, strict=True).body
    assert part.params == [("charset", "UTF-8"), ("format", "flowed")]
    assert part.encoding == "8bit"
    assert part.language == ["en", "fr"]
    assert part.location == "http://example.org/x"
    assert part.md5 == "Q2hlY2sgSW50ZWdyaXR5IQ=="
    # RFC 2231 continuations merged; the extended value kept encoded for IMAP
    assert part.disposition == ("inline", [("filename*", "utf-8''na%C3%AFve.txt")])
    assert part.filename == "naïve.txt"


def test_invalid_content_type_means_text_plain() -> None:
    part = parse(crlf("Content-Type: garbage\n\nx"), strict=True).body
    assert (part.type, part.subtype, part.params) == ("text", "plain", [("charset", "us-ascii")])


def test_multipart_without_boundary_parameter_is_text() -> None:
    raw = crlf("Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nhi\n--x--\n")
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    assert meta.body.mime_type == "text/plain" and not meta.body.children


def test_boundary_never_found_gives_one_empty_part() -> None:
    raw = crlf("Content-Type: multipart/mixed; boundary=nowhere\n\nno delimiters here\n")
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    (empty,) = meta.body.children
    assert empty.mime_type == "text/plain" and empty.size == 0


def test_missing_close_delimiter_runs_to_the_end() -> None:
    raw = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\ntrailing\n")
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    one, two = meta.body.children
    assert raw[one.body_start:one.end] == b"one"
    assert raw[two.body_start:two.end] == b"two\r\ntrailing\r\n"


def test_delimiter_must_start_a_line_and_may_have_trailing_blanks() -> None:
    raw = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\nsee --b here\n--bb\n"
               "still one\n--b--  \n")
    meta = parse(raw, strict=True)
    (only,) = meta.body.children
    assert raw[only.body_start:only.end] == b"see --b here\r\n--bb\r\nstill one"


def test_nested_boundary_that_extends_the_outer_one() -> None:
    raw = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n"
               "Content-Type: multipart/alternative; boundary=b-inner\n\n"
               "--b-inner\n\ninner text\n--b-inner--\n--b\n\nsecond\n--b--\n")
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    inner, second = meta.body.children
    assert [raw[p.body_start:p.end] for p in inner.children] == [b"inner text"]
    assert raw[second.body_start:second.end] == b"second"


def test_inner_multipart_missing_its_close_delimiter() -> None:
    raw = crlf("Content-Type: multipart/mixed; boundary=outer\n\n--outer\n"
               "Content-Type: multipart/alternative; boundary=inner\n\n--inner\n\nA\n"
               "--outer\n\nB\n--outer--\n")
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    inner, b_part = meta.body.children
    assert raw[inner.children[0].body_start:inner.children[0].end] == b"A"
    assert raw[b_part.body_start:b_part.end] == b"B"


def test_no_header_body_separator() -> None:
    raw = b"Subject: no body\r\nFrom: a@example.org\r\n"
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    assert meta.header_end == len(raw)
    assert meta.envelope.subject == "no body"
    assert meta.body.size == 0


def test_bare_lf_line_endings() -> None:
    raw = MIXED.replace(b"\r\n", b"\n")
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    plain = meta.body.children[0].children[0]
    assert raw[plain.body_start:plain.end] == b"The report is attached.\nRegards"
    assert raw[plain.header_start:plain.body_start] == b"Content-Type: text/plain; charset=utf-8\n\n"
    assert meta.envelope.subject == "Report"
    assert meta.preview == "The report is attached. Regards"


def test_mixed_line_endings_take_the_first_blank_line() -> None:
    raw = b"Subject: a\nX: b\r\n\r\nbody\n\nmore"
    meta = parse(raw, strict=True)
    assert raw[meta.header_end:] == b"body\n\nmore"


def test_encoded_message_rfc822_is_a_leaf() -> None:
    raw = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n"
               "Content-Transfer-Encoding: base64\n\nU3ViamVjdDogeAoKeQo=\n--b--\n")
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    (leaf,) = meta.body.children
    assert leaf.mime_type == "application/octet-stream" and leaf.body is None
    assert not meta.truncated


def nested_messages(depth: int) -> bytes:
    raw = crlf("Subject: level 0\n\ninnermost\n")
    for level in range(1, depth + 1):
        raw = crlf(f"Subject: level {level}\nContent-Type: message/rfc822\n\n") + raw
    return raw


def test_message_rfc822_nesting_is_limited() -> None:
    raw = nested_messages(MAX_MESSAGE_DEPTH + 3)
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    depth, part = 0, meta.body
    while part.body is not None:
        depth, part = depth + 1, part.body
    assert depth == MAX_MESSAGE_DEPTH
    assert part.mime_type == "application/octet-stream"
    assert meta.truncated


def test_deep_multipart_nesting_is_limited() -> None:
    depth = 200
    raw = b"".join(crlf(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n")
                   for i in range(depth)) + b"\r\nleaf\r\n"
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    assert meta.truncated
    assert sum(1 for _ in iter_parts(meta.body)) <= 40


def many_attachments(count: int) -> bytes:
    head = crlf("From: a@example.org\nSubject: many\nContent-Type: multipart/mixed; boundary=m\n\n"
                "--m\nContent-Type: text/plain\n\nSee attachments.\n")
    parts = [crlf(f"--m\nContent-Type: application/octet-stream; name=f{i}.bin\n"
                  f"Content-Disposition: attachment; filename=f{i}.bin\n"
                  "Content-Transfer-Encoding: base64\n\nAAECAwQFBgcICQ==\n")
             for i in range(count)]
    return head + b"".join(parts) + b"--m--\r\n"


def test_a_thousand_attachments() -> None:
    raw = many_attachments(1000)
    start = time.perf_counter()
    meta = parse(raw, strict=True)
    elapsed = time.perf_counter() - start
    check_invariants(meta, raw)
    assert len(meta.body.children) == 1001
    assert meta.body.children[-1].filename == "f999.bin"
    assert not meta.truncated
    assert elapsed < 1.0


def test_max_parts_is_respected() -> None:
    raw = many_attachments(1000)
    meta = parse(raw, max_parts=50, strict=True)
    check_invariants(meta, raw, max_parts=50)
    assert meta.truncated
    assert len(meta.body.children) == 49  # the root is one of the 50


@pytest.mark.parametrize("max_parts", [0, 1, 2, 3])
def test_tiny_part_budgets(max_parts: int) -> None:
    meta = parse(FORWARD, max_parts=max_parts, strict=True)
    check_invariants(meta, FORWARD, max_parts=max(1, max_parts))


def test_default_part_limit_bounds_a_flood_of_parts() -> None:
    raw = crlf("Content-Type: multipart/mixed; boundary=x\n\n") + b"--x\r\n\r\n" * 50_000
    meta = parse(raw, strict=True)
    check_invariants(meta, raw, max_parts=MAX_PARTS)
    assert meta.truncated


def test_garbage_is_described() -> None:
    raw = bytes(range(256)) * 4
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    assert meta.size == 1024
