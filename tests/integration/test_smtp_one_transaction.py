"""One message, one transaction: what the MX stores for a message it did not answer 250 to.

An in-process server (tests/unit/smtp/harness.py) on the embedded store, or on
PostgreSQL when POSTBUS_TEST_STORAGE=postgresql. A failure is injected inside
the store, in the SQL that writes the queue item, so the test sees exactly what
a crash between the local copies and the queue item would leave behind.
Checked: a message refused with 451 left no local copy and no queue item, so
the sender's retry does not duplicate it; a message whose every mailbox
vanished between RCPT and the end of DATA gets no 250; one whose mailboxes
partly vanished gets a 250 and a bounce for the vanished recipients.
"""

from __future__ import annotations

import email
import email.policy
import importlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from postbus.delivery.rules import Rules
from postbus.store.model import QueueItem
from tests.unit.smtp.harness import DOMAIN, Client, Harness, message, smtp_app

ANNA, BOB = f"anna@{DOMAIN}", f"bob@{DOMAIN}"
SENDER = "x@remote.test"
FORWARD_TARGET = "carol@remote.test"


@contextmanager
def _storage() -> Any:
    if os.environ.get("POSTBUS_TEST_STORAGE") != "postgresql":
        yield {}
        return
    from tests.support.pg import throwaway_database

    with throwaway_database() as url:
        yield {"storage": {"backend": "postgresql", "url": url}}


@asynccontextmanager
async def served(tmp_path: Path) -> AsyncIterator[Harness]:
    with _storage() as storage:
        async with smtp_app(tmp_path, **storage) as h:
            yield h


def _backend_sql(h: Harness, module: str) -> Any:
    """The SQL module `module` of the backend the harness runs on."""
    package = type(h.app.store).__module__.rsplit(".", 1)[0]
    return importlib.import_module(f"{package}.{module}")


async def _send(c: Client, rcpts: list[str], subject: str, *, data_code: int,
                between: Any = None) -> list[str]:
    await c.expect("EHLO client.localhost", 250)
    await c.expect(f"MAIL FROM:<{SENDER}>", 250)
    for rcpt in rcpts:
        await c.expect(f"RCPT TO:<{rcpt}>", 250)
    if between is not None:
        await between()
    await c.expect("DATA", 354)
    return await c.expect(message(subject) + b"\r\n.", data_code)


@pytest.mark.allow_errors  # the injected failure is logged as a server fault
async def test_failed_queue_write_leaves_no_local_copy_and_retry_does_not_duplicate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with served(tmp_path) as h:
        # anna forwards to a remote address and keeps a copy: her copy and the
        # forwarded one belong to one message, so to one transaction
        await Rules(h.app.store).set_forward(ANNA, [FORWARD_TARGET], keep_copy=True)
        sql = _backend_sql(h, "outbound")
        real_enqueue = sql.enqueue
        failures = []

        def failing_enqueue(*args: Any) -> Any:
            failures.append(args)
            raise RuntimeError("injected: the queue write fails")

        monkeypatch.setattr(sql, "enqueue", failing_enqueue)
        c = await h.connect()
        await _send(c, [ANNA, BOB], "first try", data_code=451)
        assert failures, "the injected failure did not run"
        # no 250, so nothing may be stored: the sender will send it again
        assert await h.inbox(ANNA) == [] and await h.inbox(BOB) == []
        assert await h.queued() == []
        for address in (ANNA, BOB):
            account = await h.app.store.get_account(address)
            assert account is not None and (account.used_messages, account.used_bytes) == (0, 0)

        monkeypatch.setattr(sql, "enqueue", real_enqueue)
        await c.expect("RSET", 250)
        await c.expect(f"MAIL FROM:<{SENDER}>", 250)
        for rcpt in (ANNA, BOB):
            await c.expect(f"RCPT TO:<{rcpt}>", 250)
        await c.expect("DATA", 354)
        await c.expect(message("first try") + b"\r\n.", 250)
        assert len(await h.inbox(ANNA)) == 1 and len(await h.inbox(BOB)) == 1
        (item,) = await h.queued()
        assert [r.address for r in item.recipients] == [FORWARD_TARGET]


@pytest.mark.parametrize("cached", [False, True], ids=["first-delivery", "inbox-cached"])
async def test_every_mailbox_vanished_is_not_a_250(tmp_path: Path, cached: bool) -> None:
    async with served(tmp_path) as h:
        c = await h.connect()
        if cached:  # the pipeline has seen bob's Inbox before
            await _send(c, [BOB], "earlier", data_code=250)
            await c.expect("RSET", 250)

        async def remove_bob() -> None:
            await h.app.store.remove_account(BOB)

        text = await _send(c, [BOB], "vanishing", data_code=554, between=remove_bob)
        assert text[0].startswith("5.1.1 ")
        assert await h.queued() == []  # no bounce either: the client was told
        # the session goes on
        await c.expect("RSET", 250)
        await _send(c, [ANNA], "next", data_code=250)
        assert len(await h.inbox(ANNA)) == 1


async def test_some_mailboxes_vanished_is_a_250_and_a_bounce(tmp_path: Path) -> None:
    async with served(tmp_path) as h:
        c = await h.connect()

        async def remove_bob() -> None:
            await h.app.store.remove_account(BOB)

        await _send(c, [ANNA, BOB], "half there", data_code=250, between=remove_bob)
        assert len(await h.inbox(ANNA)) == 1
        (bounce,) = await h.queued()
        assert _dsn_about(bounce, await h.app.store.read_blob(bounce.blob_id)) == [
            (f"rfc822;{BOB}", "failed", "5.1.1")]


async def test_vanished_recipient_with_notify_never_gets_no_bounce(tmp_path: Path) -> None:
    async with served(tmp_path) as h:
        c = await h.connect()
        await c.expect("EHLO client.localhost", 250)
        await c.expect(f"MAIL FROM:<{SENDER}>", 250)
        await c.expect(f"RCPT TO:<{ANNA}>", 250)
        await c.expect(f"RCPT TO:<{BOB}> NOTIFY=NEVER", 250)
        await h.app.store.remove_account(BOB)
        await c.expect("DATA", 354)
        await c.expect(message("quiet") + b"\r\n.", 250)
        assert len(await h.inbox(ANNA)) == 1
        assert await h.queued() == []


def _dsn_about(item: QueueItem, raw: bytes) -> list[tuple[str, str, str]]:
    """(Final-Recipient, Action, Status) of each recipient block of the DSN in `item`."""
    assert item.sender == "" and [r.address for r in item.recipients] == [SENDER]
    report = email.message_from_bytes(raw, policy=email.policy.default)
    assert report.get_content_type() == "multipart/report"
    status = next(p for p in report.walk() if p.get_content_type() == "message/delivery-status")
    blocks = status.get_payload()[1:]  # the per-message block first (RFC 3464 §2.1)
    return [(b["Final-Recipient"].replace(" ", ""), b["Action"], b["Status"]) for b in blocks]
