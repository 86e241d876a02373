"""IMAP dates: ``date`` for SEARCH and ``date-time`` for APPEND/INTERNALDATE.

RFC 9051 §9: ``date = date-text / DQUOTE date-text DQUOTE`` with
``date-text = date-day "-" date-month "-" date-year`` and
``date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE``.
Month names are case-insensitive on input and written in their canonical case.
"""

import datetime as dt
import re

from .errors import ImapBad
from .lexer import Cursor

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {m.upper().encode(): i for i, m in enumerate(MONTHS, 1)}

_DATE = re.compile(rb'("?)([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})\1')
_DATE_TIME = re.compile(
    rb'" ?([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4}) '
    rb'([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"'
)


def _month(name: bytes) -> int:
    month = _MONTH_NUMBER.get(name.upper())
    if month is None:
        raise ImapBad("Invalid month name")
    return month


def read_date(cur: Cursor) -> dt.date:
    """Consume a SEARCH ``date`` such as ``1-Feb-1994`` or ``"01-Feb-1994"``."""
    m = _DATE.match(cur.buf, cur.pos)
    if m is None:
        raise ImapBad("Expected a date (d-Mon-yyyy)")
    cur.pos = m.end()
    try:
        return dt.date(int(m.group(4)), _month(m.group(3)), int(m.group(2)))
    except ValueError:
        raise ImapBad("Invalid date") from None


def read_date_time(cur: Cursor) -> dt.datetime:
    """Consume an APPEND ``date-time`` such as ``"17-Jul-1996 02:44:25 -0700"``."""
    m = _DATE_TIME.match(cur.buf, cur.pos)
    if m is None:
        raise ImapBad("Expected a date-time (\"dd-Mon-yyyy hh:mm:ss +zzzz\")")
    cur.pos = m.end()
    day, month, year, hh, mm, ss, sign, zh, zm = m.groups()
    offset = dt.timedelta(hours=int(zh), minutes=int(zm))
    try:
        return dt.datetime(
            int(year), _month(month), int(day), int(hh), int(mm), int(ss),
            tzinfo=dt.timezone(-offset if sign == b"-" else offset),
        )
    except ValueError:
        raise ImapBad("Invalid date-time") from None


def format_date_time(value: dt.datetime) -> bytes:
    """``date-time`` for INTERNALDATE, quotes included (RFC 9051 §9).

    A naive datetime is taken as UTC.
    """
    offset = value.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (
        f'"{value.day:02d}-{MONTHS[value.month - 1]}-{value.year:04d} '
        f'{value.hour:02d}:{value.minute:02d}:{value.second:02d} '
        f'{sign}{minutes // 60:02d}{minutes % 60:02d}"'
    ).encode("ascii")
