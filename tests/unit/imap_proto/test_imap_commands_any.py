"""Any-state and not-authenticated commands (RFC 9051 §6.1, §6.2) and dispatch."""

import pytest

from postbus.imap.proto import (
    NO_ARGS,
    AuthenticateArgs,
    CompressArgs,
    EnableArgs,
    IdArgs,
    LoginArgs,
)

from .helpers import command, error


@pytest.mark.parametrize(
    "name",
    ["CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE",
     "IDLE", "NAMESPACE"],
)
def test_commands_without_arguments(name: str) -> None:
    cmd = command(b"A1 " + name.lower().encode())
    assert (cmd.tag, cmd.name, cmd.uid, cmd.args) == ("A1", name, False, NO_ARGS)
    assert error(b"A1 " + name.encode() + b" extra").message == "Unexpected extra arguments"


def test_tag_may_hold_astring_chars() -> None:
    assert command(b"a.b]c-1 NOOP").tag == "a.b]c-1"


@pytest.mark.parametrize(
    ("line", "tag", "message"),
    [
        (b"NOOP", "NOOP", "Missing arguments"),
        (b"+a NOOP", None, "Missing or invalid tag"),
        (b"* NOOP", None, "Missing or invalid tag"),
        (b"a", "a", "Missing arguments"),
        (b"a  NOOP", "a", "Missing or invalid command"),
        (b"a XYZZY", "a", "Unknown command XYZZY"),
        (b"a UID NOOP", "a", "UID must be followed by FETCH, STORE, COPY, MOVE, SEARCH, "
                             "SORT, THREAD or EXPUNGE"),
    ],
)
def test_dispatch_errors(line: bytes, tag: str | None, message: str) -> None:
    err = error(line)
    assert (err.tag, err.message, err.status) == (tag, message, "BAD")


def test_login_atoms_quoted_and_literals() -> None:
    assert command(b"a LOGIN alice s3cret").args == LoginArgs("alice", "s3cret")
    assert command(b'a LOGIN "al ice" "p\\"w\\\\"').args == LoginArgs("al ice", 'p"w\\')
    assert command(b"a LOGIN {5}\r\nalice {2}\r\npw").args == LoginArgs("alice", "pw")
    assert command(b'a LOGIN "j\xc3\xb6rg" pw').args == LoginArgs("jörg", "pw")


@pytest.mark.parametrize(
    "line",
    [b"a LOGIN alice", b"a LOGIN", b'a LOGIN "unterminated pw', b'a LOGIN "a\\x" b',
     b"a LOGIN a (b)", b'a LOGIN "\xff" b'],
)
def test_login_errors(line: bytes) -> None:
    assert error(line).status == "BAD"


def test_login_literal_with_nul_is_bad() -> None:
    assert error(b"a LOGIN {3+}\r\na\x00b pw").status == "BAD"


def test_authenticate() -> None:
    assert command(b"a AUTHENTICATE plain").args == AuthenticateArgs("PLAIN")
    assert command(b"a AUTHENTICATE PLAIN AGEAYg==").args == AuthenticateArgs(
        "PLAIN", b"AGEAYg=="
    )
    # RFC 4959 §3: "=" is an empty initial response
    assert command(b"a AUTHENTICATE EXTERNAL =").args == AuthenticateArgs("EXTERNAL", b"")
    assert error(b"a AUTHENTICATE PLAIN !!").status == "BAD"
    assert error(b"a AUTHENTICATE").status == "BAD"


def test_enable() -> None:
    cmd = command(b"a ENABLE condstore utf8=accept QRESYNC")
    assert cmd.args == EnableArgs(("CONDSTORE", "UTF8=ACCEPT", "QRESYNC"))
    assert error(b"a ENABLE").message == "ENABLE needs at least one capability"


def test_id() -> None:
    assert command(b"a ID NIL").args == IdArgs(None)
    cmd = command(b'a ID ("name" "Thunderbird" "version" NIL "x" {2}\r\nab)')
    assert cmd.args == IdArgs((("name", "Thunderbird"), ("version", None), ("x", "ab")))
    assert error(b"a ID ()").status == "BAD"
    assert error(b'a ID ("name")').status == "BAD"
    many = b" ".join(b'"k%d" "v"' % i for i in range(31))
    assert error(b"a ID (" + many + b")").message == "Too many ID parameters"


def test_compress() -> None:
    assert command(b"a COMPRESS deflate").args == CompressArgs("DEFLATE")
