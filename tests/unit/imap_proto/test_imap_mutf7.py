"""Modified UTF-7 (RFC 3501 §5.1.3), checked against imapclient as an oracle."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from imapclient import imap_utf7

from postbus.imap.proto import mutf7

CASES = [
    ("INBOX", "INBOX"),
    ("Boîte d'envoi", "Bo&AO4-te d'envoi"),
    ("Entwürfe&Co", "Entw&APw-rfe&-Co"),
    ("&", "&-"),
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
    ("emoji 📬", "emoji &2D3c7A-"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "wire"), CASES)
def test_known_pairs(text: str, wire: str) -> None:
    assert mutf7.encode(text) == wire
    assert mutf7.decode(wire) == text
    assert imap_utf7.encode(text) == wire.encode("ascii")
    assert imap_utf7.decode(wire.encode("ascii")) == text


@given(st.text(st.characters(codec="utf-8"), max_size=40))
def test_round_trip_matches_imapclient(text: str) -> None:
    wire = mutf7.encode(text)
    assert wire.encode("ascii") == imap_utf7.encode(text)
    assert mutf7.decode(wire) == text


@pytest.mark.parametrize(
    "wire",
    [
        "&",  # unterminated
        "&AO4",  # unterminated
        "&AGE-",  # printable ASCII ("a") must not be encoded
        "&AO4-&AO4-",  # adjacent runs must be one run
        "&AO5-",  # non-zero padding bits
        "&2D0-",  # lone surrogate
        "Bo\u00eete",  # raw non-ASCII is not mUTF-7
        "a\tb",  # control character
        "&A-",  # invalid base64 length
    ],
)
def test_non_canonical_is_rejected(wire: str) -> None:
    with pytest.raises(ValueError):
        mutf7.decode(wire)
