"""RFC 5322 §3.3 dates to epoch seconds, tolerant of the usual damage.

The common form (`Tue, 1 Jul 2003 10:52:37 +0200`) is matched by one regular
expression; anything else goes to `email.utils.parsedate_tz`, which knows the
obsolete forms (two-digit years, named zones). None when no date is found
or it is out of range: RFC 5256 §3 then sorts by INTERNALDATE.
"""

from __future__ import annotations

import calendar
import re
from email.utils import parsedate_tz

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_COMMON = re.compile(
    r"\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-])(\d{2})(\d{2})(?:\s|\(|$)"
)
#: Years outside this range are not a date anyone sent mail on.
_MIN_YEAR, _MAX_YEAR = 1900, 9999


def parse_date(value: str) -> float | None:
    """Seconds since the epoch (UTC) for an RFC 5322 date-time, or None."""
    match = _COMMON.match(value)
    if match is not None:
        day, month_name, year, hour, minute, second, sign, zh, zm = match.groups()
        month = _MONTHS.get(month_name.lower())
        if month is not None:
            return _epoch(int(year), month, int(day), int(hour), int(minute),
                          int(second or 0), (int(zh) * 3600 + int(zm) * 60) * (-1 if sign == "-" else 1))
    try:
        parsed = parsedate_tz(value)
    except Exception:  # parsedate_tz has raised IndexError/ValueError on odd input
        return None
    if parsed is None:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    return _epoch(year, month, day, hour, minute, second, parsed[9] or 0)


def _epoch(year: int, month: int, day: int, hour: int, minute: int, second: int,
           offset: int) -> float | None:
    if not (_MIN_YEAR <= year <= _MAX_YEAR and 1 <= month <= 12 and 1 <= day <= 31
            and hour <= 23 and minute <= 59 and second <= 60):
        return None
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset)
