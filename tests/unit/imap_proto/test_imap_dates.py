"""date and date-time syntax (RFC 9051 §9) and INTERNALDATE formatting."""

import datetime as dt

import pytest

from postbus.imap.proto import ImapBad
from postbus.imap.proto.dates import format_date_time, read_date, read_date_time
from postbus.imap.proto.lexer import Cursor


def cur(text: bytes) -> Cursor:
    return Cursor([text], [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [(b"1-Feb-1994", dt.date(1994, 2, 1)), (b'"01-feb-1994"', dt.date(1994, 2, 1)),
     (b"31-DEC-2023", dt.date(2023, 12, 31)), (b"29-Feb-2024", dt.date(2024, 2, 29))],
)
def test_read_date(text: bytes, expected: dt.date) -> None:
    c = cur(text)
    assert read_date(c) == expected and c.at_end()


@pytest.mark.parametrize(
    "text", [b"29-Feb-2023", b"1-Feb-94", b"001-Feb-1994", b'"1-Feb-1994', b"1 Feb 1994", b"x"]
)
def test_read_date_errors(text: bytes) -> None:
    c = cur(text)
    with pytest.raises(ImapBad):
        read_date(c)
        assert c.at_end()  # a partial match must leave junk for the caller


def test_read_date_time() -> None:
    value = read_date_time(cur(b'"17-Jul-1996 02:44:25 -0700"'))
    assert value == dt.datetime(1996, 7, 17, 9, 44, 25, tzinfo=dt.UTC)
    assert value.utcoffset() == dt.timedelta(hours=-7)


@pytest.mark.parametrize(
    "text",
    [b'"17-Jul-1996 02:44:25"', b'"17-Jul-1996 24:00:00 +0000"', b"17-Jul-1996 02:44:25 +0000",
     b'"17-Jul-1996 02:44:25 +2400"', b'"17-Jux-1996 02:44:25 +0000"'],
)
def test_read_date_time_errors(text: bytes) -> None:
    with pytest.raises(ImapBad):
        read_date_time(cur(text))


def test_format_date_time() -> None:
    tz = dt.timezone(-dt.timedelta(hours=7))
    assert format_date_time(dt.datetime(1996, 7, 17, 2, 44, 25, tzinfo=tz)) == (
        b'"17-Jul-1996 02:44:25 -0700"'
    )
    assert format_date_time(dt.datetime(2024, 1, 5, 0, 0, 1)) == b'"05-Jan-2024 00:00:01 +0000"'
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert format_date_time(dt.datetime(2024, 1, 5, tzinfo=ist)).endswith(b' +0530"')
