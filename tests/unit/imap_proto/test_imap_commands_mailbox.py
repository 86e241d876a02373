"""Mailbox commands: SELECT/EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, LIST,
LSUB, STATUS, APPEND, QUOTA."""

import datetime as dt

import pytest

from postbus.imap.proto import (
    NO_MATCH,
    AppendArgs,
    CreateArgs,
    ListArgs,
    MailboxArgs,
    QResync,
    QuotaRootArgs,
    RenameArgs,
    SelectArgs,
    SequenceSet,
    SetQuotaArgs,
    StatusArgs,
)

from .helpers import command, error


@pytest.mark.parametrize("name", ["SELECT", "EXAMINE"])
def test_select_plain(name: str) -> None:
    cmd = command(b"a " + name.encode() + b" inbox")
    assert cmd.name == name and cmd.args == SelectArgs("INBOX")


def test_select_condstore_and_qresync() -> None:
    assert command(b"a SELECT INBOX (CONDSTORE)").args == SelectArgs("INBOX", condstore=True)
    cmd = command(b"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))")
    assert cmd.args == SelectArgs(
        "INBOX", qresync=QResync(67890007, 20050715194045000,
                                 SequenceSet(((41, 41), (43, 211), (214, 541)))),
    )
    cmd = command(b"a EXAMINE Sent (QRESYNC (1 2 1:9 (1:3 4,6,8)) CONDSTORE)")
    assert cmd.args == SelectArgs(
        "Sent", True,
        QResync(1, 2, SequenceSet(((1, 9),)),
                (SequenceSet(((1, 3),)), SequenceSet(((4, 4), (6, 6), (8, 8))))),
    )
    assert command(b"a SELECT x (QRESYNC (1 2 (1 2)))").args == SelectArgs(
        "x", qresync=QResync(1, 2, None, (SequenceSet(((1, 1),)), SequenceSet(((2, 2),))))
    )


@pytest.mark.parametrize(
    "line",
    [b"a SELECT", b"a SELECT x (FOO)", b"a SELECT x (QRESYNC (0 1))", b"a SELECT x (QRESYNC)",
     b"a SELECT x ()", b"a SELECT x (CONDSTORE", b"a SELECT x (QRESYNC (1 2 ))"],
)
def test_select_errors(line: bytes) -> None:
    assert error(line).status == "BAD"


def test_mailbox_names_mutf7_and_utf8() -> None:
    assert command(b'a SELECT "Bo&AO4-te d\'envoi"').args == SelectArgs("Boîte d'envoi")
    assert command(b"a DELETE Entw&APw-rfe&-Co").args == MailboxArgs("Entwürfe&Co")
    # UTF8=ACCEPT: names are UTF-8 and "&" is an ordinary character
    assert command(b'a DELETE "Entw\xc3\xbcrfe&Co"', utf8=True).args == MailboxArgs("Entwürfe&Co")
    # a raw UTF-8 name from a client without UTF8=ACCEPT is still understood
    assert command(b'a DELETE "Entw\xc3\xbcrfe"').args == MailboxArgs("Entwürfe")
    # RFC 3501 §7.1.3: a name that is not modified UTF-7 is no syntax error: NO, not BAD
    assert error(b"a DELETE &AO4").message.startswith("Invalid mailbox name")
    assert error(b"a DELETE &AO4").status == "NO"
    assert error(b"a DELETE &AGE-").status == "NO"  # "a" must not be base64-encoded
    assert error(b"a SELECT &AGE-").code == "CANNOT"
    # ... and a LIST pattern like it matches nothing
    assert command(b'a LIST "" &AGE-*').args == ListArgs("", (NO_MATCH,))
    assert command(b'a LSUB &AO4 *').args == ListArgs(NO_MATCH, ("*",))


def test_inbox_is_case_insensitive_only_as_a_whole() -> None:
    assert command(b"a SUBSCRIBE iNbOx").args == MailboxArgs("INBOX")
    assert command(b"a UNSUBSCRIBE inbox/sub").args == MailboxArgs("inbox/sub")
    assert command(b"a DELETE {5}\r\ninbox").args == MailboxArgs("INBOX")


def test_create_with_special_use() -> None:
    assert command(b"a CREATE Drafts").args == CreateArgs("Drafts")
    cmd = command(b"a CREATE MyDrafts (USE (\\drafts \\Sent))")
    assert cmd.args == CreateArgs("MyDrafts", ("\\Drafts", "\\Sent"))
    assert error(b"a CREATE x (FOO (\\Drafts))").status == "BAD"
    assert error(b"a CREATE x (USE (\\Drafts) USE (\\Sent))").status == "BAD"


def test_rename() -> None:
    assert command(b'a RENAME "Old box" new').args == RenameArgs("Old box", "new")
    assert error(b"a RENAME only").status == "BAD"


def test_list_basic() -> None:
    assert command(b'a LIST "" *').args == ListArgs("", ("*",))
    assert command(b"a LIST ~/Mail/ %").args == ListArgs("~/Mail/", ("%",))
    assert command(b'a LIST "" "INBOX.*"').args == ListArgs("", ("INBOX.*",))
    assert command(b"a LIST foo ]bar*").args == ListArgs("foo", ("]bar*",))
    assert command(b'a LIST "" ""').args == ListArgs("", ("",))


def test_list_extended_and_status() -> None:
    cmd = command(
        b'a LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE CHILDREN STATUS (MESSAGES UNSEEN))'
    )
    assert cmd.args == ListArgs(
        "", ("*",), frozenset({"SUBSCRIBED"}),
        frozenset({"SPECIAL-USE", "CHILDREN", "STATUS"}), ("MESSAGES", "UNSEEN"), True,
    )
    cmd = command(b'a LIST (SPECIAL-USE RECURSIVEMATCH) "" (INBOX "Sent*") RETURN ()')
    assert cmd.args == ListArgs(
        "", ("INBOX", "Sent*"), frozenset({"SPECIAL-USE", "RECURSIVEMATCH"}), extended=True
    )
    assert command(b'a LIST () "" %').args == ListArgs("", ("%",), extended=True)


@pytest.mark.parametrize(
    "line",
    [b'a LIST (RECURSIVEMATCH) "" *', b'a LIST (BOGUS) "" *', b'a LIST "" * RETURN (BOGUS)',
     b'a LIST "" * RETURNS ()', b'a LIST "" ()', b"a LIST x", b'a LIST "" * RETURN (STATUS (FOO))'],
)
def test_list_errors(line: bytes) -> None:
    assert error(line).status == "BAD"


def test_lsub() -> None:
    assert command(b'a LSUB "" "%"').args == ListArgs("", ("%",))


def test_status_items() -> None:
    cmd = command(
        b"a STATUS inbox (messages RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE "
        b"HIGHESTMODSEQ APPENDLIMIT DELETED-STORAGE)"
    )
    assert cmd.args == StatusArgs("INBOX", (
        "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE",
        "HIGHESTMODSEQ", "APPENDLIMIT", "DELETED-STORAGE",
    ))
    assert error(b"a STATUS inbox (FOO)").message == "Unknown STATUS item FOO"
    assert error(b"a STATUS inbox ()").status == "BAD"


def test_append_with_flags_and_date() -> None:
    cmd = command(b'a APPEND Sent (\\seen $Label1) "17-Jul-1996 02:44:25 -0700" {5+}\r\nhello')
    assert isinstance(cmd.args, AppendArgs) and cmd.args.mailbox == "Sent"
    (msg,) = cmd.args.messages
    assert msg.flags == ("\\Seen", "$Label1")
    tz = dt.timezone(dt.timedelta(hours=-7))
    assert msg.internal_date == dt.datetime(1996, 7, 17, 2, 44, 25, tzinfo=tz)
    assert bytes(msg.data) == b"hello" and not msg.binary


def test_append_date_with_space_padded_day() -> None:
    cmd = command(b'a APPEND x " 7-Feb-2024 23:59:59 +0530" {1+}\r\nm')
    assert isinstance(cmd.args, AppendArgs)
    assert cmd.args.messages[0].internal_date == dt.datetime(
        2024, 2, 7, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))
    )


def test_multiappend() -> None:
    cmd = command(b"a APPEND x {1+}\r\nA (\\Draft) {2+}\r\nBB ~{1+}\r\nC UTF8 (~{1+}\r\nD)")
    assert isinstance(cmd.args, AppendArgs)
    msgs = cmd.args.messages
    assert [bytes(m.data) for m in msgs] == [b"A", b"BB", b"C", b"D"]
    assert [m.flags for m in msgs] == [(), ("\\Draft",), (), ()]
    assert [(m.binary, m.utf8) for m in msgs] == [
        (False, False), (False, False), (True, False), (True, True)
    ]


@pytest.mark.parametrize(
    "line",
    [b"a APPEND x", b'a APPEND x "hello"', b'a APPEND x "32-Jul-1996 02:44:25 -0700" {1+}\r\nm',
     b'a APPEND x "17-Foo-1996 02:44:25 -0700" {1+}\r\nm', b"a APPEND x (\\Seen {1+}\r\nm",
     b"a APPEND x {1+}\r\nm junk", b"a APPEND x UTF8 ({1+}\r\nm"],
)
def test_append_errors(line: bytes) -> None:
    assert error(line).status == "BAD"


def test_quota_commands() -> None:
    assert command(b'a GETQUOTA ""').args == QuotaRootArgs("")
    assert command(b"a GETQUOTAROOT inbox").args == MailboxArgs("INBOX")
    cmd = command(b'a SETQUOTA "" (storage 512 MESSAGE 1000)')
    assert cmd.args == SetQuotaArgs("", (("STORAGE", 512), ("MESSAGE", 1000)))
    assert command(b'a SETQUOTA "" ()').args == SetQuotaArgs("", ())
    assert error(b'a SETQUOTA "" (STORAGE)').status == "BAD"
