"""SORT (RFC 5256) and DISPLAYFROM/DISPLAYTO (RFC 5957): every criterion, REVERSE, ties."""

from __future__ import annotations

import calendar
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from postbus.imap.proto import SortCriterion
from postbus.imap.sort import sort_keys
from postbus.mailbox.sort import sort
from tests.unit.imap_fetch.samples import text_message
from tests.unit.imap_fetch.support import Folder, open_folder

pytestmark = pytest.mark.asyncio(loop_scope="module")


def at(day: int) -> float:
    return float(calendar.timegm((2024, 3, day, 12, 0, 0, 0, 0, 0)))


# (subject, from, to, cc, date, internal day, body length)
MESSAGES = [
    ("Re: Budget", "Carol <carol@example.org>", "zed@example.net", "b@x.org",
     "Mon, 4 Mar 2024 10:00:00 +0000", 9, 10),
    ("budget", '"Adam Smith" <zoe@example.org>', "Yann <amy@example.net>", "",
     "Sun, 3 Mar 2024 10:00:00 +0000", 1, 300),
    ("[list] Fwd: Agenda", "bob@example.org", "=?utf-8?q?=C3=89mile?= <emile@example.net>",
     "a@x.org", "", 5, 50),
    ("Agenda (fwd)", "Bob <bob@example.org>", "", "c@x.org",
     "Sun, 3 Mar 2024 11:00:00 +0100", 2, 60),
    ("Zebra", "alice@example.org", "Xavier <beth@example.net>", "",
     "Tue, 5 Mar 2024 23:00:00 -0500", 3, 1000),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def box(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Folder]:
    store, folder = await open_folder(tmp_path_factory.mktemp("sort"))
    for subject, sender, to, cc, date, day, length in MESSAGES:
        extra = (f"Cc: {cc}\n" if cc else "")
        raw = text_message(subject, "x" * length, sender=sender, to=to, date=date, extra=extra)
        if not date:
            raw = raw.replace(b"Date: \r\n", b"")
        if not to:
            raw = raw.replace(b"To: \r\n", b"")
        await folder.add(raw, internal_date=at(day))
    try:
        yield folder
    finally:
        await store.close()


@pytest.mark.parametrize(("criteria", "expected"), [
    ("(ARRIVAL)", [2, 4, 5, 3, 1]),
    ("(REVERSE ARRIVAL)", [1, 3, 5, 4, 2]),
    # DATE: Date header in UTC; 2 and 4 were sent at the same instant (a tie: sequence
    # order); 3 has no Date and sorts by its INTERNALDATE (5 Mar 12:00)
    ("(DATE)", [2, 4, 1, 3, 5]),
    ("(REVERSE DATE)", [5, 3, 1, 2, 4]),
    ("(SIZE)", [1, 3, 4, 2, 5]),  # 3 and 4 have the same size
    ("(SIZE ARRIVAL)", [1, 4, 3, 2, 5]),
    ("(REVERSE SIZE)", [5, 2, 3, 4, 1]),  # ties (3, 4) stay in sequence order
    # SUBJECT: base subjects "budget", "budget", "agenda", "agenda", "zebra"
    ("(SUBJECT)", [3, 4, 1, 2, 5]),
    ("(SUBJECT REVERSE DATE)", [3, 4, 1, 2, 5]),
    ("(SUBJECT DATE)", [4, 3, 2, 1, 5]),
    ("(REVERSE SUBJECT)", [5, 1, 2, 3, 4]),
    # FROM: first mailbox's local part: carol, zoe, bob, bob, alice
    ("(FROM)", [5, 3, 4, 1, 2]),
    # TO: zed, amy, emile, (none), beth; a missing field sorts first
    ("(TO)", [4, 2, 5, 3, 1]),
    ("(CC)", [2, 5, 3, 1, 4]),
    # DISPLAYFROM: "carol", "adam smith", "bob@example.org", "bob", "alice@example.org"
    ("(DISPLAYFROM)", [2, 5, 4, 3, 1]),
    # DISPLAYTO: "zed@example.net", "yann", "émile" (decoded), "", "xavier"; RFC 5051
    # decomposes "É" to "E" U+0301, which sorts with the E's, before X, Y and Z
    ("(DISPLAYTO)", [4, 3, 5, 2, 1]),
])
async def test_criteria(box: Folder, criteria: str, expected: list[int]) -> None:
    assert await box.sort(f"{criteria} UTF-8 ALL") == expected


async def test_sort_of_a_search_result(box: Folder) -> None:
    assert await box.sort("(REVERSE ARRIVAL) UTF-8 SUBJECT budget") == [1, 2]
    assert await box.sort("(SIZE) UTF-8 SUBJECT nothing") == []


async def test_unknown_and_repeated_uids(box: Folder) -> None:
    # the service sorts UIDs; one that is gone keeps its place at the end
    keys = sort_keys([SortCriterion("SIZE")])
    assert await sort(box.store, box.mailbox_id, [5, 1, 1, 99], keys) == [1, 5, 99]
    assert await sort(box.store, box.mailbox_id, [3, 1], ()) == [1, 3]
