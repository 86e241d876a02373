"""RFC 3461 §4 xtext."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postbus.smtp.proto.xtext import XtextError, decode_xtext, encode_xtext


def test_decode() -> None:
    assert decode_xtext("e+3Dmc2@example.com") == "e=mc2@example.com"
    assert decode_xtext("a+2Bb+20c") == "a+b c"
    assert decode_xtext("") == ""


@pytest.mark.parametrize("bad", ["a+", "a+2", "a+2b", "a+GG", "a=b", "a b", "é", "+FF"])
def test_decode_rejects(bad: str) -> None:
    with pytest.raises(XtextError):
        decode_xtext(bad)


def test_encode() -> None:
    assert encode_xtext("a+b=c d") == "a+2Bb+3Dc+20d"
    assert encode_xtext("é") == "+C3+A9"


@given(st.text())
def test_round_trip(text: str) -> None:
    encoded = encode_xtext(text)
    assert all("!" <= c <= "~" for c in encoded) and "=" not in encoded
    assert decode_xtext(encoded) == text
