"""Fuzz what a browser hands the writing services: address fields, vCard and CSV
files. Arbitrary input yields values or the services' own refusals, nothing else,
and a parsed address is always one we can put in a message."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbus.addressbook import ContactRefused, check_contact, csvio, vcard
from postbus.compose import Attachment, ComposeRefused
from postbus.compose.mime import Composed, build
from postbus.compose.recipients import Addressee, parse_field

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_ADDRESS_TOKENS = st.sampled_from([
    "a@b.test", "<", ">", ",", ";", ":", '"', "\\", "(", ")", " ", "\n", "\r", "@", ".", "x",
    "=?utf-8?q?=C3=A9?=", "é", "bücher.de", "[1.2.3.4]", "%", "!", "\x00", "group:", "\t",
])
_VCARD_TOKENS = st.sampled_from([
    "BEGIN:VCARD\r\n", "END:VCARD\r\n", "VERSION:4.0\r\n", "FN:", "N:", "EMAIL:", "NOTE:",
    "a@b.test", ";", "\\", "\\n", ",", "\r\n", " ", "\n", "ENCODING=QUOTED-PRINTABLE:",
    "=C3=A9", "=", "item1.", "x", "é", "\x00",
])
_CSV_TOKENS = st.sampled_from([
    "Name", "E-mail", "Notes", "First Name", ",", '"', "\r\n", "\n", "a@b.test", "=1+1", " ",
    "x", "é", "\x00", '""',
])


@FUZZ
@given(st.one_of(st.text(max_size=300), st.lists(_ADDRESS_TOKENS, max_size=60).map("".join)))
def test_address_fields(value: str) -> None:
    try:
        found = parse_field(value)
    except ComposeRefused:
        return
    for a in found:
        local, _, domain = a.address.rpartition("@")
        assert local and domain.isascii() and a.address.isascii()
    if found:  # whatever was accepted goes into a message
        build(Composed(sender=Addressee("", "me@example.test"), to=tuple(found[:5])),
              with_bcc=True)


@FUZZ
@given(st.one_of(st.text(max_size=600), st.lists(_VCARD_TOKENS, max_size=80).map("".join)))
def test_vcard_import(text: str) -> None:
    try:
        contacts = vcard.parse(text)
    except ContactRefused:
        return
    for c in contacts:
        try:
            check_contact(c)
        except ContactRefused:
            continue


@FUZZ
@given(st.one_of(st.text(max_size=600), st.lists(_CSV_TOKENS, max_size=80).map("".join)))
def test_csv_import(text: str) -> None:
    try:
        csvio.parse(text)
    except ContactRefused:
        return


@FUZZ
@given(st.text(max_size=200), st.text(max_size=60), st.binary(max_size=200))
def test_any_subject_body_and_attachment_build(subject: str, filename: str, data: bytes) -> None:
    raw = build(Composed(sender=Addressee("Zoë", "me@example.test"), subject=subject, body=subject,
                         attachments=(Attachment(filename, "application/pdf", data),
                                      Attachment(filename, "message/rfc822", data))),
                with_bcc=False)
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only: no bare LF reaches SMTP rules
