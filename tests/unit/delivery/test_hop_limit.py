"""RFC 5321 §6.3: mail that would go out again with more than MAX_HOPS Received
fields is in a loop between hosts (forwarding here, forwarding back there) and
is refused with 5.4.6; mail that stays here is not affected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.app import App
from postbus.config import from_dict
from postbus.delivery.pipeline import MAX_HOPS, Delivery, DeliveryRefused, Envelope, Recipient
from postbus.delivery.rules import Rules
from postbus.delivery.trace import ClientInfo


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = App(from_dict({"data_dir": str(tmp_path), "hostname": "mx.example.test"}))
    await app.open()
    await app.store.add_domain("example.test")
    for name in ("anna", "fwd"):
        await app.store.add_account(f"{name}@example.test", "x", quota_bytes=0)
    await Rules(app.store).set_forward("fwd@example.test", ["dave@remote.test"], keep_copy=True)
    yield app
    await app.close()


def _message(hops: int) -> bytes:
    trace = "".join(f"Received: from h{i}.remote.test by h{i + 1}.remote.test;\r\n"
                    f" Thu, 3 Dec 2026 15:00:{i % 60:02d} +0000\r\n" for i in range(hops))
    return (trace + "From: x@remote.test\r\nTo: fwd@example.test\r\nSubject: loop\r\n\r\nhi\r\n").encode()


async def _deliver(app: App, to: str, hops: int) -> None:
    envelope = Envelope("x@remote.test", [Recipient(to)], client=ClientInfo(ip="192.0.2.1", helo="h"))
    await Delivery(app).deliver_bytes(envelope, _message(hops))


async def test_a_message_going_round_is_refused(app: App) -> None:
    # our own Received field is the one more that crosses the limit
    with pytest.raises(DeliveryRefused) as refused:
        await _deliver(app, "fwd@example.test", MAX_HOPS)
    assert refused.value.enhanced == "5.4.6" and not refused.value.temporary
    assert await app.store.list_queue() == []


async def test_below_the_limit_and_local_mail_pass(app: App) -> None:
    await _deliver(app, "fwd@example.test", MAX_HOPS - 1)
    assert len(await app.store.list_queue()) == 1
    await _deliver(app, "anna@example.test", MAX_HOPS * 2)  # stays here: no loop check
