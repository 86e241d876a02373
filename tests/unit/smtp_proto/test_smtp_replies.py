"""Reply rendering (RFC 5321 §4.2.1, RFC 2034) and the standard table."""

from __future__ import annotations

import pytest

from postbus.smtp.proto import replies
from postbus.smtp.proto.errors import SmtpSyntaxError
from postbus.smtp.proto.replies import Reply, ehlo_reply, greeting, helo_reply


def test_single_line() -> None:
    assert replies.OK.to_bytes() == b"250 2.0.0 OK\r\n"
    assert replies.OK.to_bytes(enhanced_codes=False) == b"250 OK\r\n"
    assert replies.START_MAIL_INPUT.to_bytes() == b"354 End data with <CR><LF>.<CR><LF>\r\n"


def test_multiline_has_enhanced_code_on_every_line() -> None:
    reply = Reply(550, "5.7.1", ["Message refused", "see the postmaster"])
    assert reply.to_bytes() == b"550-5.7.1 Message refused\r\n550 5.7.1 see the postmaster\r\n"
    assert reply.to_bytes(enhanced_codes=False) == (
        b"550-Message refused\r\n550 see the postmaster\r\n"
    )


def test_empty_texts() -> None:
    assert Reply(250, None, "").to_bytes() == b"250\r\n"
    assert Reply(250, "2.0.0", "").to_bytes() == b"250 2.0.0\r\n"
    assert Reply(250, None, ["a", ""]).to_bytes() == b"250-a\r\n250\r\n"
    assert Reply(250, None, []).to_bytes() == b"250\r\n"


def test_ehlo_and_greeting() -> None:
    reply = ehlo_reply("mx.example.org", ["PIPELINING", "SIZE 12582912", "8BITMIME"], "hello")
    assert reply.to_bytes() == (
        b"250-mx.example.org hello\r\n250-PIPELINING\r\n250-SIZE 12582912\r\n250 8BITMIME\r\n"
    )
    assert ehlo_reply("mx.example.org", []).to_bytes() == b"250 mx.example.org\r\n"
    assert greeting("mx.example.org").to_bytes() == b"220 mx.example.org ESMTP Postbus\r\n"
    assert helo_reply("mx.example.org").to_bytes() == b"250 mx.example.org\r\n"


def test_with_text_and_from_error() -> None:
    assert replies.MESSAGE_ACCEPTED.with_text("Queued as 42").to_bytes() == (
        b"250 2.0.0 Queued as 42\r\n"
    )
    error = SmtpSyntaxError(501, "5.5.4", "Syntax: DATA")
    assert Reply.from_error(error).to_bytes() == b"501 5.5.4 Syntax: DATA\r\n"


@pytest.mark.parametrize("code,enhanced,text", [
    (250, "2.0.0", "a\r\nRCPT TO:<x@y>"), (250, None, ["ok", "b\n"]), (199, None, "x"),
    (600, None, "x"), (250, "5.0.0", "x"), (550, "5.0", "x"), (250, None, "x" * 510),
    (354, "3.0.0", "x"),
])
def test_invalid_replies_are_programming_errors(code: int, enhanced: str | None,
                                                text: str | list[str]) -> None:
    with pytest.raises(ValueError):
        Reply(code, enhanced, text)


def test_standard_table_renders() -> None:
    table = [v for v in vars(replies).values() if isinstance(v, Reply)]
    assert len(table) > 30
    for reply in table:
        data = reply.to_bytes()
        assert data.endswith(b"\r\n") and data[:3] == str(reply.code).encode()
    assert replies.BAD_SEQUENCE.to_bytes() == b"503 5.5.1 Bad sequence of commands\r\n"
    assert replies.MESSAGE_TOO_BIG.code == 552 and replies.MESSAGE_TOO_BIG.enhanced == "5.3.4"
    assert replies.BARE_NEWLINE_IN_DATA.code == 550
