"""parse_command: every verb, every tolerance, every refusal with its reply code."""

from __future__ import annotations

import pytest

from postbus.smtp.proto import (
    Auth,
    Bdat,
    Data,
    Ehlo,
    Expn,
    Helo,
    Help,
    Mail,
    MailParams,
    Noop,
    Orcpt,
    Quit,
    Rcpt,
    RcptParams,
    Rset,
    SmtpSyntaxError,
    StartTls,
    Vrfy,
    parse_command,
)


def refuse(line: bytes, **kwargs: bool) -> SmtpSyntaxError:
    with pytest.raises(SmtpSyntaxError) as info:
        parse_command(line, **kwargs)
    return info.value


def test_helo_and_ehlo() -> None:
    assert parse_command(b"EHLO mail.example.com") == Ehlo("mail.example.com", True)
    assert parse_command(b"helo [192.0.2.1]") == Helo("[192.0.2.1]", True)
    assert parse_command(b"EHLO DESKTOP_PC") == Ehlo("DESKTOP_PC", False)  # policy decides
    assert parse_command(b"EHLO mail.example.com.") == Ehlo("mail.example.com.", False)
    assert parse_command(b"EHLO x").verb == "EHLO"
    for line in (b"EHLO", b"EHLO ", b"HELO a b"):
        error = refuse(line)
        assert (error.code, error.enhanced) == (501, "5.5.4")


def test_mail_from() -> None:
    command = parse_command(b"MAIL FROM:<alice@example.com>")
    assert isinstance(command, Mail)
    assert command.path is not None and command.path.address == "alice@example.com"
    assert command.params == MailParams()


def test_mail_null_reverse_path() -> None:
    assert parse_command(b"MAIL FROM:<>") == Mail(None, MailParams())


def test_verbs_and_keywords_are_case_insensitive() -> None:
    command = parse_command(b"mail from:<a@b.example> size=10 body=8bitmime")
    assert isinstance(command, Mail)
    assert command.params == MailParams(size=10, body="8BITMIME")


def test_one_space_after_colon_is_tolerated() -> None:
    command = parse_command(b"MAIL FROM: <alice@example.com>")
    assert isinstance(command, Mail) and command.path is not None
    rcpt = parse_command(b"RCPT TO: <bob@example.com>")
    assert isinstance(rcpt, Rcpt) and rcpt.path.address == "bob@example.com"
    assert refuse(b"MAIL FROM:  <alice@example.com>").code == 501


def test_trailing_white_space_is_tolerated() -> None:
    command = parse_command(b"RCPT TO:<bob@example.com> \t ")
    assert isinstance(command, Rcpt)
    assert parse_command(b"QUIT  ") == Quit()


@pytest.mark.parametrize("line", [
    b"MAIL FROM:alice@example.com", b"MAIL FROM alice@example.com", b"MAIL alice@example.com",
    b"MAIL FROM:", b"MAIL", b"RCPT TO:bob@example.com", b"RCPT TO", b"RCPT FROM:<a@b.c>",
    b"MAIL FROM:<a@b.c>SIZE=10", b"MAIL TO:<a@b.c>",
])
def test_missing_angle_brackets_or_prefix_is_501(line: bytes) -> None:
    assert refuse(line).code == 501


def test_bad_addresses() -> None:
    error = refuse(b"MAIL FROM:<alice@@example.com>")
    assert (error.code, error.enhanced) == (501, "5.1.7")
    error = refuse(b"RCPT TO:<bob@exa mple.com>")
    assert (error.code, error.enhanced) == (501, "5.1.3")
    assert refuse(b"RCPT TO:<>").code == 501


def test_too_long_addresses() -> None:
    error = refuse(b"RCPT TO:<" + b"a" * 65 + b"@example.com>")
    assert (error.code, error.enhanced) == (553, "5.1.3")
    error = refuse(b"MAIL FROM:<" + b"a" * 65 + b"@example.com>")
    assert (error.code, error.enhanced) == (553, "5.1.7")
    domain = b".".join([b"d" * 63] * 4)
    error = refuse(b"RCPT TO:<a@" + domain + b">")
    assert error.code == 501 and "too long" in error.text


def test_quoted_and_source_routed_paths_are_reported() -> None:
    command = parse_command(b'RCPT TO:<"john doe"@example.com>')
    assert isinstance(command, Rcpt) and command.path.quoted
    command = parse_command(b"RCPT TO:<@relay.example:bob@example.com>")
    assert isinstance(command, Rcpt) and command.path.source_route == ("relay.example",)


def test_postmaster_recipient() -> None:
    command = parse_command(b"RCPT TO:<Postmaster>")
    assert isinstance(command, Rcpt) and command.path.is_postmaster
    assert refuse(b"MAIL FROM:<Postmaster>").code == 501


def test_utf8_addresses_only_with_smtputf8() -> None:
    line = "MAIL FROM:<jöran@bücher.example>".encode()
    error = refuse(line)
    assert (error.code, error.enhanced) == (553, "5.6.7")
    command = parse_command(line + b" SMTPUTF8")
    assert isinstance(command, Mail) and command.params.smtputf8
    assert command.path is not None and command.path.domain == "bücher.example"
    rcpt = "RCPT TO:<märta@example.com>".encode()
    assert refuse(rcpt).code == 553
    command = parse_command(rcpt, smtputf8=True)
    assert isinstance(command, Rcpt) and command.path.local == "märta"


def test_mail_parameters() -> None:
    command = parse_command(
        b"MAIL FROM:<a@b.example> SIZE=12582912 BODY=BINARYMIME SMTPUTF8 RET=HDRS"
        b" ENVID=QQ314159+2Bx AUTH=<>"
    )
    assert isinstance(command, Mail)
    assert command.params == MailParams(
        size=12582912, body="BINARYMIME", smtputf8=True, ret="HDRS", envid="QQ314159+x",
        auth="<>",
    )
    auth = parse_command(b"MAIL FROM:<a@b.example> AUTH=e+3Dmc2@example.com")
    assert isinstance(auth, Mail) and auth.params.auth == "e=mc2@example.com"


def test_rcpt_parameters() -> None:
    command = parse_command(
        b"RCPT TO:<bob@example.com> NOTIFY=SUCCESS,failure ORCPT=rfc822;Bob+40example.com"
    )
    assert isinstance(command, Rcpt)
    assert command.params == RcptParams(
        notify=frozenset({"SUCCESS", "FAILURE"}), orcpt=Orcpt("rfc822", "Bob@example.com")
    )
    never = parse_command(b"RCPT TO:<bob@example.com> NOTIFY=NEVER")
    assert isinstance(never, Rcpt) and never.params.notify == frozenset({"NEVER"})


@pytest.mark.parametrize("line", [
    b"MAIL FROM:<a@b.example> FOO=1",
    b"MAIL FROM:<a@b.example> NOTIFY=NEVER",
    b"MAIL FROM:<a@b.example> X-THING",
    b"RCPT TO:<a@b.example> SIZE=10",
    b"RCPT TO:<a@b.example> RET=FULL",
])
def test_unknown_or_misplaced_parameters_are_555(line: bytes) -> None:
    error = refuse(line)
    assert (error.code, error.enhanced) == (555, "5.5.4")


@pytest.mark.parametrize("line", [
    b"MAIL FROM:<a@b.example> SIZE=", b"MAIL FROM:<a@b.example> SIZE=-1",
    b"MAIL FROM:<a@b.example> SIZE=1e3", b"MAIL FROM:<a@b.example> SIZE=" + b"9" * 21,
    b"MAIL FROM:<a@b.example> SIZE", b"MAIL FROM:<a@b.example> BODY=9BIT",
    b"MAIL FROM:<a@b.example> SMTPUTF8=yes", b"MAIL FROM:<a@b.example> RET=ALL",
    b"MAIL FROM:<a@b.example> ENVID=" + b"x" * 101, b"MAIL FROM:<a@b.example> ENVID=a+2",
    b"MAIL FROM:<a@b.example> ENVID=a+2b", b"MAIL FROM:<a@b.example> SIZE=1 SIZE=2",
    b"MAIL FROM:<a@b.example> =1", b"MAIL FROM:<a@b.example> -X=1",
    b"MAIL FROM:<a@b.example> SIZE=1=2", b"MAIL FROM:<a@b.example> ENVID=x+0D+0AEvil:1",
    b"MAIL FROM:<a@b.example> AUTH=a+00@b", b"RCPT TO:<a@b.example> ORCPT=rfc822;a+0A@b",
    b"RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS", b"RCPT TO:<a@b.example> NOTIFY=SOMETIMES",
    b"RCPT TO:<a@b.example> NOTIFY=", b"RCPT TO:<a@b.example> NOTIFY=DELAY,DELAY",
    b"RCPT TO:<a@b.example> ORCPT=rfc822", b"RCPT TO:<a@b.example> ORCPT=;a@b",
    b"RCPT TO:<a@b.example> ORCPT=rfc822;" + b"a" * 500,
])
def test_bad_parameter_values_are_501(line: bytes) -> None:
    error = refuse(line)
    assert (error.code, error.enhanced) == (501, "5.5.4")


def test_commands_without_arguments() -> None:
    assert parse_command(b"DATA") == Data()
    assert parse_command(b"RSET") == Rset()
    assert parse_command(b"QUIT") == Quit()
    assert parse_command(b"STARTTLS") == StartTls()
    for line in (b"DATA now", b"RSET x", b"QUIT please", b"STARTTLS x"):
        error = refuse(line)
        assert (error.code, error.enhanced) == (501, "5.5.4")


def test_commands_with_free_arguments() -> None:
    assert parse_command(b"NOOP") == Noop()
    assert parse_command(b"NOOP anything at all") == Noop()
    assert parse_command(b"HELP") == Help(None)
    assert parse_command(b"HELP MAIL") == Help("MAIL")
    assert parse_command(b"VRFY postmaster") == Vrfy("postmaster")
    assert parse_command(b"EXPN staff") == Expn("staff")
    assert refuse(b"VRFY").code == 501
    assert refuse(b"EXPN").code == 501


def test_bdat() -> None:
    assert parse_command(b"BDAT 1000") == Bdat(1000, False)
    assert parse_command(b"bdat 0 last") == Bdat(0, True)
    for line in (b"BDAT", b"BDAT x", b"BDAT -1", b"BDAT 10 FIRST", b"BDAT 1 LAST x",
                 b"BDAT " + b"1" * 21, "BDAT 1 laſt".encode()):
        assert refuse(line).code == 501


def test_auth() -> None:
    assert parse_command(b"AUTH plain") == Auth("PLAIN", None)
    assert parse_command(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==") == Auth("PLAIN", "AGFsaWNlAHNlY3JldA==")
    assert parse_command(b"AUTH PLAIN =") == Auth("PLAIN", "=")
    assert parse_command(b"AUTH X-OAUTH_2") == Auth("X-OAUTH_2", None)
    for line in (b"AUTH", b"AUTH PLAIN a b", b"AUTH " + b"M" * 21, b"AUTH PL@IN",
                 b"AUTH PLAIN abc!", "AUTH ſ".encode()):
        assert refuse(line).code == 501


def test_unknown_and_malformed_lines_are_500() -> None:
    for line in (b"", b" ", b"FOO", b"MAILFROM:<a@b.c>", b"\xff\xfe", b"DATA\x00",
                 b"NOOP\rRSET", b"\tQUIT", "ÉHLO x".encode(), b"QUIT\x7f"):
        error = refuse(line)
        assert (error.code, error.enhanced) == (500, "5.5.2"), line


def test_error_text_never_echoes_input() -> None:
    error = refuse(b"MAIL FROM:<evil\x00@x>")
    assert "evil" not in error.text
