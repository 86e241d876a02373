"""RFC 5321 §4.1.2 path grammar: what is accepted, what is reported, what is refused."""

from __future__ import annotations

import pytest

from postbus.smtp.proto.address import (
    MAX_DOMAIN,
    MAX_LOCAL_PART,
    AddressError,
    Path,
    parse_mailbox,
    parse_path,
    scan_path,
    valid_address_literal,
    valid_domain,
)


def test_plain_path() -> None:
    path = parse_path("<alice@example.com>")
    assert path == Path(local="alice", domain="example.com", raw="<alice@example.com>")
    assert path.address == "alice@example.com"
    assert not path.quoted and not path.source_route and not path.trailing_dot


def test_dot_atom_local_part_with_specials() -> None:
    path = parse_path("<o'neil.x+tag=1!#$%&*/?^_`{|}~-@example.com>")
    assert path is not None
    assert path.local == "o'neil.x+tag=1!#$%&*/?^_`{|}~-"


@pytest.mark.parametrize("text", [
    "<.alice@example.com>", "<alice.@example.com>", "<al..ice@example.com>",
    "<al ice@example.com>", "<alice@>", "<@example.com>", "<alice>", "<alice@-x.com>",
    "<alice@x-.com>", "<alice@ex_ample.com>", "<alice@example..com>", "<alice@example.com",
    "alice@example.com", "<alice@example.com> ", "<alice@[1.2.3]>", "<alice@[256.1.1.1]>",
    "<alice@[IPv6:1::2::3]>", "<alice@[IPv6:fe80::1%eth0]>", "<alice@[foo]>",
    '<"unterminated@example.com>', '<"bad\x01"@example.com>', "<>",
    "<@a,b:alice@example.com>", "<@a:@b:alice@example.com>",
])
def test_syntax_errors(text: str) -> None:
    with pytest.raises(AddressError) as info:
        parse_path(text)
    assert info.value.kind == "syntax"


def test_null_path_only_when_allowed() -> None:
    assert parse_path("<>", allow_null=True) is None
    with pytest.raises(AddressError):
        parse_path("<>")


def test_postmaster_without_domain() -> None:
    path = parse_path("<postMaster>", allow_postmaster=True)
    assert path is not None and path.is_postmaster and path.domain == ""
    assert path.address == "postMaster"
    with pytest.raises(AddressError):
        parse_path("<Postmaster>")
    with_domain = parse_path("<Postmaster@example.com>")
    assert with_domain is not None and not with_domain.is_postmaster


def test_quoted_local_part_is_reported() -> None:
    path = parse_path('<"john \\"q\\" doe"@example.com>')
    assert path is not None and path.quoted
    assert path.local == 'john "q" doe'
    assert path.address == '"john \\"q\\" doe"@example.com'
    # a quoted dot-string is the same mailbox (RFC 5321 §4.1.2), still reported
    same = parse_path('<"john"@example.com>')
    assert same is not None and same.quoted and same.address == "john@example.com"


def test_quoted_local_part_may_contain_angle_bracket_and_at() -> None:
    path = parse_path('<"a>b@c"@example.com>')
    assert path is not None and path.local == "a>b@c" and path.domain == "example.com"


def test_source_route_is_parsed_and_reported() -> None:
    path = parse_path("<@relay.one,@relay.two:user@example.com>")
    assert path is not None
    assert path.source_route == ("relay.one", "relay.two")
    assert path.address == "user@example.com"
    assert path.raw == "<@relay.one,@relay.two:user@example.com>"


def test_trailing_dot_is_stripped_and_reported() -> None:
    path = parse_path("<user@example.com.>")
    assert path is not None and path.trailing_dot and path.domain == "example.com"


@pytest.mark.parametrize("literal", [
    "[192.0.2.1]", "[IPv6:2001:db8::1]", "[ipv6:::1]", "[IPv6:::ffff:192.0.2.1]",
    "[x-tag:some-content]",
])
def test_address_literals(literal: str) -> None:
    path = parse_path(f"<user@{literal}>")
    assert path is not None and path.domain == literal and path.is_address_literal
    assert valid_address_literal(literal)


def test_utf8_needs_smtputf8() -> None:
    with pytest.raises(AddressError) as info:
        parse_path("<jöran@bücher.example>")
    assert info.value.kind == "utf8"
    path = parse_path("<jöran@bücher.example>", utf8=True)
    assert path is not None and path.is_utf8 and path.local == "jöran"
    with pytest.raises(AddressError) as info:
        parse_path("<joran@bücher.example>")
    assert info.value.kind == "utf8"
    quoted = parse_path('<"jö ran"@example.com>', utf8=True)
    assert quoted is not None and quoted.quoted


def test_length_limits() -> None:
    local = "a" * MAX_LOCAL_PART
    assert parse_path(f"<{local}@example.com>") is not None
    with pytest.raises(AddressError) as info:
        parse_path(f"<{local}a@example.com>")
    assert info.value.kind == "too_long"
    # counted in octets: 33 two-octet characters are 66 octets
    with pytest.raises(AddressError) as info:
        parse_path(f"<{'ö' * 33}@example.com>", utf8=True)
    assert info.value.kind == "too_long"
    label = "b" * 63
    with pytest.raises(AddressError):  # a 64-octet label
        parse_path(f"<a@{label}b.com>")
    domain = ".".join([label] * 4)  # 255 octets
    assert len(domain) == MAX_DOMAIN
    with pytest.raises(AddressError) as info:  # the path is 260 octets
        parse_path(f"<a@{domain}>")
    assert info.value.kind == "path_too_long"
    fits = ".".join(["x" * 63] * 3 + ["x" * 60])  # "<a@" + 252 + ">" = 256 octets
    assert parse_path(f"<a@{fits}>") is not None
    with pytest.raises(AddressError) as info:
        parse_path(f"<ab@{fits}>")
    assert info.value.kind == "path_too_long"


def test_domain_too_long_inside_an_allowed_path() -> None:
    domain = ".".join(["c" * 63] * 4) + ".d"  # 257 octets
    with pytest.raises(AddressError) as info:
        scan_path(f"<a@{domain}>", 0)
    assert info.value.kind in ("path_too_long", "too_long")


def test_scan_path_reports_end() -> None:
    path, end = scan_path("x <a@b.c> SIZE=1", 2)
    assert path is not None and path.address == "a@b.c" and end == 9


def test_parse_mailbox() -> None:
    box = parse_mailbox("user@example.org")
    assert box.local == "user" and box.domain == "example.org"
    with pytest.raises(AddressError):
        parse_mailbox("<user@example.org>")
    with pytest.raises(AddressError):
        parse_mailbox("user@example.org extra")


def test_valid_domain() -> None:
    assert valid_domain("mail.example.com")
    assert valid_domain("localhost")
    assert not valid_domain("mail.example.com.")
    assert not valid_domain("my_pc")
    assert not valid_domain("bücher.example")
    assert valid_domain("bücher.example", utf8=True)
    assert not valid_domain("")
    assert not valid_address_literal("[1.2.3.4")
