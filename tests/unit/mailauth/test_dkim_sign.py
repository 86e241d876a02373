"""DKIM: our signatures checked by dkimpy (the oracle), our canonicalisation
against dkimpy's, and our verification on top of dkimpy with a fake resolver."""

from __future__ import annotations

import functools

import dkim as dkimpy
import pytest
from dkim.canonicalization import Relaxed
from hypothesis import given, settings
from hypothesis import strategies as st

from postbus.mailauth import dkim
from postbus.mailauth.resolver import StaticResolver

DOMAIN, SELECTOR = "example.org", "pb202601"


@functools.cache
def key() -> str:
    return dkim.generate_key()


def oracle_verify(message: bytes, pem: str | None = None) -> bool:
    record = dkim.dns_txt_record(pem or key()).encode()

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return bool(dkimpy.verify(message, dnsfunc=dnsfunc))


def signed(message: bytes, **kw: object) -> bytes:
    return dkim.sign(message, domain=DOMAIN, selector=SELECTOR, private_pem=key(), **kw) + message  # type: ignore[arg-type]


MESSAGES = {
    "plain": b"From: Alice <alice@example.org>\r\nTo: bob@remote.test\r\nSubject: hi\r\n"
             b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nHello\r\n",
    "folded-and-spaced": b"From:   Alice\r\n  <alice@example.org>  \r\nSubject:\t a \t  b \r\n\tc\r\n"
                         b"TO: x@y.test\r\nto: z@y.test\r\n\r\nline with  spaces \t \r\n\r\n\r\n",
    "empty-body": b"From: alice@example.org\r\nSubject: nothing\r\n\r\n",
    "no-body-separator": b"From: alice@example.org\r\nSubject: only header\r\n",
    "body-without-final-crlf": b"From: alice@example.org\r\n\r\nlast line",
    "bare-lf": b"From: alice@example.org\nSubject: unix\n\nbody\nmore\n",
    "eight-bit": "From: Zoë <zoe@example.org>\r\nSubject: café\r\n\r\nnaïve — ok\r\n".encode(),
    "only-blank-lines": b"From: alice@example.org\r\n\r\n\r\n\r\n \r\n",
    "mime": b"From: alice@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;"
            b" boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n",
}


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_dkimpy_verifies_our_signature(name: str) -> None:
    message = MESSAGES[name]
    out = signed(message)
    assert out.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;")
    # As transmitted: aiosmtplib turns every line ending into CRLF.
    assert oracle_verify(dkim.crlf(out))


def test_signature_lines_are_short_and_crlf() -> None:
    field = dkim.sign(MESSAGES["plain"], domain=DOMAIN, selector=SELECTOR, private_pem=key())
    lines = field.split(b"\r\n")
    assert lines[-1] == b""
    assert all(len(line) <= 78 for line in lines)
    assert all(line.startswith(b"\t") for line in lines[1:-1])
    tags = dkim.signature_tags(field.partition(b":")[2])
    assert tags["h"].split(":").count("from") == 2  # over-signed
    assert tags["d"] == DOMAIN and tags["s"] == SELECTOR


@pytest.mark.parametrize("change", [
    (b"Subject: hi", b"Subject: hI"),
    (b"Hello\r\n", b"Hullo\r\n"),
    (b"To: bob@remote.test\r\n", b"To: bob@remote.test\r\nFrom: mallory@evil.test\r\n"),
])
def test_changes_break_the_signature(change: tuple[bytes, bytes]) -> None:
    out = signed(MESSAGES["plain"]).replace(*change)
    assert not oracle_verify(out)


def test_whitespace_changes_survive_relaxed() -> None:
    out = signed(MESSAGES["plain"])
    changed = out.replace(b"Subject: hi", b"Subject:    hi  ").replace(b"Hello\r\n", b"Hello \r\n\r\n")
    assert oracle_verify(changed)


def test_headers_not_present_are_not_listed_except_oversigned() -> None:
    field = dkim.sign(MESSAGES["empty-body"], domain=DOMAIN, selector=SELECTOR, private_pem=key())
    tags = dkim.signature_tags(field.partition(b":")[2])
    assert tags["h"] == "from:from:subject"


BODY_LINES = st.lists(st.text(alphabet=" \ta.\r", max_size=8).map(lambda s: s.replace("\r", "")),
                      max_size=6)


@settings(max_examples=200, deadline=None)
@given(BODY_LINES, st.booleans())
def test_relaxed_body_matches_dkimpy(lines: list[str], final_crlf: bool) -> None:
    body = "\r\n".join(lines).encode() + (b"\r\n" if final_crlf and lines else b"")
    assert dkim.relaxed_body(body) == Relaxed.canonicalize_body(body)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="aB-", min_size=1, max_size=5),
       st.lists(st.text(alphabet=" \tx:", max_size=6), min_size=1, max_size=3))
def test_relaxed_header_matches_dkimpy(name: str, pieces: list[str]) -> None:
    value = "\r\n ".join(pieces).encode()
    [(cname, cvalue)] = Relaxed.canonicalize_headers([(name.encode() + b" ", value)])
    assert dkim.relaxed_header(name.encode() + b" ", value) == cname + b":" + cvalue


def test_select_headers_takes_instances_from_the_bottom() -> None:
    fields, _ = dkim.split_message(b"To: 1\r\nX: a\r\nTo: 2\r\n\r\n")
    assert dkim.select_headers(fields, ["to", "to", "to"]) == [(b"To", b" 2"), (b"To", b" 1")]


async def test_verify_reports_pass_fail_and_errors() -> None:
    record = dkim.dns_txt_record(key())
    resolver = StaticResolver({f"TXT {SELECTOR}._domainkey.{DOMAIN}": [record]})
    [good] = await dkim.verify(signed(MESSAGES["plain"]), resolver)
    assert (good.result, good.domain, good.selector) == ("pass", DOMAIN, SELECTOR)
    [bad] = await dkim.verify(signed(MESSAGES["plain"]).replace(b"Hello", b"Howdy"), resolver)
    assert bad.result == "fail" and "body hash" in bad.reason
    [missing] = await dkim.verify(signed(MESSAGES["plain"]), StaticResolver({}))
    assert missing.result == "permerror"
    down = StaticResolver({}, failing=[f"{SELECTOR}._domainkey.{DOMAIN}"])
    [temp] = await dkim.verify(signed(MESSAGES["plain"]), down)
    assert temp.result == "temperror"
    assert await dkim.verify(MESSAGES["plain"], resolver) == []


async def test_verify_survives_a_garbage_signature() -> None:
    message = b"DKIM-Signature: v=1; d=example.org; s=x; b=@@@\r\n" + MESSAGES["plain"]
    resolver = StaticResolver({"TXT x._domainkey.example.org": ["v=DKIM1; p=AAAA"]})
    [result] = await dkim.verify(message, resolver)
    assert result.result in ("permerror", "fail")
