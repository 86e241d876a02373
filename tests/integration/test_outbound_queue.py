"""The outbound queue against a fake remote MX on loopback, in-process.

The test's static DNS points remote.test at the fake server; the App and its
QueueRunner run in the test's event loop on a real embedded store. Checked:
delivery with a DKIM signature dkimpy verifies, 451 retried, 550 bounced to
the local sender's Inbox as an RFC 3464 report, the delay notice, expiry,
STARTTLS, the smarthost, and a queue item surviving a restart.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import dkim as dkimpy
import pytest
import trustme

from postbus.app import App
from postbus.config import from_dict
from postbus.delivery.queue import QueueRunner, start_queue
from postbus.mailauth.dkim import dns_txt_record
from postbus.node import NodeProcess
from postbus.store.model import INBOX, QueueRecipient
from tests.support.fake_mx import FakeMX

PASSWORD = "Tq7#mZ2v!pLx"
MESSAGE = (b"From: Alice <alice@example.org>\r\nTo: Bob <bob@remote.test>\r\n"
           b"Subject: outbound\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
           b"Message-ID: <out-1@example.org>\r\n\r\nHello Bob.\r\n.leading dot\r\n")


def make_settings(tmp_path: Path, mx: FakeMX, **queue: Any) -> Any:
    return from_dict({
        "hostname": "mail.example.org",
        "data_dir": str(tmp_path / "var"),
        "dns": {"static": {"MX remote.test": ["10 mx.remote.test"],
                           "A mx.remote.test": ["127.0.0.1"],
                           "MX other.test": ["10 127.0.0.1"]},
                "mx_port": mx.port},
        "queue": {"first_retry": 1, "max_retry_interval": 2, "delay_notice": "1h",
                  "lifetime": "1d", **queue},
    })


async def open_app(settings: Any) -> App:
    app = App(settings)
    await app.open()
    return app


async def close_app(app: App) -> None:
    runner = app.services.get("queue")
    if runner is not None:
        await runner.stop()
    await app.close()


@pytest.fixture()
async def mx() -> AsyncIterator[FakeMX]:
    server = await FakeMX().start()
    yield server
    await server.stop()


@pytest.fixture()
async def app(tmp_path: Path, mx: FakeMX) -> AsyncIterator[App]:
    application = await open_app(make_settings(tmp_path, mx))
    await application.accounts.add_domain("example.org")
    await application.accounts.add_user("alice@example.org", PASSWORD)
    yield application
    await close_app(application)


async def enqueue(app: App, *recipients: QueueRecipient, message: bytes = MESSAGE,
                  sender: str = "alice@example.org", **kw: Any) -> int:
    blob = await app.store.put_blob(message)
    return await app.store.enqueue(sender, list(recipients), blob, **kw)


async def inbox_messages(app: App, address: str) -> list[bytes]:
    account = await app.store.get_account(address)
    assert account is not None
    box = await app.store.get_mailbox(account.id, INBOX)
    assert box is not None
    infos = await app.store.fetch_info(box.id, [e.uid for e in await app.store.list_messages(box.id)])
    return [await app.store.read_blob(i.blob_id) for i in infos]


async def until(condition: Any, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)


def dkim_ok(app_key: str, data: bytes) -> bool:
    record = dns_txt_record(app_key).encode()
    return bool(dkimpy.verify(data, dnsfunc=lambda name, timeout=5: record))


async def test_delivered_with_a_valid_dkim_signature(app: App, mx: FakeMX) -> None:
    await enqueue(app, QueueRecipient("bob@remote.test", notify="FAILURE", orcpt="rfc822;bob@remote.test"),
                  envid="env 1", ret="HDRS")
    runner = await start_queue(app)
    assert await start_queue(app) is runner  # a second start is harmless
    [tx] = await mx.wait_for(1)
    assert tx.mail_from == "alice@example.org"
    assert tx.recipients == ["bob@remote.test"]
    assert tx.helo == "mail.example.org"
    assert f"SIZE={len(tx.data)}" in tx.mail_params
    assert "RET=HDRS" in tx.mail_params and "ENVID=env+201" in tx.mail_params
    assert tx.rcpt_params == [["NOTIFY=FAILURE", "ORCPT=rfc822;bob@remote.test"]]
    assert tx.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;")
    assert tx.data.endswith(MESSAGE)
    domain = await app.store.get_domain("example.org")
    assert domain is not None
    assert dkim_ok(domain.dkim_private_key, tx.data)
    await until(lambda: _queue_empty(app))


async def _queue_empty(app: App) -> bool:
    return not await app.store.list_queue()


async def test_451_is_retried_then_delivered(app: App, mx: FakeMX) -> None:
    mx.data_replies = ["451 4.3.0 try again later"]
    item_id = await enqueue(app, QueueRecipient("bob@remote.test"))
    runner = QueueRunner(app)
    await runner.run_due()
    await runner.idle()
    assert mx.received == []
    item = await app.store.get_queue_item(item_id)
    assert item is not None and item.recipients[0].status == "pending"
    assert item.recipients[0].last_reply.startswith("451 4.3.0")
    assert item.recipients[0].attempts == 1
    assert 0.5 < item.next_attempt - item.created < 3  # first_retry = 1 s
    runner.start()
    await mx.wait_for(1, timeout=10)
    await until(lambda: _queue_empty(app))
    assert await inbox_messages(app, "alice@example.org") == []  # no report for a success


async def test_550_bounces_into_the_senders_inbox(app: App, mx: FakeMX) -> None:
    mx.rcpt_replies = {"nobody@remote.test": "550 5.1.1 <nobody@remote.test>: no such user"}
    await enqueue(app, QueueRecipient("nobody@remote.test"), QueueRecipient("bob@remote.test"))
    runner = QueueRunner(app)
    await runner.run_due()
    await runner.idle()
    [tx] = mx.received
    assert tx.recipients == ["bob@remote.test"]
    assert await app.store.list_queue() == []
    [report] = await inbox_messages(app, "alice@example.org")
    assert report.startswith(b"Return-Path: <>\r\n")
    msg = email.message_from_bytes(report, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    text, status, original = msg.get_payload()  # type: ignore[misc]
    assert "nobody@remote.test" in text.get_content()
    assert status.get_content_type() == "message/delivery-status"
    per_message, per_recipient = status.get_payload()
    assert per_message["Reporting-MTA"] == "dns; mail.example.org"
    assert per_recipient["Final-Recipient"] == "rfc822; nobody@remote.test"
    assert per_recipient["Action"] == "failed"
    assert per_recipient["Status"] == "5.1.1"
    assert per_recipient["Remote-MTA"] == "dns; mx.remote.test"
    assert per_recipient["Diagnostic-Code"] == "smtp; 550 5.1.1 <nobody@remote.test>: no such user"
    assert original.get_content_type() == "message/rfc822"
    assert original.get_payload()[0]["Message-ID"] == "<out-1@example.org>"


async def test_never_bounce_a_bounce(app: App, mx: FakeMX) -> None:
    mx.rcpt_replies = {"nobody@remote.test": "550 5.1.1 no such user"}
    await enqueue(app, QueueRecipient("nobody@remote.test"), sender="")
    runner = QueueRunner(app)
    await runner.run_due()
    await runner.idle()
    assert await app.store.list_queue() == []
    assert await inbox_messages(app, "alice@example.org") == []


async def test_notify_never_suppresses_the_bounce(app: App, mx: FakeMX) -> None:
    mx.rcpt_replies = {"nobody@remote.test": "550 5.1.1 no such user"}
    await enqueue(app, QueueRecipient("nobody@remote.test", notify="NEVER"))
    runner = QueueRunner(app)
    await runner.run_due()
    await runner.idle()
    assert await inbox_messages(app, "alice@example.org") == []


async def test_remote_sender_gets_a_null_sender_bounce_queued(app: App, mx: FakeMX) -> None:
    mx.rcpt_replies = {"nobody@remote.test": "550 5.1.1 no such user"}
    await enqueue(app, QueueRecipient("nobody@remote.test"), sender="carol@remote.test")
    runner = QueueRunner(app)
    await runner.run_due()
    await runner.idle()
    runner.start()
    [bounce] = await mx.wait_for(1)
    assert bounce.mail_from == "" and bounce.recipients == ["carol@remote.test"]
    assert b"report-type=delivery-status" in bounce.data
    assert b"DKIM-Signature" not in bounce.data.partition(b"\r\n\r\n")[0]


async def test_delay_notice_once_then_expiry_bounce(tmp_path: Path, mx: FakeMX) -> None:
    app = await open_app(make_settings(tmp_path, mx, delay_notice=0, lifetime=3))
    try:
        await app.accounts.add_domain("example.org")
        await app.accounts.add_user("alice@example.org", PASSWORD)
        mx.rcpt_replies = {"bob@remote.test": "450 4.2.1 mailbox busy"}
        await enqueue(app, QueueRecipient("bob@remote.test"))
        runner = QueueRunner(app)
        await runner.run_due()
        await runner.idle()
        [notice] = await inbox_messages(app, "alice@example.org")
        msg = email.message_from_bytes(notice, policy=email.policy.default)
        _, status, headers = msg.get_payload()  # type: ignore[misc]
        per_recipient = status.get_payload()[1]
        assert per_recipient["Action"] == "delayed"
        assert per_recipient["Status"] == "4.2.1"
        assert "Will-Retry-Until" in per_recipient
        assert headers.get_content_type() == "text/rfc822-headers"
        runner.start()
        await until(lambda: _queue_empty(app), timeout=20)
        notices = await inbox_messages(app, "alice@example.org")
        assert len(notices) == 2  # one delay notice, then the final bounce
        final = email.message_from_bytes(notices[1], policy=email.policy.default)
        per_recipient = final.get_payload()[1].get_payload()[1]  # type: ignore[index]
        assert (per_recipient["Action"], per_recipient["Status"]) == ("failed", "4.4.7")
        assert len(mx.received) == 0 and mx.connections >= 2
    finally:
        await close_app(app)


async def test_unreachable_mx_is_deferred(app: App, mx: FakeMX) -> None:
    port = mx.port
    await mx.stop()
    item_id = await enqueue(app, QueueRecipient("bob@remote.test"))
    runner = QueueRunner(app)
    await runner.run_due()
    await runner.idle()
    item = await app.store.get_queue_item(item_id)
    assert item is not None and item.recipients[0].status == "pending"
    assert "mx.remote.test" in item.recipients[0].last_reply or str(port) in item.recipients[0].last_reply


async def test_unknown_domain_fails(app: App, mx: FakeMX) -> None:
    await enqueue(app, QueueRecipient("x@nowhere.test"))
    runner = QueueRunner(app)
    await runner.run_due()
    await runner.idle()
    [report] = await inbox_messages(app, "alice@example.org")
    assert b"Status: 5.4.4" in report


async def test_opportunistic_starttls(tmp_path: Path, app: App, mx: FakeMX) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("mx.remote.test").configure_cert(server_ctx)
    mx.tls_context = server_ctx
    await enqueue(app, QueueRecipient("bob@remote.test"))
    await start_queue(app)
    [tx] = await mx.wait_for(1)
    assert tx.tls


async def test_restart_delivers_what_was_queued(tmp_path: Path, mx: FakeMX) -> None:
    settings = make_settings(tmp_path, mx)
    first = await open_app(settings)
    await first.accounts.add_domain("example.org")
    await first.accounts.add_user("alice@example.org", PASSWORD)
    await enqueue(first, QueueRecipient("bob@remote.test"))
    # The first process claims the item, then dies before delivering it.
    claimed = await first.store.claim_queue(settings.node, time.time(), 3600, 10)
    assert len(claimed) == 1
    await first.close()
    second = await open_app(settings)
    try:
        await start_queue(second)
        [tx] = await mx.wait_for(1)
        assert tx.recipients == ["bob@remote.test"]
        await until(lambda: _queue_empty(second))
    finally:
        await close_app(second)


@pytest.mark.parametrize(("process", "released"), [
    # worker 0 of 2: its own slot, a slot beyond the count, the single process of before
    (NodeProcess("mail.example.org", 0, 2), {"mail.example.org/w0", "mail.example.org/w2",
                                             "mail.example.org"}),
    # one process after running workers: every worker slot
    (NodeProcess("mail.example.org"), {"mail.example.org/w0", "mail.example.org/w1",
                                       "mail.example.org/w2", "mail.example.org"}),
])
async def test_claims_of_processes_this_node_no_longer_runs_are_released_at_start(
        tmp_path: Path, mx: FakeMX, process: NodeProcess, released: set[str]) -> None:
    """After `workers` is lowered (or changed from or to 1), what a worker slot the
    node no longer runs had claimed is due at once, not when its claim lapses."""
    app = await open_app(make_settings(tmp_path, mx))
    try:
        holders = ["mail.example.org/w0", "mail.example.org/w1", "mail.example.org/w2",
                   "mail.example.org", "other.example.org/w2"]
        holder_of = {}
        for holder in holders:
            holder_of[await enqueue(app, QueueRecipient("bob@remote.test"))] = holder
            assert len(await app.store.claim_queue(holder, time.time(), 1800, 1)) == 1
        app.process = process
        await QueueRunner(app).release_own_claims()
        queue = await app.store.list_queue()
        assert {holder_of[i.id] for i in queue if not i.claimed_by} == released
        # a live slot's claim and another node's stay
        assert {i.claimed_by for i in queue if i.claimed_by} == set(holders) - released
    finally:
        await close_app(app)


async def test_smarthost_takes_everything(tmp_path: Path, mx: FakeMX) -> None:
    settings = from_dict({
        "hostname": "mail.example.org", "data_dir": str(tmp_path / "var"),
        "relay": {"host": "127.0.0.1", "port": mx.port, "tls": "none"},
        "dns": {"static": {"A unused.test": ["192.0.2.1"]}},
    })
    app = await open_app(settings)
    try:
        await app.accounts.add_domain("example.org")
        await enqueue(app, QueueRecipient("a@one.test"), QueueRecipient("b@two.test"))
        runner = await start_queue(app)
        [tx] = await mx.wait_for(1)
        assert sorted(tx.recipients) == ["a@one.test", "b@two.test"]
        await runner.idle()
    finally:
        await close_app(app)
