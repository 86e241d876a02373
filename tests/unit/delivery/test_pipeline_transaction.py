"""The pipeline writes each message with one store call (`deliver_message`),
whether it goes to local mailboxes, to the queue, or to both (forwarding with a
kept copy, an alias with a remote target), and so does a vacation reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from postbus.app import App
from postbus.config import from_dict
from postbus.delivery.pipeline import Delivery, Envelope, Recipient
from postbus.delivery.rules import Rules, Vacation

WRITES = ("append", "deliver", "enqueue", "deliver_message")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = App(from_dict({"data_dir": str(tmp_path), "hostname": "mx.example.test"}))
    await app.open()
    await app.store.add_domain("example.test")
    for name in ("anna", "bob"):
        await app.store.add_account(f"{name}@example.test", "x", quota_bytes=0)
    yield app
    await app.close()


@pytest.fixture
def writes(app: App, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the store's message writes, in call order."""
    calls: list[str] = []
    for name in WRITES:
        real = getattr(app.store, name)

        async def spy(*args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
            calls.append(_name)
            return await _real(*args, **kw)

        monkeypatch.setattr(app.store, name, spy)
    return calls


def _message(to: str) -> bytes:
    return (f"From: x@remote.test\r\nTo: {to}\r\nSubject: hi\r\n"
            "Message-ID: <m@remote.test>\r\n\r\nbody\r\n").encode()


@pytest.mark.parametrize(("rcpts", "local", "queued"), [
    (["anna@example.test", "bob@example.test"], 2, False),
    (["carol@remote.test"], 0, True),
    (["anna@example.test", "carol@remote.test"], 1, True),
    (["fwd@example.test"], 1, True),  # forwarding with a kept copy
    (["team@example.test"], 2, True),  # an alias to two mailboxes and a remote address
], ids=["local", "remote", "both", "forward-keep-copy", "alias"])
async def test_one_store_call_per_message(app: App, writes: list[str], rcpts: list[str],
                                          local: int, queued: bool) -> None:
    await app.store.add_account("fwd@example.test", "x", quota_bytes=0)
    await Rules(app.store).set_forward("fwd@example.test", ["dave@remote.test"], keep_copy=True)
    await app.store.set_alias("team@example.test", ["anna@example.test", "bob@example.test",
                                                    "erin@remote.test"])
    delivery = Delivery(app)
    writes.clear()
    outcome = await delivery.deliver_bytes(Envelope("x@remote.test", [Recipient(r) for r in rcpts]),
                                           _message(rcpts[0]))
    assert writes == ["deliver_message"]
    assert len(outcome.delivered) == local and (outcome.queue_id is not None) == queued


async def test_vacation_reply_is_one_store_call(app: App, writes: list[str]) -> None:
    await Rules(app.store).set_vacation("anna@example.test", Vacation("Away", "Back soon."))
    delivery = Delivery(app)
    writes.clear()
    await delivery.deliver_bytes(Envelope("x@remote.test", [Recipient("anna@example.test")]),
                                 _message("anna@example.test"))
    for task in list(app._background):  # the reply is sent after the commit
        await task
    assert writes == ["deliver_message", "deliver_message"]
    (reply,) = await app.store.list_queue()
    assert reply.sender == "" and [r.address for r in reply.recipients] == ["x@remote.test"]
