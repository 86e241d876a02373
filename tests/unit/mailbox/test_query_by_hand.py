"""The mailbox query model built by hand (as the webmail's search form will) and run
through mailbox.search and mailbox.sort on a real store, with no IMAP in between."""

from __future__ import annotations

import calendar
import datetime as dt

from postbus.mailbox import query as q
from postbus.mailbox.search import search
from postbus.mailbox.sort import sort
from tests.unit.imap_fetch.samples import text_message
from tests.unit.imap_fetch.support import Folder


def day(y: int, m: int, d: int) -> float:
    return float(calendar.timegm((y, m, d, 12, 0, 0, 0, 0, 0)))


async def fill(folder: Folder) -> list[int]:
    uids = [
        await folder.add(text_message(
            "Invoice March", "Please pay the invoice.", sender="Alice <alice@example.org>",
            to="bob@example.net", date="Mon, 4 Mar 2024 10:00:00 +0000"),
            flags=["\\Seen"], internal_date=day(2024, 3, 4)),
        await folder.add(text_message(
            "Lunch", "Shall we have lunch? Bring the invoice.", sender="carol@example.org",
            to="bob@example.net", date="Tue, 5 Mar 2024 10:00:00 +0000"),
            internal_date=day(2024, 3, 5)),
        await folder.add(text_message(
            "=?utf-8?q?Facture_=C3=A9t=C3=A9?=", "Voici la facture.",
            sender="=?utf-8?q?J=C3=A9r=C3=B4me?= <jerome@example.fr>", to="bob@example.net",
            date="Wed, 6 Mar 2024 10:00:00 +0000"),
            flags=["$Important"], internal_date=day(2024, 3, 6)),
    ]
    return uids


async def run(folder: Folder, criterion: q.Criterion, recent: frozenset[int] = frozenset(),
              ) -> list[int]:
    return await search(folder.store, folder.mailbox_id, await folder.entries(), criterion,
                        recent=recent)


async def test_criteria_built_by_hand(folder: Folder) -> None:
    one, two, three = await fill(folder)
    assert await run(folder, q.All()) == [one, two, three]
    assert await run(folder, q.Unseen) == [two, three]
    assert await run(folder, q.And((q.Unseen, q.Body("invoice")))) == [two]
    assert await run(folder, q.Or((q.Subject("invoice"), q.Body("facture")))) == [one, three]
    assert await run(folder, q.Not(q.From("alice"))) == [two, three]
    assert await run(folder, q.From("jérôme")) == [three]  # decoded display name
    assert await run(folder, q.To("BOB@example.NET")) == [one, two, three]
    assert await run(folder, q.Subject("ÉTÉ")) == [three]  # case folded, decoded
    assert await run(folder, q.Text("carol@")) == [two]
    assert await run(folder, q.Header("Subject", "lunch")) == [two]
    assert await run(folder, q.Flag("$important")) == [three]  # keywords fold case
    assert await run(folder, q.Since(dt.date(2024, 3, 5))) == [two, three]
    assert await run(folder, q.Before(dt.date(2024, 3, 5))) == [one]
    assert await run(folder, q.Date("on", dt.date(2024, 3, 6), sent=True)) == [three]
    assert await run(folder, q.Uids.of([three, one])) == [one, three]
    assert await run(folder, q.Uids(((two, 10_000),))) == [two, three]
    assert await run(folder, q.Recent(), recent=frozenset({two})) == [two]
    assert await run(folder, q.And(())) == [one, two, three]
    assert await run(folder, q.Or(())) == []
    sizes = [(await folder.store.fetch_info(folder.mailbox_id, [u]))[0].size
             for u in (one, two, three)]
    assert await run(folder, q.Larger(min(sizes))) == [u for u, s in zip(
        (one, two, three), sizes, strict=True) if s > min(sizes)]
    assert await run(folder, q.Smaller(max(sizes) + 1)) == [one, two, three]


async def test_sort_keys_built_by_hand(folder: Folder) -> None:
    one, two, three = await fill(folder)
    uids = [one, two, three]
    store, box = folder.store, folder.mailbox_id
    assert await sort(store, box, uids, (q.SortKey("arrival", reverse=True),)) == [three, two, one]
    # subjects: "invoice march", "lunch", "facture été"
    assert await sort(store, box, uids, (q.SortKey("subject"),)) == [three, one, two]
    # display names: "alice", "carol@example.org", "jérôme"
    assert await sort(store, box, uids, (q.SortKey("display_from"),)) == [one, two, three]


async def test_older_and_younger_count_back_from_now(folder: Folder) -> None:
    # RFC 5032: by INTERNALDATE; OLDER n is "arrived at least n seconds ago".
    one, two, three = await fill(folder)
    now = day(2024, 3, 6)  # noon on the day `three` arrived
    dayspan = 24 * 3600

    async def within(criterion: q.Criterion) -> list[int]:
        return await search(folder.store, folder.mailbox_id, await folder.entries(), criterion,
                            now=now)

    assert await within(q.Older(dayspan)) == [one, two]
    assert await within(q.Older(dayspan + 1)) == [one]
    assert await within(q.Younger(dayspan)) == [three]
    assert await within(q.Younger(dayspan + 1)) == [two, three]
    assert await within(q.Not(q.Older(dayspan))) == await within(q.Younger(dayspan))
    assert await within(q.Older(1)) == [one, two]  # `three` is 0 seconds old
    assert await within(q.Younger(1)) == [three]
