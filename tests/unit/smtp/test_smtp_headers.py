"""HeaderCollector: the header block of a submitted message, at any chunking."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from postbus.smtp.headers import HeaderCollector

_PIECES = st.sampled_from([b"From: a@b.test", b"\r\n", b"\r\n\r\n", b" folded", b"X: y", b"\r", b"\n"])


def expected(message: bytes) -> bytes:
    if message.startswith(b"\r\n"):
        return b""
    end = message.find(b"\r\n\r\n")
    return message if end < 0 else message[: end + 2]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(_PIECES, max_size=30), cuts=st.lists(st.integers(0, 300), max_size=8))
def test_header_at_any_chunking(parts: list[bytes], cuts: list[int]) -> None:
    message = b"".join(parts)
    bounds = [0, *sorted({c for c in cuts if c < len(message)}), len(message)]
    collector = HeaderCollector(limit=10_000)
    for a, b in itertools.pairwise(bounds):
        collector.write(message[a:b])
    assert not collector.too_large
    assert collector.header() == expected(message)


def test_limit() -> None:
    collector = HeaderCollector(limit=20)
    collector.write(b"Subject: " + b"x" * 8 + b"\r\n\r\nbody")  # 19 octets of header: kept
    assert collector.header() == b"Subject: xxxxxxxx\r\n" and not collector.too_large
    collector = HeaderCollector(limit=20)
    for piece in (b"Subject: ", b"x" * 20, b"\r\n\r\n"):
        collector.write(piece)
    assert collector.too_large and collector.header() == b""
