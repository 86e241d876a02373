"""A large FETCH of ENVELOPE keeps the ENVELOPEs it encoded, and the next one writes
them as kept: the same octets as encoding each from its record (issue 12), on
both backends, also for messages without stored keys and after an expunge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from postbus.delivery.ingest import ingest_bytes
from postbus.imap import fetch as imap_fetch
from postbus.imap import fetch_structure
from postbus.mailbox.keys import KEYS_VERSION
from postbus.store.contract import Store
from tests.contract.conftest import _backends, _pg_drop, open_backend
from tests.unit.imap_fetch.samples import text_message
from tests.unit.imap_fetch.support import Folder

SENDERS = ['"Zoë Ünïcode" <zoe@example.org>', "=?utf-8?q?=C3=89mile?= <emile@example.net>",
           "plain@example.org", 'group: a@b.example, "c d" <c@d.example>;',
           "Quote \\\"me\\\" <q@example.org>", "bob@example.org"]


@pytest.fixture(params=_backends())
async def box(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Folder]:
    store, db = await open_backend(request.param, tmp_path)
    try:
        await store.add_domain("example.org")
        account = await store.add_account("user@example.org", "x", quota_bytes=0)
        inbox = await store.get_mailbox(account.id, "INBOX")
        assert inbox is not None
        yield Folder(store, inbox.id)  # type: ignore[arg-type]
    finally:
        await store.close()
        if db is not None:
            await _pg_drop(db)


async def add(store: Store, mailbox_id: int, raw: bytes, keyed: bool) -> None:
    ingested = await ingest_bytes(store, raw)
    parsed = ingested.parsed if keyed else replace(ingested.parsed, keys=None)
    await store.append(mailbox_id, ingested.blob, parsed)


async def test_kept_envelopes_are_the_encoded_ones(
    box: Folder, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n, sender in enumerate(SENDERS):
        raw = text_message(f"Subject {n} «ünï»", "body", sender=sender, to="to@example.org")
        await add(box.store, box.mailbox_id, raw, keyed=n != 4)  # one record without keys
    commands = ["1:* (FLAGS ENVELOPE)", "2:5 (ENVELOPE UID)", "1:4 (UID FLAGS ENVELOPE)"]
    monkeypatch.setattr(imap_fetch, "KEPT_ENVELOPES_MIN", 10**9)
    encoded = {c: (await box.fetch(c))[0] for c in commands}
    encoded_utf8 = (await box.fetch(commands[0], utf8=True))[0]
    monkeypatch.setattr(imap_fetch, "KEPT_ENVELOPES_MIN", 2)
    uids = [e.uid for e in await box.entries()]
    assert await box.store.envelopes(box.mailbox_id, uids, KEYS_VERSION) == {}
    for _ in range(2):  # the first keeps them, the second writes them as kept
        for c in commands:
            assert (await box.fetch(c))[0] == encoded[c]
        fetch_structure.CACHE.clear()
    kept = await box.store.envelopes(box.mailbox_id, uids, KEYS_VERSION)
    assert sorted(kept) == [1, 2, 3, 4, 6]  # not the record without keys
    assert (await box.fetch(commands[0], utf8=True))[0] == encoded_utf8
    # Keys of other rules: their kept ENVELOPEs do not count.
    assert await box.store.envelopes(box.mailbox_id, uids, KEYS_VERSION + 1) == {}
    await box.store.expunge(box.mailbox_id, [2])
    monkeypatch.setattr(imap_fetch, "KEPT_ENVELOPES_MIN", 10**9)
    after = (await box.fetch(commands[0]))[0]
    monkeypatch.setattr(imap_fetch, "KEPT_ENVELOPES_MIN", 2)
    assert (await box.fetch(commands[0]))[0] == after


async def test_a_fetch_with_every_envelope_kept_reads_no_record(
    box: Folder, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(4):
        await add(box.store, box.mailbox_id, text_message(f"s{n}", "b"), keyed=True)
    monkeypatch.setattr(imap_fetch, "KEPT_ENVELOPES_MIN", 2)
    first = (await box.fetch("1:* (FLAGS ENVELOPE)"))[0]
    fetch_structure.CACHE.clear()

    async def no_reads(*args: object, **kwargs: object) -> None:
        raise AssertionError("read a record")

    monkeypatch.setattr(box.store, "fetch_info", no_reads)
    assert (await box.fetch("1:* (FLAGS ENVELOPE)"))[0] == first
