"""Dot-stuffing for RETR/TOP, across chunk boundaries, against a simple reference."""

from __future__ import annotations

import itertools
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from postbus.pop3.proto import DotStuffer, stuff_message, terminator, top_lines


def reference_stuff(message: bytes) -> bytes:
    """Line by line: a "." is added to every line (split at LF) that starts with "."."""
    lines = message.split(b"\n")
    stuffed = b"\n".join(b"." + line if line.startswith(b".") else line for line in lines)
    return stuffed + (b".\r\n" if not message or message.endswith(b"\r\n") else b"\r\n.\r\n")


def unstuff(response: bytes) -> bytes:
    """What a CRLF client reads: lines up to the terminator, leading dot removed."""
    assert response.endswith(b".\r\n")
    lines = response.split(b"\r\n")
    out = []
    for line in lines:
        if line == b".":
            break
        out.append(line[1:] if line.startswith(b".") else line)
    return b"\r\n".join(out) + b"\r\n"


def stuff(chunks: list[bytes]) -> bytes:
    return b"".join(stuff_message(chunks))


def test_simple() -> None:
    message = b"Subject: x\r\n\r\n.hidden\r\n..two\r\nend\r\n"
    assert stuff([message]) == b"Subject: x\r\n\r\n..hidden\r\n...two\r\nend\r\n.\r\n"


def test_first_line_dot_and_boundaries() -> None:
    assert stuff([b".a\r\n"]) == b"..a\r\n.\r\n"
    assert stuff([b"a\r", b"\n.b\r\n"]) == b"a\r\n..b\r\n.\r\n"
    assert stuff([b"a\r\n", b".b\r\n"]) == b"a\r\n..b\r\n.\r\n"
    assert stuff([b"a\r\n", b"", b".", b"b", b"\r", b"\n"]) == b"a\r\n..b\r\n.\r\n"


def test_terminators() -> None:
    assert terminator(True) == b".\r\n" and terminator(False) == b"\r\n.\r\n"
    assert stuff([]) == b".\r\n"
    assert stuff([b"no final newline"]) == b"no final newline\r\n.\r\n"
    assert stuff([b"ends in cr\r"]) == b"ends in cr\r\r\n.\r\n"
    assert stuff([b"ends in bare lf\n"]) == b"ends in bare lf\n\r\n.\r\n"
    stuffer = DotStuffer()
    stuffer.feed(b"x\r")
    stuffer.feed(b"\n")
    assert stuffer.ends_with_crlf and stuffer.finish() == b".\r\n"


def test_bare_lf_dot_lines_are_stuffed_too() -> None:
    assert stuff([b"a\n.\r\nb\r\n"]) == b"a\n..\r\nb\r\n.\r\n"


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.sampled_from([b".", b"\r\n", b"\n", b"\r", b"a", b"..", b"\r\n."]),
                      max_size=50),
       cuts=st.lists(st.integers(0, 100), max_size=10))
def test_matches_reference_at_any_chunking(parts: list[bytes], cuts: list[int]) -> None:
    message = b"".join(parts)
    bounds = [0, *sorted(c for c in cuts if c < len(message)), len(message)]
    chunks = [message[a:b] for a, b in itertools.pairwise(bounds)]
    assert stuff(chunks) == reference_stuff(message)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.binary(max_size=12).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"")), max_size=20))
def test_crlf_client_reads_the_message_back(lines: list[bytes]) -> None:
    message = b"".join(line + b"\r\n" for line in lines)
    response = stuff([message[i : i + 5] for i in range(0, len(message), 5)])
    if message:
        assert unstuff(response) == message
    else:
        assert response == b".\r\n"


def test_top() -> None:
    header = b"From: a@example.com\r\nSubject: s\r\n\r\n"
    body = [b"one\r\ntwo\r\n", b"thr", b"ee\r\nfour\r\n"]
    assert b"".join(top_lines(header, body, 0)) == header
    assert b"".join(top_lines(header, body, 1)) == header + b"one\r\n"
    assert b"".join(top_lines(header, body, 3)) == header + b"one\r\ntwo\r\nthree\r\n"
    assert b"".join(top_lines(header, body, 99)) == header + b"".join(body)
    assert b"".join(top_lines(header, [b"last line without newline"], 5)) == (
        header + b"last line without newline"
    )


def test_top_supplies_the_blank_line() -> None:
    assert b"".join(top_lines(b"Subject: s\r\n", [b"body\r\n"], 1)) == b"Subject: s\r\n\r\nbody\r\n"
    assert b"".join(top_lines(b"Subject: s", [], 1)) == b"Subject: s\r\n\r\n"
    assert b"".join(top_lines(b"", [b"body\r\n"], 1)) == b"\r\nbody\r\n"
    assert b"".join(top_lines(b"\r\n", [b"body\r\n"], 1)) == b"\r\nbody\r\n"
    assert b"".join(top_lines(b"A: b\n\n", [], 1)) == b"A: b\n\n"


@settings(max_examples=200, deadline=None)
@given(body=st.lists(st.sampled_from([b"x", b"\r\n", b"\n", b"."]), max_size=40),
       cuts=st.lists(st.integers(0, 40), max_size=6), n=st.integers(0, 30))
def test_top_matches_reference(body: list[bytes], cuts: list[int], n: int) -> None:
    data = b"".join(body)
    bounds = [0, *sorted(c for c in cuts if c < len(data)), len(data)]
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    lines = data.split(b"\n")
    want = b"".join(line + b"\n" for line in lines[:n]) if len(lines) > n else data
    got = b"".join(top_lines(b"H: v\r\n\r\n", chunks, n))
    assert got == b"H: v\r\n\r\n" + want


def test_retr_of_12_mb_is_fast() -> None:
    message = (b"x" * 76 + b"\r\n") * (12 * 2**20 // 78) + b".dot line\r\n"
    started = time.process_time()
    out = stuff([message[i : i + 65536] for i in range(0, len(message), 65536)])
    elapsed = time.process_time() - started
    assert out.endswith(b"..dot line\r\n.\r\n")
    assert elapsed < 0.5  # measured a few ms; generous for loaded machines
