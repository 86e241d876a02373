"""Tests for postbus.accounts.address: domain and address normalisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postbus.accounts.address import (
    MAX_LOCAL_PART_OCTETS,
    AddressError,
    base_address,
    display_address,
    display_domain,
    normalize_address,
    normalize_alias_source,
    normalize_domain,
    split_address,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.TEST", "example.test"),
        ("example.test.", "example.test"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("ＥＸＡＭＰＬＥ．com", "example.com"),  # UTS 46 width mapping, full-width dot
        ("faß.de", "xn--fa-hia.de"),  # IDNA 2008: ß is kept, not mapped to ss
        ("localhost", "localhost"),
        ("a" * 63 + ".test", "a" * 63 + ".test"),
    ],
)
def test_normalize_domain(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ".",
        "example.test..",  # only one trailing dot is stripped
        "a..b.test",
        ".example.test",
        "a_b.example",
        "-ab.example",
        "ab-.example",
        "ab--cd.example",
        "xn--zz.example",  # not a valid A-label
        "a" * 64 + ".test",
        ".".join(["a" * 63] * 4),  # 255 octets
        "exa mple.test",
        "ex\x00.test",
        "1.2.3.4",
        "[192.0.2.1]",
        "a\u200db.test",
    ],
)
def test_normalize_domain_rejects(raw: str) -> None:
    with pytest.raises(AddressError):
        normalize_domain(raw)


def test_domain_length_limit_is_253() -> None:
    name = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253 octets
    assert normalize_domain(name) == name
    with pytest.raises(AddressError):
        normalize_domain("c" + name)


def test_address_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid domain"):
        normalize_domain("a_b.test")


def test_display_domain() -> None:
    assert display_domain("xn--bcher-kva.example") == "bücher.example"
    assert display_domain("example.test") == "example.test"
    assert display_domain("xn--zz.example") == "xn--zz.example"  # never raises


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("User@Example.TEST", "user@example.test"),
        ("first.last+tag@example.test", "first.last+tag@example.test"),
        ("o'brien@bücher.example", "o'brien@xn--bcher-kva.example"),
        ("Jürgen@example.test", "jürgen@example.test"),  # SMTPUTF8 local part
        ("用户@例え.テスト", "用户@xn--r8jz45g.xn--zckzah"),
        (
            "a#b$c&d*e=f?g^h_i`j{k|l}m~n/o@example.test",
            "a#b$c&d*e=f?g^h_i`j{k|l}m~n/o@example.test",
        ),
        ("user@example.test.", "user@example.test"),
        ("x" * 64 + "@example.test", "x" * 64 + "@example.test"),
    ],
)
def test_normalize_address(raw: str, expected: str) -> None:
    assert normalize_address(raw) == expected


def test_local_part_is_nfc_normalised() -> None:
    decomposed = "Ju\u0308rgen@example.test"
    assert normalize_address(decomposed) == "j\u00fcrgen@example.test"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "user",
        "@example.test",
        "user@",
        '"john doe"@example.test',
        '"user"@example.test',
        "us%er@example.test",
        "user!host@example.test",
        "@relay.test,@other.test:user@example.test",
        "@relay.test:user@example.test",
        "us er@example.test",
        " user@example.test",
        "user@example.test ",
        "us\ter@example.test",
        "us\x00er@example.test",
        "us\x7fer@example.test",
        "us\u0085er@example.test",  # C1 control
        "us\u00a0er@example.test",  # no-break space
        "user@@example.test",
        "a@b@example.test",
        ".user@example.test",
        "user.@example.test",
        "us..er@example.test",
        "us(er)@example.test",
        "us,er@example.test",
        "x" * 65 + "@example.test",
        "é" * 33 + "@example.test",  # 33 characters but 66 octets
        "user@[192.0.2.1]",
        "user@a_b.test",
        "user@exa mple.test",
    ],
)
def test_normalize_address_rejects(raw: str) -> None:
    with pytest.raises(AddressError):
        normalize_address(raw)


def test_local_part_limit_counts_octets() -> None:
    assert MAX_LOCAL_PART_OCTETS == 64
    assert normalize_address("é" * 32 + "@example.test") == "é" * 32 + "@example.test"


def test_whole_address_limit() -> None:
    domain = ".".join(["d" * 63, "d" * 63, "d" * 60])  # 188 octets
    normalize_address("x" * 64 + "@" + domain[:-5] + ".test")  # 64 + 1 + 188 = 253
    with pytest.raises(AddressError, match="254"):
        normalize_address("x" * 64 + "@" + domain + ".test")


def test_split_and_display_address() -> None:
    assert split_address("User@Bücher.Example") == ("user", "xn--bcher-kva.example")
    assert display_address("user@xn--bcher-kva.example") == "user@bücher.example"
    assert display_address("not-an-address") == "not-an-address"
    with pytest.raises(AddressError):
        split_address("user")


def test_alias_source() -> None:
    assert normalize_alias_source("@Bücher.Example") == "@xn--bcher-kva.example"
    assert normalize_alias_source("Sales@Example.TEST") == "sales@example.test"
    with pytest.raises(AddressError):
        normalize_alias_source("@")
    with pytest.raises(AddressError):
        normalize_alias_source("@a_b.test")
    with pytest.raises(AddressError):
        normalize_alias_source("sales")


_LOCAL_CHARS = st.sampled_from([*"abcXYZ019.+-_'=éÜß用", "\u0301"])
_DOMAINS = st.sampled_from(["example.test", "Bücher.Example", "例え.テスト", "a-b.test."])


@given(local=st.text(_LOCAL_CHARS, min_size=1, max_size=20), domain=_DOMAINS)
def test_normalize_address_is_idempotent(local: str, domain: str) -> None:
    try:
        once = normalize_address(f"{local}@{domain}")
    except AddressError:
        return
    assert normalize_address(once) == once
    assert normalize_address(display_address(once)) == once


@given(st.text(max_size=40))
def test_normalize_address_raises_only_address_error(raw: str) -> None:
    try:
        result = normalize_address(raw)
    except AddressError:
        return
    assert "@" in result
    assert result == normalize_address(result)


@pytest.mark.parametrize(("address", "delimiters", "expected"), [
    ("anna+news@example.test", "+", "anna@example.test"),
    ("anna+a+b@example.test", "+", "anna@example.test"),  # cut at the first delimiter
    ("anna+@example.test", "+", "anna@example.test"),  # an empty tag is still a tag
    ("anna-news@example.test", "+-", "anna@example.test"),  # each character separates
    ("anna+x-y@example.test", "-+", "anna@example.test"),  # whichever comes first
    ("anna@example.test", "+", None),
    ("+news@example.test", "+", None),  # nobody before the tag
    ("anna+news@example.test", "", None),  # disabled
    ("anna-news@example.test", "+", None),
])
def test_base_address(address: str, delimiters: str, expected: str | None) -> None:
    assert base_address(address, delimiters) == expected
