"""Framing: lines, literals, limits, IDLE/DONE and AUTHENTICATE lines."""

import pytest

from postbus.imap.proto import (
    AppendArgs,
    AuthLine,
    Command,
    IdleDone,
    LoginArgs,
    NeedContinuation,
    NeedData,
    ProtocolError,
    Receiver,
)
from postbus.imap.proto.receiver import literal_marker

from .helpers import drain, events


def test_single_command_and_need_data() -> None:
    r = Receiver()
    assert isinstance(r.next_event(), NeedData)
    r.feed(b"a1 NOOP")
    assert isinstance(r.next_event(), NeedData)
    r.feed(b"\r\n")
    cmd = r.next_event()
    assert isinstance(cmd, Command) and (cmd.tag, cmd.name) == ("a1", "NOOP")
    assert isinstance(r.next_event(), NeedData)


def test_pipelined_commands_one_at_a_time() -> None:
    out = events(b"a NOOP\r\nb CAPABILITY\r\nc LOGOUT\r\n")
    assert [(c.tag, c.name) for c in out if isinstance(c, Command)] == [
        ("a", "NOOP"), ("b", "CAPABILITY"), ("c", "LOGOUT")
    ]


def test_byte_by_byte_feed() -> None:
    r = Receiver()
    data = b"x1 LOGIN {5}\r\nalice {3+}\r\npwd\r\nx2 NOOP\r\n"
    out = []
    for i in range(len(data)):
        r.feed(data[i : i + 1])
        out.extend(drain(r))
    assert out[0] == NeedContinuation(5)
    assert isinstance(out[1], Command) and out[1].args == LoginArgs("alice", "pwd")
    assert isinstance(out[2], Command) and out[2].name == "NOOP"
    assert len(out) == 3


def test_bare_lf_and_empty_lines_are_tolerated() -> None:
    out = events(b"\r\n\r\na NOOP\n\nb NOOP\r\n")
    assert [c.tag for c in out if isinstance(c, Command)] == ["a", "b"]
    assert len(out) == 2


def test_synchronising_literal_needs_continuation() -> None:
    r = Receiver()
    r.feed(b"a LOGIN {5}\r\n")
    assert r.next_event() == NeedContinuation(5)
    assert isinstance(r.next_event(), NeedData)
    r.feed(b"ali")
    assert isinstance(r.next_event(), NeedData)
    r.feed(b"ce secret\r\n")
    cmd = r.next_event()
    assert isinstance(cmd, Command) and cmd.args == LoginArgs("alice", "secret")


def test_non_synchronising_literal_needs_no_continuation() -> None:
    out = events(b"a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n")
    assert len(out) == 1 and isinstance(out[0], Command)
    assert out[0].args == LoginArgs("alice", "secret")


def test_literal_may_contain_crlf_and_braces() -> None:
    out = events(b'a LOGIN {7+}\r\na\r\n{1}\r {2+}\r\n\r\n\r\n')
    assert isinstance(out[0], Command)
    assert out[0].args == LoginArgs("a\r\n{1}\r", "\r\n")


def test_zero_length_literal() -> None:
    out = events(b"a LOGIN {0+}\r\n {0}\r\n\r\n")
    assert out[0] == NeedContinuation(0)
    assert isinstance(out[1], Command) and out[1].args == LoginArgs("", "")


def test_append_literal_is_a_single_readonly_view() -> None:
    body = b"From: a@b\r\n\r\nhi\r\n" * 1000
    r = Receiver()
    r.feed(b"a APPEND INBOX {%d}\r\n" % len(body))
    assert r.next_event() == NeedContinuation(len(body))
    for i in range(0, len(body), 4096):
        r.feed(body[i : i + 4096])
        assert isinstance(r.next_event(), NeedData)
    r.feed(b"\r\n")
    cmd = r.next_event()
    assert isinstance(cmd, Command) and isinstance(cmd.args, AppendArgs)
    data = cmd.args.messages[0].data
    assert isinstance(data, memoryview) and data.readonly
    assert data == body


def test_literal8_is_marked_binary() -> None:
    out = events(b"a APPEND INBOX ~{3+}\r\n\x00\x01\x02\r\n")
    assert isinstance(out[0], Command) and isinstance(out[0].args, AppendArgs)
    msg = out[0].args.messages[0]
    assert msg.binary and msg.data == b"\x00\x01\x02"


def test_literal8_outside_append_is_bad() -> None:
    out = events(b"a LOGIN ~{1+}\r\nx y\r\n")
    assert isinstance(out[0], ProtocolError) and out[0].status == "BAD"


def test_line_too_long_is_discarded_then_refused() -> None:
    r = Receiver(max_line=100)
    r.feed(b"t1 LOGIN " + b"x" * 300)
    assert isinstance(r.next_event(), NeedData)
    r.feed(b"y" * 5000)
    assert isinstance(r.next_event(), NeedData)
    assert r.buffered < 200  # nothing of the long line is kept
    r.feed(b"\r\nt2 NOOP\r\n")
    err = r.next_event()
    assert err == ProtocolError("t1", "Line too long", "TOOBIG")
    cmd = r.next_event()
    assert isinstance(cmd, Command) and cmd.tag == "t2"


def test_line_too_long_in_one_chunk() -> None:
    out = events(b"t1 NOOP " + b"x" * 200 + b"\r\nt2 NOOP\r\n", Receiver(max_line=100))
    assert isinstance(out[0], ProtocolError) and out[0].tag == "t1"
    assert isinstance(out[1], Command) and out[1].tag == "t2"


def test_long_line_ending_in_non_sync_literal_discards_the_literal() -> None:
    r = Receiver(max_line=50)
    data = b"t1 SEARCH TEXT " + b"x" * 100 + b" TEXT {6+}\r\nA2 X\r\n FROM y\r\nt2 NOOP\r\n"
    out = events(data, r)
    assert isinstance(out[0], ProtocolError) and out[0].tag == "t1"
    assert isinstance(out[1], Command) and out[1].tag == "t2"
    assert len(out) == 2


def test_sync_literal_over_limit_is_refused_without_continuation() -> None:
    r = Receiver(max_literal=10)
    out = events(b"a LOGIN {11}\r\nb NOOP\r\n", r)
    assert out[0] == ProtocolError("a", "Literal too big (limit 10 octets)", "TOOBIG")
    assert isinstance(out[1], Command) and out[1].tag == "b"


def test_non_sync_literal_over_limit_is_discarded_and_stream_stays_in_sync() -> None:
    r = Receiver(max_literal=10)
    payload = b"b NOOP\r\n" * 10  # looks like commands but is literal data
    data = b"a LOGIN {%d+}\r\n%s {3+}\r\nxyz\r\nc NOOP\r\n" % (len(payload), payload)
    out = []
    for i in range(0, len(data), 7):
        r.feed(data[i : i + 7])
        out.extend(drain(r))
    assert len(out) == 2, out
    assert isinstance(out[0], ProtocolError) and out[0].tag == "a"
    assert out[0].code == "TOOBIG" and out[0].status == "BAD"
    assert isinstance(out[1], Command) and out[1].tag == "c"


def test_append_over_limit_is_no_toobig() -> None:
    r = Receiver(append_limit=100)
    out = events(b"a APPEND INBOX {101}\r\nb NOOP\r\n", r)
    assert out[0].status == "NO" and out[0].code == "TOOBIG"  # type: ignore[union-attr]
    assert isinstance(out[1], Command)


def test_append_non_sync_over_limit_is_discarded() -> None:
    r = Receiver(append_limit=100)
    out = events(b"a APPEND INBOX {200+}\r\n" + b"z" * 200 + b"\r\nb NOOP\r\n", r)
    assert isinstance(out[0], ProtocolError) and out[0].status == "NO"
    assert isinstance(out[1], Command) and out[1].tag == "b"
    assert r.buffered == 0


def test_append_uses_append_limit_not_max_literal() -> None:
    r = Receiver(max_literal=10, append_limit=1000)
    out = events(b"a APPEND INBOX {500+}\r\n" + b"m" * 500 + b"\r\n", r)
    assert isinstance(out[0], Command)


def test_multiappend_total_is_bounded() -> None:
    r = Receiver(append_limit=100, max_append_total=150)
    data = b"a APPEND INBOX {100+}\r\n" + b"m" * 100 + b" {100+}\r\n" + b"n" * 100
    out = events(data + b"\r\nb NOOP\r\n", r)
    assert isinstance(out[0], ProtocolError) and out[0].code == "TOOBIG"
    assert isinstance(out[1], Command) and out[1].tag == "b"


def test_command_total_is_bounded() -> None:
    r = Receiver(max_literal=100, max_command=250)
    data = b"a SEARCH" + b" TEXT {100+}\r\n" + b"q" * 100
    out = events(data * 3 + b"\r\nb NOOP\r\n", r)
    assert isinstance(out[0], ProtocolError) and out[0].code == "TOOBIG"
    assert isinstance(out[1], Command) and out[1].tag == "b"


def test_invalid_literal_size_is_fatal() -> None:
    out = events(b"a LOGIN {99999999999999999999999}\r\n")
    assert isinstance(out[0], ProtocolError) and out[0].fatal


def test_parse_error_keeps_tag_and_receiver_usable() -> None:
    out = events(b"tag7 FROB x\r\n+bad\r\nt8 NOOP\r\n")
    assert out[0] == ProtocolError("tag7", "Unknown command FROB")
    assert isinstance(out[1], ProtocolError) and out[1].tag is None
    assert isinstance(out[2], Command) and out[2].tag == "t8"


def test_idle_done() -> None:
    r = Receiver()
    r.feed(b"a IDLE\r\n")
    cmd = r.next_event()
    assert isinstance(cmd, Command) and cmd.name == "IDLE"
    r.expect_idle_done("a")
    assert isinstance(r.next_event(), NeedData)
    r.feed(b"done\r\nb NOOP\r\n")
    assert r.next_event() == IdleDone()
    cmd = r.next_event()
    assert isinstance(cmd, Command) and cmd.tag == "b"


def test_idle_anything_but_done_is_an_error_with_the_idle_tag() -> None:
    r = Receiver()
    r.expect_idle_done("a")
    out = events(b"b NOOP\r\nc NOOP\r\n", r)
    assert out[0] == ProtocolError("a", "Expected DONE to end IDLE")
    assert isinstance(out[1], Command) and out[1].tag == "c"


def test_auth_lines() -> None:
    r = Receiver()
    r.feed(b"a AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n*\r\n")
    cmd = r.next_event()
    assert isinstance(cmd, Command) and cmd.name == "AUTHENTICATE"
    r.expect_auth_line("a")
    line = r.next_event()
    assert line == AuthLine(b"AGFsaWNlAHNlY3JldA==") and not line.cancelled
    r.expect_auth_line("a")
    cancel = r.next_event()
    assert isinstance(cancel, AuthLine) and cancel.cancelled


def test_auth_line_too_long() -> None:
    r = Receiver(max_line=20)
    r.expect_auth_line("a")
    out = events(b"A" * 100 + b"{5+}\r\nb NOOP\r\n", r)
    assert out[0] == ProtocolError("a", "Line too long", "TOOBIG")
    assert isinstance(out[1], Command) and out[1].tag == "b"


def test_mode_switch_mid_command_is_a_programming_error() -> None:
    r = Receiver()
    r.feed(b"a LOGIN {5}\r\n")
    r.next_event()
    with pytest.raises(RuntimeError):
        r.expect_idle_done()


def test_take_buffered_returns_pipelined_bytes() -> None:
    r = Receiver()
    r.feed(b"a STARTTLS\r\nb LOGIN x y\r\n")
    cmd = r.next_event()
    assert isinstance(cmd, Command) and cmd.name == "STARTTLS"
    assert r.buffered == len(b"b LOGIN x y\r\n")
    assert r.take_buffered() == b"b LOGIN x y\r\n"
    assert r.buffered == 0 and isinstance(r.next_event(), NeedData)


def test_large_pipeline_is_consumed_linearly() -> None:
    r = Receiver()
    r.feed(b"".join(b"t%d NOOP\r\n" % i for i in range(20000)))
    for i in range(20000):
        cmd = r.next_event()
        assert isinstance(cmd, Command) and cmd.tag == f"t{i}"
    assert isinstance(r.next_event(), NeedData)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"a LOGIN {5}", (8, 5, False, False)),
        (b"a LOGIN {5+}", (8, 5, True, False)),
        (b"a APPEND x ~{12}", (11, 12, False, True)),
        (b"a LOGIN {}", None),
        (b"a LOGIN {x}", None),
        (b"a LOGIN 5}", None),
        (b"a {99999999999999999999}", (2, -1, False, False)),
    ],
)
def test_literal_marker(line: bytes, expected: object) -> None:
    assert literal_marker(line) == expected


def test_discard_finds_a_literal_marker_split_across_reads() -> None:
    r = Receiver(max_line=30)
    data = b"t1 LOGIN " + b"x" * 60 + b" {12+}\r\nt9 NOOP\r\nxx\r\nt2 NOOP\r\n"
    out = []
    for chunk in (data[:62], data[62:66], data[66:69], data[69:]):
        r.feed(chunk)
        out.extend(drain(r))
    assert [type(e).__name__ for e in out] == ["ProtocolError", "Command"]
    assert isinstance(out[1], Command) and out[1].tag == "t2"


def test_long_first_line_with_a_huge_tag_has_no_tag() -> None:
    out = events(b"T" * 400 + b" NOOP\r\nb NOOP\r\n", Receiver(max_line=100))
    assert isinstance(out[0], ProtocolError) and out[0].tag is None
    assert isinstance(out[1], Command)


def test_utf8_flag_is_used_for_mailbox_names() -> None:
    r = Receiver()
    r.utf8 = True
    out = events(b"a SELECT &AO4-\r\n", r)
    assert isinstance(out[0], Command) and out[0].args.mailbox == "&AO4-"  # type: ignore[union-attr]
