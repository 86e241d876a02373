"""POP3 command grammar (RFC 1939, 2449, 2595, 5034, 6856)."""

from __future__ import annotations

import pytest

from postbus.pop3.proto import MAX_NUMBER, Pop3Command, Pop3Error, parse_command


def refuse(line: bytes) -> Pop3Error:
    with pytest.raises(Pop3Error) as info:
        parse_command(line)
    return info.value


@pytest.mark.parametrize("keyword", ["STAT", "NOOP", "RSET", "QUIT", "CAPA", "STLS", "UTF8"])
def test_commands_without_arguments(keyword: str) -> None:
    assert parse_command(keyword.encode()) == Pop3Command(keyword)
    assert parse_command(keyword.lower().encode()) == Pop3Command(keyword)
    assert parse_command(keyword.encode() + b" ") == Pop3Command(keyword)
    refuse(keyword.encode() + b" 1")


def test_user_and_pass() -> None:
    assert parse_command(b"USER alice@example.com") == Pop3Command("USER", name="alice@example.com")
    assert parse_command("user jöran@example.com".encode()).name == "jöran@example.com"
    command = parse_command(b"PASS  two  spaces and trailing ")
    assert command.password == " two  spaces and trailing "
    assert "two" not in repr(command)
    assert parse_command(b"PASS tab\there").password == "tab\there"
    for line in (b"USER", b"USER a b", b"PASS", b"PASS ", b"PASS a\x00b"):
        refuse(line)


@pytest.mark.parametrize("keyword", ["LIST", "UIDL"])
def test_optional_message_number(keyword: str) -> None:
    assert parse_command(keyword.encode()) == Pop3Command(keyword)
    assert parse_command(f"{keyword} 7".encode()) == Pop3Command(keyword, number=7)
    assert parse_command(f"{keyword}  7 ".encode()) == Pop3Command(keyword, number=7)
    for arg in ("0", "-1", "+1", "1.0", "x", "1 2", str(MAX_NUMBER + 1), "1" * 11, "٣"):
        refuse(f"{keyword} {arg}".encode())


@pytest.mark.parametrize("keyword", ["RETR", "DELE"])
def test_one_message_number(keyword: str) -> None:
    assert parse_command(f"{keyword} {MAX_NUMBER}".encode()) == Pop3Command(keyword, number=MAX_NUMBER)
    for line in (keyword, f"{keyword} 0", f"{keyword} 1 2", f"{keyword} a"):
        refuse(line.encode())


def test_top() -> None:
    assert parse_command(b"TOP 3 0") == Pop3Command("TOP", number=3, lines=0)
    assert parse_command(b"top 3 10") == Pop3Command("TOP", number=3, lines=10)
    for line in (b"TOP", b"TOP 1", b"TOP 0 1", b"TOP 1 -1", b"TOP 1 2 3", b"TOP 1 x"):
        refuse(line)


def test_apop_is_parsed() -> None:
    command = parse_command(b"APOP mrose C4C9334BAC560ECC979E58001B3E22FB")
    assert command == Pop3Command("APOP", name="mrose", digest="c4c9334bac560ecc979e58001b3e22fb")
    for line in (b"APOP mrose", b"APOP mrose xyz", b"APOP mrose " + b"g" * 32):
        refuse(line)


def test_auth() -> None:
    assert parse_command(b"AUTH") == Pop3Command("AUTH")
    assert parse_command(b"AUTH plain") == Pop3Command("AUTH", mechanism="PLAIN")
    command = parse_command(b"AUTH PLAIN AGJvYgBwdw==")
    assert command.mechanism == "PLAIN" and command.initial_response == "AGJvYgBwdw=="
    assert "AGJvYgBwdw" not in repr(command)
    assert parse_command(b"AUTH PLAIN =").initial_response == "="
    for line in (b"AUTH PLAIN a b", b"AUTH PL@IN", b"AUTH PLAIN abc!", b"AUTH " + b"X" * 21):
        refuse(line)


def test_unknown_and_malformed() -> None:
    for line in (b"", b"XTND", b"RETRIEVE 1", b"\xff", b" STAT", "ŞTAT".encode(),
                 b"STAT\r", b"LIST \x001", "LIST ١".encode()):
        error = refuse(line)
        assert error.text and "\r" not in error.text
