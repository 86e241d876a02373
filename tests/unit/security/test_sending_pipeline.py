"""The in-process submission path (what the webmail uses): `Delivery.deliver_bytes`
with `Envelope.submitter` takes the sending limits, and the notice reaches postmaster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus import config
from postbus.app import App
from postbus.delivery.pipeline import Delivery, DeliveryRefused, Envelope, Recipient

PASSWORD = "Tq7#mZ2v!pLx"
ANNA = "anna@example.test"
POSTMASTER = "postmaster@example.test"
MESSAGE = f"From: {ANNA}\r\nTo: bob@example.test\r\nSubject: hi\r\n\r\nhello\r\n".encode()


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = config.from_dict({"data_dir": str(tmp_path), "hostname": "mail.example.test",
                                 "security": {"mailbox_messages_per_hour": 2}})
    app = App(settings)
    await app.open()
    await app.accounts.add_domain("example.test")
    for address in (ANNA, "bob@example.test", POSTMASTER):
        await app.accounts.add_user(address, PASSWORD)
    yield app
    await app.close()


async def test_in_process_submissions_take_the_limits(app: App) -> None:
    delivery = Delivery(app)

    def envelope() -> Envelope:
        return Envelope(ANNA, [Recipient("bob@example.test")], submitter=ANNA)

    for _ in range(2):
        await delivery.deliver_bytes(envelope(), MESSAGE)
    with pytest.raises(DeliveryRefused) as refused:
        await delivery.deliver_bytes(envelope(), MESSAGE)
    assert refused.value.enhanced == "4.7.1" and refused.value.temporary
    # not a submission (no submitter): no limit
    await delivery.deliver_bytes(Envelope(ANNA, [Recipient("bob@example.test")]), MESSAGE)
    bob = await app.store.get_account("bob@example.test")
    postmaster = await app.store.get_account(POSTMASTER)
    assert bob is not None and postmaster is not None
    inbox = await app.store.get_mailbox(bob.id, "INBOX")
    assert inbox is not None and len(await app.store.list_messages(inbox.id)) == 3
    pm_inbox = await app.store.get_mailbox(postmaster.id, "INBOX")
    assert pm_inbox is not None
    for _ in range(100):  # the notice is sent off the reply's path
        if await app.store.list_messages(pm_inbox.id):
            break
        await asyncio.sleep(0.05)
    assert len(await app.store.list_messages(pm_inbox.id)) == 1
