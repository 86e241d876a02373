"""Fuzz the sans-IO SMTP core: arbitrary input yields only documented events and errors."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbus.sasl import SaslError, start_exchange
from postbus.smtp.proto import (
    AUTH_LINE_LIMIT,
    NEED_DATA,
    AddressError,
    Bdat,
    BdatEnd,
    Command,
    CommandLine,
    Data,
    DataChunk,
    DataEnd,
    LineTooLong,
    Receiver,
    SmtpSyntaxError,
    XtextError,
    decode_xtext,
    parse_command,
    parse_path,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes biased towards the ones the grammar cares about.
_TOKENS = st.sampled_from([
    b"MAIL FROM:", b"RCPT TO:", b"DATA", b"BDAT ", b"AUTH ", b"EHLO ", b"<", b">", b"@", b"\"",
    b"\\", b"[", b"]", b"IPv6:", b" ", b"=", b"+", b"SIZE=", b"NOTIFY=", b"ORCPT=", b"SMTPUTF8",
    b"\r\n", b"\r", b"\n", b".", b"\r\n.\r\n", b"LAST", b"0", b"7", b"a", b"\xc3\xa9", b"\xff",
    b"\x00", b"Postmaster", b",", b":",
])
_INPUT = st.one_of(st.binary(max_size=300), st.lists(_TOKENS, max_size=60).map(b"".join))


@FUZZ
@given(line=_INPUT, smtputf8=st.booleans())
def test_parse_command_raises_only_syntax_errors(line: bytes, smtputf8: bool) -> None:
    line = line.replace(b"\r\n", b"")
    try:
        command = parse_command(line, smtputf8=smtputf8)
    except SmtpSyntaxError as error:
        assert error.code in (500, 501, 553, 555)
        assert "\r" not in error.text and "\n" not in error.text
    else:
        assert isinstance(command, Command) and command.verb


@FUZZ
@given(text=st.text(max_size=120), utf8=st.booleans())
def test_parse_path_raises_only_address_errors(text: str, utf8: bool) -> None:
    try:
        parse_path("<" + text + ">", utf8=utf8, allow_null=True, allow_postmaster=True)
    except AddressError as error:
        assert error.kind in ("syntax", "path_too_long", "too_long", "utf8")


@FUZZ
@given(text=st.text(max_size=60))
def test_xtext_raises_only_xtext_errors(text: str) -> None:
    try:
        decode_xtext(text)
    except XtextError:
        pass


@FUZZ
@given(mechanism=st.sampled_from(["PLAIN", "LOGIN"]), initial=st.none() | st.text(max_size=40),
       steps=st.lists(st.binary(max_size=40), max_size=3))
def test_sasl_raises_only_sasl_errors(mechanism: str, initial: str | None,
                                      steps: list[bytes]) -> None:
    exchange = start_exchange(mechanism)
    try:
        exchange.start(initial)
        for step in steps:
            exchange.step(step)
    except SaslError:
        pass
    except RuntimeError as error:  # stepping a finished exchange is a session bug
        assert "complete" in str(error)


@FUZZ
@given(data=_INPUT, cuts=st.lists(st.integers(0, 300), max_size=10),
       max_size=st.integers(0, 100), normalize=st.booleans())
def test_receiver_driven_like_a_session(data: bytes, cuts: list[int], max_size: int,
                                        normalize: bool) -> None:
    receiver = Receiver(bare_newline="normalize" if normalize else "reject")
    bounds = [0, *sorted(c for c in cuts if c < len(data)), len(data)]
    content = 0
    for a, b in itertools.pairwise(bounds):
        receiver.feed(data[a:b])
        while (event := receiver.next_event()) is not NEED_DATA:
            if isinstance(event, CommandLine):
                assert b"\n" not in event.line
                try:
                    command = parse_command(event.line)
                except SmtpSyntaxError:
                    continue
                if isinstance(command, Data):
                    receiver.start_data(max_size)
                    content = 0
                elif isinstance(command, Bdat) and command.size <= 1000:
                    receiver.start_bdat(command.size, last=command.last)
            elif isinstance(event, DataChunk):
                assert event.data
                content += len(event.data)
            elif isinstance(event, DataEnd):
                assert content <= max_size or not event.too_big
                assert content == event.size or event.too_big
            else:
                assert isinstance(event, (LineTooLong, BdatEnd))
        if receiver.mode == "data":
            assert receiver.buffered <= 2
        elif receiver.mode == "command":
            assert receiver.buffered < AUTH_LINE_LIMIT
