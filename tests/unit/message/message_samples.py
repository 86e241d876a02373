"""Sample messages for the postbus.message tests (CRLF unless a test says otherwise)."""

from __future__ import annotations

from postbus.message import MessageMeta, Part, iter_parts


def crlf(text: str) -> bytes:
    """`text` with its line feeds turned into CRLF, encoded as UTF-8."""
    return text.replace("\n", "\r\n").encode("utf-8")


SIMPLE = crlf(
    "Return-Path: <alice@example.org>\n"
    "Received: from mx.example.org by mail.example.net; Tue, 1 Jul 2003 10:52:40 +0200\n"
    "From: Alice Example <alice@example.org>\n"
    "To: Bob <bob@example.net>, carol@example.com\n"
    "Cc: \"Dave, D.\" <dave@example.com>\n"
    "Subject: Lunch on\n Thursday?\n"
    "Date: Tue, 1 Jul 2003 10:52:37 +0200\n"
    "Message-ID: <1234@example.org>\n"
    "In-Reply-To: <1000@example.net>\n"
    "References: <999@example.net>\n <1000@example.net>\n"
    "\n"
    "Hi Bob,\n"
    "\n"
    "Shall we have lunch on Thursday?\n"
    "-- \n"
    "Alice\n"
)

MIXED = crlf(
    "From: Alice <alice@example.org>\n"
    "To: bob@example.net\n"
    "Subject: Report\n"
    "Date: Wed, 2 Jul 2003 08:00:00 +0000\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/mixed; boundary="outer"\n'
    "\n"
    "This is a multi-part message in MIME format.\n"
    "--outer\n"
    'Content-Type: multipart/alternative; boundary="inner"\n'
    "\n"
    "--inner\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "The report is attached.\n"
    "Regards\n"
    "--inner\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<p>The <b>report</b> is attached.</p>\n"
    "--inner--\n"
    "\n"
    "--outer\n"
    'Content-Type: application/pdf; name="report.pdf"\n'
    "Content-Transfer-Encoding: base64\n"
    'Content-Disposition: attachment; filename="report.pdf"\n'
    "Content-ID: <pdf1@example.org>\n"
    "Content-Description: The report\n"
    "\n"
    "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K\n"
    "--outer--\n"
    "epilogue\n"
)

FORWARD = crlf(
    "From: Bob <bob@example.net>\n"
    "To: alice@example.org\n"
    "Subject: Fwd: Report\n"
    "Date: Thu, 3 Jul 2003 09:00:00 +0000\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=fwd\n"
    "\n"
    "--fwd\n"
    "Content-Type: text/plain\n"
    "\n"
    "See below.\n"
    "--fwd\n"
    "Content-Type: message/rfc822\n"
    "Content-Disposition: inline\n"
    "\n"
    "From: Carol <carol@example.com>\n"
    "To: bob@example.net\n"
    "Subject: Original\n"
    "Date: Mon, 30 Jun 2003 12:00:00 +0000\n"
    "Message-ID: <orig@example.com>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=alt\n"
    "\n"
    "--alt\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "Original text\n"
    "--alt\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>Original text</p>\n"
    "--alt--\n"
    "--fwd--\n"
)

CORPUS = [SIMPLE, MIXED, FORWARD]


def check_invariants(meta: MessageMeta, raw: bytes, max_parts: int | None = None) -> None:
    """Every structural promise of MessageMeta, checked against the raw bytes."""
    assert meta.size == len(raw)
    assert 0 <= meta.header_end <= meta.size
    assert meta.body.header_start == 0
    assert meta.body.body_start == meta.header_end
    assert meta.body.end == meta.size
    count = 0
    for part in iter_parts(meta.body):
        count += 1
        _check_part(part, meta.size)
    if max_parts is not None:
        assert count <= max_parts


def _check_part(part: Part, size: int) -> None:
    assert 0 <= part.header_start <= part.body_start <= part.end <= size
    assert part.size == part.end - part.body_start
    if part.type.lower() == "multipart":
        assert part.children
    if part.type.lower() == "message" and part.subtype.lower() in ("rfc822", "global"):
        assert part.body is not None and part.envelope is not None
    if part.body is not None:
        assert part.envelope is not None
        assert not part.children
        assert part.body.header_start == part.body_start
        assert part.body.end == part.end
    previous_end = part.body_start
    for child in part.children:
        assert previous_end <= child.header_start
        assert child.end <= part.end
        previous_end = child.end
