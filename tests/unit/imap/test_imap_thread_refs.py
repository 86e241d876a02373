"""THREAD=REFS (draft-ietf-morg-inthread, as Dovecot 2.3 answers it) over IMAP.

The messages below were appended, in this order and with these INTERNALDATEs,
to Dovecot 2.3.19.1 (Debian 12's dovecot-imapd, Maildir) and to Postbus; every
expected answer here is Dovecot's, copied from its transcript. They cover
replies by References and by In-Reply-To alone, missing parents (a dummy with
two children, one with one child, one between a message and its reply), the
same subject without references, replies that arrive before their parent,
Date headers that disagree with arrival order (and a time zone), a missing and
an unparsable Date (INTERNALDATE is used), a repeated Message-ID, a References
loop, threads whose latest dates are equal, and expunged parents.
"""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

from tests.unit.imap.harness import USER, Client, Harness

BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

# Message-ID, Subject, Date (hours after BASE, a raw header, or None), References, In-Reply-To
SPEC: list[tuple[str | None, str, float | str | None, tuple[str, ...], str | None]] = [
    ("A", "Trip", 30, (), None),                                     # 1
    ("B", "Re: Trip", 40, ("A",), None),                             # 2
    ("C", "Re: Trip", 20, (), "A"),                                  # 3 In-Reply-To only; older than A
    ("E", "Re: Party", 50, ("M1",), None),                           # 4 missing parent M1 ...
    ("F", "Re: Party", 10, ("M1",), None),                           # 5 ... with two children
    ("G", "Re: Solo", 60, ("M2",), None),                            # 6 only child of missing M2
    ("H", "Re: Deep", 70, ("A", "M3"), None),                        # 7 under A through missing M3
    ("I", "Trip", 80, (), None),                                     # 8 A's subject, no references
    ("K", "Re: Early", 90, ("J",), None),                            # 9 before its parent
    ("J", "Early", 0, (), None),                                     # 10 the oldest Date
    (None, "Re: Solo", None, (), "G"),                               # 11 no Message-ID, no Date
    ("L", "Tie", 200, (), None),                                     # 12 three threads ...
    ("N", "Tie", 200, (), None),                                     # 13 ... of the same date,
    ("O", "Re: Tie", 200, ("M4",), None),                            # 14 one with a dummy root
    ("P", "Re: Trip", "not a date", ("A", "B"), None),               # 15 unparsable Date
    ("A", "Trip copy", 100, ("J",), None),                           # 16 A's Message-ID again
    ("Q", "Loop", 110, ("R",), None),                                # 17 Q and R name each
    ("R", "Re: Loop", 120, ("Q",), None),                            # 18 other
    ("S", "Zone", "Wed, 1 Jan 2025 12:00:00 +0200", ("T",), None),   # 19 10:00 UTC
    ("U", "Zone", "Wed, 1 Jan 2025 11:00:00 +0000", ("T",), None),   # 20 11:00 UTC
    ("V", "Re: Trip", 35, ("B", "A"), "B"),                          # 21 References out of order
]


def raw(message_id: str | None, subject: str, date: float | str | None,
        refs: tuple[str, ...], in_reply_to: str | None) -> bytes:
    lines = ["From: Carol <carol@example.org>", f"To: {USER}", f"Subject: {subject}"]
    if isinstance(date, str):
        lines.append(f"Date: {date}")
    elif date is not None:
        lines.append(f"Date: {format_datetime(BASE + dt.timedelta(hours=date))}")
    if message_id:
        lines.append(f"Message-ID: <{message_id}@example.org>")
    if refs:
        lines.append("References: " + " ".join(f"<{r}@example.org>" for r in refs))
    if in_reply_to:
        lines.append(f"In-Reply-To: <{in_reply_to}@example.org>")
    return ("\r\n".join(lines) + "\r\n\r\nBody.\r\n").encode()


async def append_all(client: Client, spec: list[tuple[str | None, str, float | str | None,
                                                      tuple[str, ...], str | None]]) -> None:
    """APPEND each message to INBOX with INTERNALDATE 1 Feb 2025, n o'clock (n = its UID)."""
    for n, entry in enumerate(spec, 1):
        message = raw(*entry)
        await client.ok(b'APPEND INBOX "01-Feb-2025 %02d:00:00 +0000" {%d+}\r\n%s'
                        % (n, len(message), message))
    await client.ok("SELECT INBOX")


async def thread(client: Client, command: str) -> bytes:
    lines = await client.command(command)
    assert lines[-1].startswith(b"TAG OK"), lines
    assert len(lines) == 2, lines
    return lines[0]


async def test_refs_as_dovecot_answers(imap: Harness) -> None:
    client = await imap.client()
    await append_all(client, SPEC)
    everything = (b"* THREAD ((19)(20))((5)(4))(8)(10 (9)(16))(18 17)(14)(12)(13)(6 11)"
                  b"(1 (3)(21)(2 15)(7))\r\n")
    assert await thread(client, "THREAD REFS UTF-8 ALL") == everything
    assert await thread(client, "UID THREAD REFS UTF-8 ALL") == everything
    # REFERENCES on the same messages (Dovecot's answer too): subjects merge.
    assert await thread(client, "THREAD REFERENCES UTF-8 ALL") == (
        b"* THREAD (10 (9)(16))((5)(4))((19)(20))((1 (3)(21)(2 15)(7))(8))(6 11)(18 17)"
        b"((12)(13)(14))\r\n")
    # Threading a search result: the messages left out become dummies.
    assert await thread(client, "UID THREAD REFS UTF-8 SUBJECT Trip") == (
        b"* THREAD (8)(16)(1 (3)(21)(2 15))\r\n")
    assert await thread(client, "UID THREAD REFS UTF-8 UID 2:11") == (
        b"* THREAD ((5)(4))((3)(2)(7))(8)(10 9)(6 11)\r\n")
    # Expunge A and J: uid 16 now holds Message-ID A (and so A's replies), under dummy J.
    await client.ok("STORE 1,10 +FLAGS.SILENT (\\Deleted)")
    await client.ok("EXPUNGE")
    assert await thread(client, "THREAD REFS UTF-8 ALL") == (
        b"* THREAD ((17)(18))((4)(3))(7)(16 15)(12)(10)(11)(5 9)((8)(14 (2)(19)(1 13)(6)))\r\n")
    assert await thread(client, "UID THREAD REFS UTF-8 ALL") == (
        b"* THREAD ((19)(20))((5)(4))(8)(18 17)(14)(12)(13)(6 11)((9)(16 (3)(21)(2 15)(7)))\r\n")
    assert await thread(client, "THREAD REFERENCES UTF-8 ALL") == (
        b"* THREAD ((4)(3))((17)(18))(5 9)(7)((8)(14 (2)(19)(1 13)(6)))(16 15)((10)(11)(12))\r\n")


async def test_dummy_roots_of_the_same_date(imap: Harness) -> None:
    # Two dummy-rooted threads dated alike: the dummy whose Message-ID was seen first
    # comes first (Dovecot: "((1)(3))(2)(4)(5)", and "(4)(5)" for UID 4:5).
    client = await imap.client()
    await append_all(client, [
        ("W1", "Re: Twin", 100, ("M5",), None),
        ("W2", "Re: Twin", 300, ("M6",), None),
        ("W3", "Re: Twin", 300, ("M5",), None),
        ("W4", "Re: Twin", 300, ("M8",), None),
        ("W5", "Re: Twin", 300, ("M7",), None),
    ])
    assert await thread(client, "UID THREAD REFS UTF-8 ALL") == b"* THREAD ((1)(3))(2)(4)(5)\r\n"
    assert await thread(client, "UID THREAD REFS UTF-8 UID 4:5") == b"* THREAD (4)(5)\r\n"


async def test_a_parent_given_by_references_yields_to_a_loop(imap: Harness) -> None:
    # Message 1 makes P the parent of M and M the grandparent of 1; message 2 (M) names
    # D2, below itself: Dovecot drops M's parent P and refuses the loop, so M is a root
    # and P keeps only message 3. Both algorithms (Dovecot: "(2 1)(3)" for each).
    client = await imap.client()
    await append_all(client, [
        ("D1", "One", 10, ("P", "M", "D2"), None),
        ("M", "Two", 20, ("D2",), None),
        ("Z", "Three", 30, ("P",), None),
    ])
    assert await thread(client, "UID THREAD REFS UTF-8 ALL") == b"* THREAD (2 1)(3)\r\n"
    assert await thread(client, "UID THREAD REFERENCES UTF-8 ALL") == b"* THREAD (2 1)(3)\r\n"
