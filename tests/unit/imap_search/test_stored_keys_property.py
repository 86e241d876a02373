"""Stored keys decide as the message-by-message path does (issue 12, large folders).

For random messages (addresses and subjects spelt the ways RFC 5322 allows,
Date headers in several zones, odd or missing, arrival times on and around
midnight UTC) and random SORT keys and SEARCH criteria, on both backends:

* SORT from the store's stored keys (`sort.sort_stored`) equals SORT from each
  message's record (`sort.sort_exact`);
* SEARCH with the stored keys (set algebra over the folder, or the store's
  answers inside the three-valued evaluation) equals SEARCH judging every
  message in Python;
* messages stored without keys (records from before the keys) are
  backfilled on first use and answer the same.
"""

from __future__ import annotations

import calendar
import itertools
import os
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbus.delivery.ingest import ingest_bytes
from postbus.imap.proto import SearchArgs, parse_command
from postbus.imap.proto.writer import string
from postbus.imap.search import criterion
from postbus.mailbox import keys as stored_keys
from postbus.mailbox import search as searching
from postbus.mailbox import sort as sorting
from postbus.mailbox.entrylist import EntryList
from postbus.mailbox.query import SortKey
from postbus.mailbox.search_fields import day_start
from postbus.store.contract import Store
from tests.unit.imap_search.test_search_narrowing_property import atom, message, word

EXAMPLES = settings(max_examples=int(os.environ.get("POSTBUS_FUZZ_EXAMPLES", "60")),
                    deadline=None, suppress_health_check=[HealthCheck.too_slow])

DAYS = [calendar.timegm((2024, 3, d, 0, 0, 0, 0, 0, 0)) for d in (3, 4, 5)]
# Arrival times on, just before and just after midnight UTC, and within the day
arrival = st.builds(lambda day, offset: float(day) + offset, st.sampled_from(DAYS),
                    st.sampled_from([0.0, -1e-7, -1e-6, 5e-7, 1e-6, -0.5, 43200.25, 86399.9999]))
date_header = st.sampled_from([
    "", "Date: Mon, 4 Mar 2024 00:00:00 +0000", "Date: Mon, 4 Mar 2024 23:30:00 -0500",
    "Date: Tue, 5 Mar 2024 00:30:00 +0100", "Date: 4 Mar 2024 10:00 GMT",
    "Date: Sun, 3 Mar 2024 12:00:00 +0000", "Date: not a date at all",
    "Date: Mon, 4 Mar 2024 10:00:00 +0000 (UTC)", "Date: Mon, 31 Feb 2024 10:00:00 +0000",
])
subject_prefix = st.sampled_from(["", "Re: ", "Fwd: ", "[list] Re: ", "RE: [x] ", "re:re: "])


@st.composite
def stored_message(draw: Any) -> tuple[bytes, float, bool, tuple[str, ...]]:
    """(raw message, INTERNALDATE, whether its keys are stored, flags)."""
    raw = draw(message())
    date = draw(date_header)
    raw = raw.replace(b"Subject: Re: ", f"Subject: {draw(subject_prefix)}".encode(), 1)
    if date:
        raw = date.encode() + b"\r\n" + raw
    if draw(st.integers(0, 5)) == 0:
        raw = raw.replace(b"Subject:", b"X-Subject:", 1)  # no Subject at all
    flags = tuple(draw(st.lists(st.sampled_from(["\\Seen", "\\Flagged", "$Work"]), max_size=2,
                                unique=True)))
    return raw, draw(arrival), draw(st.booleans()), flags


@st.composite
def sort_keys(draw: Any) -> list[SortKey]:
    fields = draw(st.lists(st.sampled_from(sorted(stored_keys.SORT_FIELDS)), min_size=1,
                           max_size=3))
    return [SortKey(f, draw(st.booleans())) for f in fields]  # type: ignore[arg-type]


@st.composite
def search_key(draw: Any) -> str:
    kind = draw(st.sampled_from(["string", "date", "combo"]))
    if kind == "date":
        name = draw(st.sampled_from(["SINCE", "BEFORE", "ON", "SENTSINCE", "SENTBEFORE",
                                     "SENTON", "SAVEDSINCE", "SAVEDBEFORE", "SAVEDON"]))
        return f"{name} {draw(st.sampled_from(['3-Mar-2024', '4-Mar-2024', '5-Mar-2024']))}"
    name = draw(st.sampled_from(["FROM", "TO", "CC", "BCC", "SUBJECT"]))
    value = draw(st.one_of(word, atom, st.sampled_from(["", "re", "Re:", "@", ".org", "list"]),
                           st.builds(lambda w, n: w[:n], word, st.integers(1, 6))))
    text = f"{name} {string(value, utf8=True).decode()}"
    if kind == "combo":
        other = draw(st.sampled_from(["UNSEEN", "FLAGGED", "KEYWORD $Work", "UID 1:2",
                                      "SINCE 4-Mar-2024", "SUBJECT re", "ALL"]))
        shape = draw(st.sampled_from(["NOT {a}", "OR {a} {b}", "{a} {b}", "NOT OR {a} {b}",
                                      "OR NOT {a} BODY zzz"]))
        text = shape.format(a=text, b=other)
    return text


_folders = itertools.count(1)


async def fill(store: Store, account_id: int,
               messages: list[tuple[bytes, float, bool, tuple[str, ...]]]) -> int:
    box = await store.create_mailbox(account_id, f"box{next(_folders)}")
    for raw, when, keyed, flags in messages:
        ingested = await ingest_bytes(store, raw)
        parsed = ingested.parsed if keyed else replace(ingested.parsed, keys=None)
        await store.append(box.id, ingested.blob, parsed, flags=flags, internal_date=when)
    return box.id


@EXAMPLES
@given(messages=st.lists(stored_message(), min_size=1, max_size=6),
       orders=st.lists(sort_keys(), min_size=1, max_size=3))
def test_sort_from_stored_keys_equals_sort_from_records(
    world: tuple[Any, Store, int], messages: list[Any], orders: list[list[SortKey]],
) -> None:
    loop, store, account_id = world

    async def check() -> None:
        box = await fill(store, account_id, messages)
        uids = [e.uid for e in await store.list_messages(box)]
        for keys in orders:
            for asked in (uids, uids[::2], [*uids, 999]):  # all, some, one expunged meanwhile
                ordered = sorted(set(asked))
                exact = await sorting.sort_exact(store, box, ordered, keys)
                stored = await sorting.sort_stored(store, box, ordered, keys)
                assert stored == exact, (keys, messages)
        if any(k.field not in ("arrival", "size") for keys in orders for k in keys):
            # Backfilled: every record has keys now.
            _, unknown = await store.sort_uids(box, [("subject", False)],
                                               stored_keys.KEYS_VERSION)
            assert unknown == []

    loop.run_until_complete(check())


@EXAMPLES
@given(messages=st.lists(stored_message(), min_size=1, max_size=6),
       texts=st.lists(search_key(), min_size=1, max_size=3), compact=st.booleans())
def test_search_with_stored_keys_equals_the_exact_scan(
    world: tuple[Any, Store, int], messages: list[Any], texts: list[str], compact: bool,
) -> None:
    loop, store, account_id = world

    async def check() -> None:
        box = await fill(store, account_id, messages)
        listed = await store.list_messages(box)
        entries = EntryList(listed) if compact else listed
        for text in texts:
            cmd = parse_command([f"A SEARCH CHARSET UTF-8 {text}".encode()])
            assert isinstance(cmd.args, SearchArgs)
            crit = criterion(cmd.args.key, listed)
            searching.STORED_KEYS_MIN = 10**9
            try:
                exact = await searching.search(store, box, entries, crit, recent={1})
            finally:
                searching.STORED_KEYS_MIN = 0
            try:
                stored = await searching.search(store, box, entries, crit, recent={1})
            finally:
                searching.STORED_KEYS_MIN = STORED_KEYS_MIN
            assert stored == exact, (text, messages)

    loop.run_until_complete(check())


STORED_KEYS_MIN = searching.STORED_KEYS_MIN


def test_day_bounds_are_00_00_utc() -> None:
    assert day_start(calendar.timegm((2024, 3, 4, 0, 0, 0, 0, 0, 0)) // 86400 + 719163) == float(
        calendar.timegm((2024, 3, 4, 0, 0, 0, 0, 0, 0)))


def test_keys_the_store_cannot_hold_are_not_made() -> None:
    assert stored_keys.storable("été") and not stored_keys.storable("a\x00b")
    assert not stored_keys.storable("\udcff")


@pytest.mark.parametrize("flavour", ["exact", "stored"])
def test_arrival_days_at_midnight(world: tuple[Any, Store, int], flavour: str) -> None:
    """SINCE/BEFORE/ON compare INTERNALDATE with the day's 00:00 UTC in seconds, on
    both paths: a message a microsecond before midnight is on the day before."""
    loop, store, account_id = world
    midnight = float(DAYS[1])  # 4 Mar 2024 00:00 UTC
    raw = b"From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n"
    messages = [(raw.replace(b"x", str(n).encode()), midnight + offset, True, ())
                for n, offset in enumerate((-1e-6, 0.0, 1e-6, 86400.0 - 1e-6, 86400.0), 1)]

    async def check() -> dict[str, list[int]]:
        box = await fill(store, account_id, messages)
        entries = await store.list_messages(box)
        searching.STORED_KEYS_MIN = 0 if flavour == "stored" else 10**9
        try:
            found = {}
            for key in ("BEFORE 4-Mar-2024", "ON 4-Mar-2024", "SINCE 4-Mar-2024",
                        "SINCE 5-Mar-2024"):
                cmd = parse_command([f"A SEARCH {key}".encode()])
                assert isinstance(cmd.args, SearchArgs)
                found[key] = await searching.search(store, box, entries,
                                                    criterion(cmd.args.key, entries))
            return found
        finally:
            searching.STORED_KEYS_MIN = STORED_KEYS_MIN

    assert loop.run_until_complete(check()) == {
        "BEFORE 4-Mar-2024": [1], "ON 4-Mar-2024": [2, 3, 4], "SINCE 4-Mar-2024": [2, 3, 4, 5],
        "SINCE 5-Mar-2024": [5]}


def test_records_without_keys_are_backfilled_once(world: tuple[Any, Store, int]) -> None:
    loop, store, account_id = world
    raws = [f"From: a{n}@example.org\r\nSubject: Re: item {n}\r\n\r\nbody\r\n".encode()
            for n in range(5)]

    async def check() -> None:
        box = await fill(store, account_id, [(r, float(DAYS[0]), False, ()) for r in raws])
        found, unknown = await store.match_keys(box, "subject", "item", stored_keys.KEYS_VERSION)
        assert (found, unknown) == (set(), {1, 2, 3, 4, 5})
        entries = await store.list_messages(box)
        cmd = parse_command([b"A SEARCH SUBJECT item"])
        assert isinstance(cmd.args, SearchArgs)
        searching.STORED_KEYS_MIN = 0
        try:
            assert await searching.search(store, box, entries,
                                          criterion(cmd.args.key, entries)) == [1, 2, 3, 4, 5]
        finally:
            searching.STORED_KEYS_MIN = STORED_KEYS_MIN
        assert await store.match_keys(box, "subject", "item 3", stored_keys.KEYS_VERSION) == (
            {4}, set())
        assert await store.sort_uids(box, [("subject", True)], stored_keys.KEYS_VERSION) == (
            [5, 4, 3, 2, 1], [])
        # Keys of other rules count as none.
        assert (await store.match_keys(box, "subject", "item", -1))[1] == {1, 2, 3, 4, 5}

    loop.run_until_complete(check())


def test_a_kept_folder_order_follows_appends_and_expunges(world: tuple[Any, Store, int]) -> None:
    loop, store, account_id = world
    raws = [f"From: a@example.org\r\nSubject: {s}\r\n\r\nbody\r\n".encode() for s in "cab"]

    async def check() -> None:
        box = await fill(store, account_id, [(r, float(DAYS[0]), True, ()) for r in raws])
        by_subject = [SortKey("subject")]

        async def ordered() -> list[int]:
            uids = [e.uid for e in await store.list_messages(box)]
            return await sorting.sort_stored(store, box, uids, by_subject) or []

        assert await ordered() == [2, 3, 1]
        assert await ordered() == [2, 3, 1]  # from the kept order
        await fill_into(store, box, b"From: a@example.org\r\nSubject: aa\r\n\r\nbody\r\n")
        assert await ordered() == [2, 4, 3, 1]
        await store.expunge(box, [3])
        assert await ordered() == [2, 4, 1]

    loop.run_until_complete(check())


async def fill_into(store: Store, box: int, raw: bytes) -> None:
    ingested = await ingest_bytes(store, raw)
    await store.append(box, ingested.blob, ingested.parsed)
