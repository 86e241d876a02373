"""ENVELOPE and BODYSTRUCTURE encoders over duck-typed records."""

from dataclasses import dataclass, field
from typing import Any

from postbus.imap.proto.structure import address_list, body_structure, envelope


@dataclass
class Addr:
    name: str | None
    mailbox: str | None
    host: str | None
    adl: str | None = None


@dataclass
class Env:
    date: str | None = "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"
    subject: str | bytes | None = "IMAP4rev1 WG mtg summary and minutes"
    from_: list[Addr] = field(default_factory=lambda: [Addr("Terry Gray", "gray", "cac.washington.edu")])
    sender: list[Addr] = field(default_factory=list)
    reply_to: list[Addr] = field(default_factory=list)
    to: list[Addr] = field(default_factory=lambda: [Addr(None, "imap", "cac.washington.edu")])
    cc: list[Addr] = field(default_factory=list)
    bcc: list[Addr] = field(default_factory=list)
    in_reply_to: str | None = None
    message_id: str | None = "<B27397-0100000@cac.washington.edu>"


@dataclass
class Part:
    type: str
    subtype: str
    params: list[tuple[str, str]] = field(default_factory=list)
    id: str | None = None
    description: str | None = None
    encoding: str | None = "7BIT"
    size: int = 0
    lines: int | None = None
    md5: str | None = None
    disposition: str | None = None
    disposition_params: list[tuple[str, str]] = field(default_factory=list)
    language: list[str] | None = None
    location: str | None = None
    parts: list[Any] = field(default_factory=list)
    envelope: Env | None = None
    body: Any = None


GRAY = b'(("Terry Gray" NIL "gray" "cac.washington.edu"))'


def test_envelope_rfc_example_with_sender_fallback() -> None:
    # RFC 3501 §7.4.2 example (sender and reply-to fall back to from)
    assert envelope(Env()) == (
        b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" '
        + GRAY + b" " + GRAY + b" " + GRAY
        + b' ((NIL NIL "imap" "cac.washington.edu")) NIL NIL NIL '
        b'"<B27397-0100000@cac.washington.edu>")'
    )


def test_envelope_8bit_subject_and_groups() -> None:
    env = Env(subject="Caf\u00e9", to=[Addr(None, "team", None), Addr("A", "a", "x.org"),
                                      Addr(None, None, None)], date=None)
    out = envelope(env)
    assert out.startswith(b"(NIL {5}\r\nCaf\xc3\xa9 ")
    assert b'((NIL NIL "team" NIL)("A" NIL "a" "x.org")(NIL NIL NIL NIL))' in out
    assert envelope(env, utf8=True).startswith(b'(NIL "Caf\xc3\xa9" ')
    assert address_list([]) == b"NIL"


def test_single_text_part() -> None:
    part = Part("TEXT", "PLAIN", [("CHARSET", "US-ASCII")], size=3028, lines=92)
    assert body_structure(part) == (
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)'
    )
    assert body_structure(part, extended=False) == (
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)'
    )


def test_multipart_with_attachment_and_extension_data() -> None:
    text = Part("text", "plain", [("charset", "utf-8")], encoding="quoted-printable",
                size=10, lines=1)
    pdf = Part("application", "pdf", [("name", "a b.pdf")], encoding="base64", size=400,
               disposition="attachment", disposition_params=[("filename", "a b.pdf")],
               language=["en", "nl"], md5="abc")
    mixed = Part("multipart", "mixed", [("boundary", "xyz")], parts=[text, pdf],
                 language=["en"], location="http://x/")
    assert body_structure(mixed) == (
        b'(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 10 1 NIL NIL NIL NIL)'
        b'("application" "pdf" ("name" "a b.pdf") NIL NIL "base64" 400 "abc" '
        b'("attachment" ("filename" "a b.pdf")) ("en" "nl") NIL)'
        b' "mixed" ("boundary" "xyz") NIL "en" "http://x/")'
    )
    assert body_structure(mixed, extended=False) == (
        b'(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 10 1)'
        b'("application" "pdf" ("name" "a b.pdf") NIL NIL "base64" 400) "mixed")'
    )


def test_message_rfc822_part() -> None:
    inner = Part("TEXT", "PLAIN", size=5, lines=1)
    msg = Part("MESSAGE", "RFC822", size=300, lines=12, envelope=Env(subject=None), body=inner)
    out = body_structure(msg, extended=False)
    assert out.startswith(b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 300 ("Wed, ')
    assert out.endswith(b' ("TEXT" "PLAIN" NIL NIL NIL "7BIT" 5 1) 12)')


def test_empty_multipart_still_has_one_body() -> None:
    out = body_structure(Part("multipart", "mixed"), extended=False)
    assert out == b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0) "mixed")'
