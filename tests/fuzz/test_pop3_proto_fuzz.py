"""Fuzz the sans-IO POP3 core: arbitrary input yields only documented events and errors."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbus.pop3.proto import (
    COMMAND_LINE_LIMIT,
    NEED_DATA,
    DotStuffer,
    Line,
    LineReceiver,
    LineTooLong,
    Pop3Command,
    Pop3Error,
    parse_command,
    top_lines,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_TOKENS = st.sampled_from([
    b"USER ", b"PASS ", b"APOP ", b"LIST", b"RETR ", b"TOP ", b"UIDL", b"AUTH ", b"CAPA", b"1",
    b"0", b"2147483648", b" ", b"\r\n", b"\n", b"\r", b"\x00", b"\xc3\xa9", b"\xff", b"a", b"=",
])
_INPUT = st.one_of(st.binary(max_size=400), st.lists(_TOKENS, max_size=60).map(b"".join))


@FUZZ
@given(line=_INPUT)
def test_parse_command_raises_only_pop3_errors(line: bytes) -> None:
    try:
        command = parse_command(line)
    except Pop3Error as error:
        assert error.text and "\r" not in error.text and "\n" not in error.text
    else:
        assert isinstance(command, Pop3Command)
        assert command.number is None or 1 <= command.number < 2**31
        assert command.lines is None or 0 <= command.lines < 2**31


@FUZZ
@given(data=_INPUT, cuts=st.lists(st.integers(0, 400), max_size=10))
def test_receiver_yields_bounded_lines(data: bytes, cuts: list[int]) -> None:
    receiver = LineReceiver()
    bounds = [0, *sorted(c for c in cuts if c < len(data)), len(data)]
    events: list[Line | LineTooLong] = []
    for a, b in itertools.pairwise(bounds):
        receiver.feed(data[a:b])
        while (event := receiver.next_event()) is not NEED_DATA:
            assert isinstance(event, (Line, LineTooLong))
            if isinstance(event, Line):
                assert len(event.line) < COMMAND_LINE_LIMIT and b"\n" not in event.line
            events.append(event)
        assert receiver.buffered < COMMAND_LINE_LIMIT
    # every complete line came out in order, or as LineTooLong when it did not fit
    expected = [Line(line.removesuffix(b"\r")) if len(line) + 1 <= COMMAND_LINE_LIMIT
                else LineTooLong() for line in data.split(b"\n")[:-1]]
    assert events == expected


@FUZZ
@given(chunks=st.lists(st.binary(max_size=50), max_size=10))
def test_stuffed_output_never_contains_an_early_terminator(chunks: list[bytes]) -> None:
    stuffer = DotStuffer()
    out = b"".join(stuffer.feed(chunk) for chunk in chunks) + stuffer.finish()
    message = b"".join(chunks)
    body = out[: -len(stuffer.finish())]
    # no line of the body is a lone "." however a client splits lines
    assert b"\n.\r\n" not in body and b"\n.\n" not in body and not body.startswith(b".\r\n")
    assert len(body) == len(message) + message.count(b"\n.") + message.startswith(b".")


@FUZZ
@given(header=st.binary(max_size=40), body=st.lists(st.binary(max_size=30), max_size=5),
       n=st.integers(0, 10))
def test_top_lines_is_a_prefix_of_the_message(header: bytes, body: list[bytes], n: int) -> None:
    out = b"".join(top_lines(header, body, n))
    data = b"".join(body)
    lines = data.split(b"\n")
    prefix = b"".join(line + b"\n" for line in lines[:n]) if len(lines) > n else data
    assert any(out == header + blank + prefix for blank in (b"", b"\r\n", b"\r\n\r\n"))
