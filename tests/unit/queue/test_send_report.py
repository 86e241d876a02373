"""Where the queue's delivery reports go: a sender that is an alias of a local
mailbox and a remote address gets the report in the Inbox and queued, in one
store transaction, so a failure stores neither (and a retried attempt cannot
put a second copy in the Inbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from postbus.app import App
from postbus.config import from_dict
from postbus.delivery.queue import QueueRunner
from postbus.store.model import INBOX
from postbus.store.sqlite import outbound

REPORT = (b"From: MAILER-DAEMON@mx.example.test\r\nTo: list@example.test\r\n"
          b"Subject: Undelivered Mail\r\n\r\nreport\r\n")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = App(from_dict({"data_dir": str(tmp_path), "hostname": "mx.example.test"}))
    await app.open()
    await app.store.add_domain("example.test")
    await app.store.add_account("anna@example.test", "x", quota_bytes=0)
    await app.store.set_alias("list@example.test", ["anna@example.test", "x@remote.test"])
    yield app
    await app.close()


async def _inbox(app: App) -> list[bytes]:
    anna = await app.store.get_account("anna@example.test")
    assert anna is not None
    box = await app.store.get_mailbox(anna.id, INBOX)
    assert box is not None
    infos = await app.store.fetch_info(box.id, [e.uid for e in await app.store.list_messages(box.id)])
    return [await app.store.read_blob(i.blob_id) for i in infos]


async def test_report_to_local_and_remote_targets_is_one_message(app: App) -> None:
    await QueueRunner(app).send_report("list@example.test", REPORT)
    # RFC 5321 §4.4: a message that is also relayed carries no Return-Path
    assert await _inbox(app) == [REPORT]
    (item,) = await app.store.list_queue()
    assert item.sender == "" and [r.address for r in item.recipients] == ["x@remote.test"]
    assert await app.store.read_blob(item.blob_id) == REPORT


async def test_a_failing_queue_write_stores_the_report_nowhere(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: Any) -> Any:
        raise RuntimeError("injected")

    monkeypatch.setattr(outbound, "enqueue", failing)
    with pytest.raises(RuntimeError, match="injected"):
        await QueueRunner(app).send_report("list@example.test", REPORT)
    assert await _inbox(app) == []
    assert await app.store.list_queue() == []


async def test_report_to_a_local_sender_has_a_return_path(app: App) -> None:
    await QueueRunner(app).send_report("anna@example.test", REPORT)
    assert await _inbox(app) == [b"Return-Path: <>\r\n" + REPORT]
    assert await app.store.list_queue() == []
