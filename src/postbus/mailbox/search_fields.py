"""What a search compares: the decoded, case-folded text and dates of a message.

RFC 9051 §6.4.4 (IMAP SEARCH; the webmail follows it too): string criteria
are case-insensitive substring matches. Both sides are compared after
`str.casefold()` (full Unicode case folding, so "ÉTÉ" finds "été"), on decoded
text: encoded words (RFC 2047) in headers, transfer encodings and charsets in
bodies (`postbus.message.text`, the same text the full-text index holds).

* Subject: the decoded Subject of the ENVELOPE.
* From, To, Cc, Bcc: the ENVELOPE's addresses written back as
  ``Decoded Name <mailbox@host>`` (group names as ``name:``), so a key matches
  display names and addresses alike without reading the message.
* Header: the decoded values of every field of that name in the top-level header.
* Body / Text: the decoded body text (TEXT adds the header text); white space
  runs count as one space on both sides, as the index stores them.
* Dates (RFC 9051 §6.4.4 "disregarding time and timezone"): BEFORE/ON/SINCE
  on the arrival take INTERNALDATE's date in UTC, the server's time zone
  (compared as seconds against the day's 00:00 UTC bounds, `day_matches`); on
  the sent date they take the date as written in the Date header (its own
  zone), falling back to the UTC date of the parsed Date when it is written
  oddly; no usable Date matches no sent-date criterion.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from email.utils import parsedate_tz

from postbus.message import MessageMeta, decode_header_value
from postbus.message.addresses import Address
from postbus.message.headers import parse_fields
from postbus.message.text import address_text as _envelope_addresses
from postbus.message.text import search_text

# Runs that lie inside one token of a raw header field, however it is spelt.
_WORD = re.compile(r"\w+")

#: The full-text index narrows only for probes at least this long (trigrams).
MIN_INDEX_PROBE = 3


def fold(text: str) -> str:
    """Case-folded text for case-insensitive comparison."""
    return text.casefold()


_SPACE_RUN = re.compile(r"\s+")


def collapse(text: str) -> str:
    """`text` with each white space run as one space (as the index stores body text)."""
    return _SPACE_RUN.sub(" ", text)


def subject_text(meta: MessageMeta) -> str:
    subject = meta.envelope.subject
    return fold(decode_header_value(subject)) if subject else ""


def address_text(addresses: Sequence[Address]) -> str:
    """``Name <mailbox@host>, ...`` of an ENVELOPE address list, decoded and folded."""
    return fold(_envelope_addresses(addresses))


_ADDRESS_FIELDS = {"from": "from_", "to": "to", "cc": "cc", "bcc": "bcc"}


def envelope_text(meta: MessageMeta, field: str) -> str:
    """The folded text an address criterion on `field` ("from", "to", "cc" or "bcc")
    matches against."""
    return address_text(getattr(meta.envelope, _ADDRESS_FIELDS[field]))


def word_probe(value: str) -> str | None:
    """The longest run of word characters of `value`, for the index, or None when
    shorter than `MIN_INDEX_PROBE`.

    A criterion on From, To, Cc or Bcc matches the ENVELOPE, which may differ
    from the raw header between words: comments, quoting, folding and
    CFWS around "@" and "." (``<user-from (c)@ (c) domain.org>``). A run of word
    characters of the key lies inside one token of the raw header, so the index
    (which also holds the envelope's addresses, `message.text.envelope_text`)
    finds it wherever the exact check would match (RFC 3501 §6.4.4).
    """
    best = max(_WORD.findall(value), key=len, default="")
    return best if len(best) >= MIN_INDEX_PROBE else None


def header_values(block: bytes, name: str) -> list[str]:
    """Decoded, folded values of every field `name` in the header block."""
    wanted = name.lower()
    return [fold(decode_header_value(value)) for fname, value in parse_fields(block, 0, len(block))
            if fname.lower() == wanted]


def message_text(raw: bytes, meta: MessageMeta) -> tuple[str, str]:
    """(header text, body text), decoded, folded and with white space collapsed."""
    header, body = search_text(raw, meta)
    return fold(" ".join(header.split())), fold(body)


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def day_start(day: dt.date | int) -> float:
    """00:00 UTC of `day` (a date or its ordinal) in epoch seconds. A timestamp
    is on day D when day_start(D) <= it < day_start(D + 1): compared so, in
    floating point, in Python and in the store alike (`match_days`)."""
    ordinal = day if isinstance(day, int) else day.toordinal()
    return float((ordinal - _EPOCH_ORDINAL) * 86400)


def day_matches(op: str, timestamp: float, day: dt.date) -> bool:
    """BEFORE / ON / SINCE (`op`) of a UTC timestamp against `day`, disregarding time."""
    start = day_start(day)
    if op == "before":
        return timestamp < start
    if op == "on":
        return start <= timestamp < day_start(day.toordinal() + 1)
    return timestamp >= start


def sent_date(meta: MessageMeta) -> dt.date | None:
    """The date the Date header states, in its own time zone; None without one."""
    value = meta.envelope.date
    if value:
        try:
            parsed = parsedate_tz(value)
        except Exception:  # parsedate_tz has raised IndexError/ValueError on odd input
            parsed = None
        if parsed is not None:
            try:
                return dt.date(parsed[0], parsed[1], parsed[2])
            except ValueError:
                pass
    if meta.sort_date is not None:
        return dt.datetime.fromtimestamp(meta.sort_date, dt.UTC).date()
    return None
