"""The delivery pipeline below the SMTP session: trace fields, sinks, local delivery, queueing."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.app import App
from postbus.config import from_dict
from postbus.delivery import sink as sink_mod
from postbus.delivery.pipeline import Delivery, DeliveryRefused, Envelope, Recipient
from postbus.delivery.sink import MessageSink, Spool
from postbus.delivery.trace import ClientInfo, protocol_keyword, received_header
from postbus.store.model import INBOX

WHEN = datetime.datetime(2025, 7, 1, 10, 0, 0, tzinfo=datetime.UTC)


def test_received_header_shapes() -> None:
    client = ClientInfo(ip="192.0.2.7", helo="client.example", rdns="host.example",
                        tls="TLSv1.3 with cipher TLS_AES_128_GCM_SHA256", authenticated=True)
    assert received_header(client, hostname="mx.example.test", message_id="ABC",
                           recipient="anna@example.test", when=WHEN) == (
        b"Received: from client.example (host.example [192.0.2.7])\r\n"
        b"\tby mx.example.test (Postbus) with ESMTPSA id ABC\r\n"
        b"\t(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)\r\n"
        b"\tfor <anna@example.test>;\r\n"
        b"\tTue, 01 Jul 2025 10:00:00 +0000\r\n")
    sneaky = ClientInfo(ip="::ffff:192.0.2.7", helo="evil (x);\xe9\r\nX-Injected: 1", esmtp=False)
    assert received_header(sneaky, hostname="mx", message_id="ID", when=WHEN) == (
        b"Received: from evil__x_____X-Injected:_1 ([192.0.2.7])\r\n"
        b"\tby mx (Postbus) with SMTP id ID;\r\n"
        b"\tTue, 01 Jul 2025 10:00:00 +0000\r\n")
    v6 = received_header(ClientInfo(ip="2001:db8::1", helo="[IPv6:2001:db8::1]"),
                         hostname="mx", message_id="ID", when=WHEN)
    assert v6.startswith(b"Received: from [IPv6:2001:db8::1] ([IPv6:2001:db8::1])\r\n")


def test_protocol_keywords() -> None:
    assert protocol_keyword(ClientInfo(ip="1", esmtp=False)) == "SMTP"
    assert protocol_keyword(ClientInfo(ip="1", tls="x")) == "ESMTPS"
    assert protocol_keyword(ClientInfo(ip="1", smtputf8=True, tls="x", authenticated=True)) == (
        "UTF8SMTPSA")


async def test_spool_spills_to_a_file_and_reads_back(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sink_mod, "SPOOL_MEMORY_LIMIT", 100)
    spool = Spool(tmp_path)
    parts = [bytes([65 + n]) * 40 for n in range(10)]
    for part in parts:
        spool.write(part)
    assert spool._file is not None and not list(tmp_path.iterdir())  # anonymous file
    assert await spool.read() == b"".join(parts)
    spool.close()


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = App(from_dict({"data_dir": str(tmp_path), "hostname": "mx.example.test"}))
    await app.open()
    await app.store.add_domain("example.test")
    for name in ("anna", "bob"):
        await app.store.add_account(f"{name}@example.test", "x", quota_bytes=0)
    yield app
    await app.close()


@pytest.mark.parametrize("size", [10, 300_000])
async def test_sinks_write_our_fields_then_the_body(app: App, tmp_path: Path, size: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sink_mod, "SPOOL_MEMORY_LIMIT", 1000)
    body = b"Subject: s\r\n\r\n" + b"x" * size + b"\r\n"

    async def late(seen: bytes) -> bytes:
        assert seen == body
        return b"Authentication-Results: mx; none\r\n"

    for late_header in (None, late):
        sink = MessageSink(app.store, b"Received: by mx\r\n", late_header=late_header,
                           spool_dir=tmp_path)
        for start in range(0, len(body), 7000):
            sink.write(body[start : start + 7000])
        message = await sink.finish()
        stored = await app.store.read_blob(message.blob.id)
        head = b"Authentication-Results: mx; none\r\n" if late_header else b""
        assert stored == head + b"Received: by mx\r\n" + body
        assert message.meta.size == len(stored) and message.meta.envelope.subject == "s"


class FakeQueue:
    woken = 0

    def wake(self) -> None:
        self.woken += 1


async def test_deliver_dedupes_accounts_and_queues_remote(app: App) -> None:
    queue = app.services["queue"] = FakeQueue()
    delivery = Delivery(app)
    await app.store.set_alias("team@example.test", ["anna@example.test", "bob@example.test",
                                                    "carol@remote.test"])
    envelope = Envelope("x@remote.test", [
        Recipient("anna@example.test"), Recipient("team@example.test", notify=frozenset({"NEVER"})),
        Recipient("nobody@example.test")], client=ClientInfo(ip="192.0.2.1", helo="c.example"))
    outcome = await delivery.deliver_bytes(envelope, b"Subject: hi\r\n\r\nbody\r\n")
    assert len(outcome.delivered) == 2 and outcome.unknown == ("nobody@example.test",)
    assert queue.woken == 1 and outcome.queue_id is not None
    item = await app.store.get_queue_item(outcome.queue_id)
    assert item is not None
    assert [(r.address, r.notify, r.orcpt) for r in item.recipients] == [
        ("carol@remote.test", "NEVER", "rfc822;team@example.test")]
    raw = await app.store.read_blob(item.blob_id)
    assert raw.startswith(b"Received: from c.example ([192.0.2.1])")  # no Return-Path: relayed


async def test_deliver_local_helper_adds_return_path(app: App) -> None:
    delivery = Delivery(app)
    anna = await app.store.get_account("anna@example.test")
    assert anna is not None
    appended = await delivery.deliver_local(anna, b"Subject: note\r\n\r\nx\r\n", sender="")
    box = await app.store.get_mailbox(anna.id, INBOX)
    assert box is not None and appended.mailbox_id == box.id
    (info,) = await app.store.fetch_info(box.id, [appended.uid])
    raw = await app.store.read_blob(info.blob_id)
    assert raw.startswith(b"Return-Path: <>\r\nReceived: by mx.example.test (Postbus) with LOCAL id ")
    assert raw.endswith(b"\r\nSubject: note\r\n\r\nx\r\n")


async def test_quota_all_or_nothing_in_one_transaction(app: App) -> None:
    app.services["queue"] = FakeQueue()
    delivery = Delivery(app)
    await app.store.update_account("bob@example.test", quota_bytes=50)
    envelope = Envelope("x@remote.test", [Recipient("anna@example.test"), Recipient("bob@example.test"),
                                          Recipient("carol@remote.test")])
    with pytest.raises(DeliveryRefused) as info:
        await delivery.deliver_bytes(envelope, b"Subject: hi\r\n\r\n" + b"x" * 100 + b"\r\n")
    assert info.value.temporary and info.value.enhanced == "4.2.2"
    anna = await app.store.get_account("anna@example.test")
    assert anna is not None and anna.used_messages == 0  # nothing stored for anyone
    assert await app.store.list_queue() == []  # nor queued for the remote recipient
    # a delivery report goes past the quota
    report = Envelope("", [Recipient("bob@example.test")], report=True)
    outcome = await delivery.deliver_bytes(report, b"Subject: report\r\n\r\n" + b"x" * 100 + b"\r\n")
    bob = await app.store.get_account("bob@example.test")
    assert len(outcome.delivered) == 1 and bob is not None and bob.used_bytes > 50
