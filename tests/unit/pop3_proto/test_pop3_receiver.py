"""POP3 line receiver: CRLF and bare LF, limits, recovery after an over-long line."""

from __future__ import annotations

from postbus.pop3.proto import (
    AUTH_LINE_LIMIT,
    COMMAND_LINE_LIMIT,
    NEED_DATA,
    Event,
    Line,
    LineReceiver,
    LineTooLong,
)


def drain(receiver: LineReceiver) -> list[Event]:
    events: list[Event] = []
    while (event := receiver.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def test_lines_with_crlf_and_bare_lf() -> None:
    receiver = LineReceiver()
    receiver.feed(b"USER a\r\nPASS b c\nSTAT\r\nLI")
    assert drain(receiver) == [Line(b"USER a"), Line(b"PASS b c"), Line(b"STAT")]
    receiver.feed(b"ST\r\n")
    assert drain(receiver) == [Line(b"LIST")]


def test_one_byte_at_a_time() -> None:
    receiver = LineReceiver()
    events: list[Event] = []
    for byte in b"CAPA\r\nQUIT\n":
        receiver.feed(bytes([byte]))
        events += drain(receiver)
    assert events == [Line(b"CAPA"), Line(b"QUIT")]


def test_limit_is_255_octets_including_crlf() -> None:
    receiver = LineReceiver()
    longest = b"PASS " + b"p" * (COMMAND_LINE_LIMIT - 7)
    receiver.feed(longest + b"\r\n")
    assert drain(receiver) == [Line(longest)]
    receiver.feed(longest + b"pp\r\nNOOP\r\n")
    assert drain(receiver) == [LineTooLong(), Line(b"NOOP")]


def test_over_long_line_discarded_in_pieces() -> None:
    receiver = LineReceiver()
    events: list[Event] = []
    for _ in range(50):
        receiver.feed(b"z" * 1000)
        events += drain(receiver)
        assert receiver.buffered < COMMAND_LINE_LIMIT
    receiver.feed(b"\r\nQUIT\r\n")
    events += drain(receiver)
    assert events == [LineTooLong(), Line(b"QUIT")]


def test_auth_continuation_gets_a_longer_limit_once() -> None:
    receiver = LineReceiver()
    response = b"Q" * (AUTH_LINE_LIMIT - 2)
    receiver.expect_auth_response()
    receiver.feed(response + b"\r\n" + b"Q" * 300 + b"\r\n")
    assert drain(receiver) == [Line(response), LineTooLong()]
