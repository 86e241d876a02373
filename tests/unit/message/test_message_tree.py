"""Which parts are attachments, and walking the tree."""

from __future__ import annotations

from postbus.message import attachments, iter_parts, parse
from tests.unit.message.message_samples import FORWARD, MIXED, crlf


def test_iter_parts_is_document_order_and_enters_messages() -> None:
    meta = parse(FORWARD, strict=True)
    assert [p.mime_type for p in iter_parts(meta.body)] == [
        "multipart/mixed", "text/plain", "message/rfc822", "multipart/alternative",
        "text/plain", "text/html"]


def test_attachments() -> None:
    assert [p.filename for p in attachments(parse(MIXED, strict=True).body)] == ["report.pdf"]
    forwarded = attachments(parse(FORWARD, strict=True).body)
    assert [p.mime_type for p in forwarded] == ["message/rfc822"]


def test_inline_images_of_an_html_page_and_signatures_are_not_attachments() -> None:
    raw = crlf(
        "Content-Type: multipart/signed; boundary=s; protocol=application/pgp-signature\n\n--s\n"
        "Content-Type: multipart/related; boundary=r\n\n--r\n"
        "Content-Type: text/html\n\n<img src=cid:logo>\n--r\n"
        "Content-Type: image/png\nContent-ID: <logo>\n\nPNG\n--r--\n"
        "--s\nContent-Type: application/pgp-signature; name=signature.asc\n\nSIG\n--s--\n")
    meta = parse(raw, strict=True)
    assert attachments(meta.body) == []
    assert not meta.has_attachments


def test_text_attachments_and_loose_files() -> None:
    raw = crlf(
        "Content-Type: multipart/mixed; boundary=m\n\n--m\n"
        "Content-Type: text/plain\n\nbody\n--m\n"
        "Content-Type: text/csv; name=data.csv\n\na,b\n--m\n"
        "Content-Type: text/plain; name=inline.txt\nContent-Disposition: inline\n\nshown\n--m\n"
        "Content-Type: image/jpeg\n\nJPEG\n--m--\n")
    found = attachments(parse(raw, strict=True).body)
    assert [(p.mime_type, p.filename) for p in found] == [
        ("text/csv", "data.csv"), ("image/jpeg", None)]
