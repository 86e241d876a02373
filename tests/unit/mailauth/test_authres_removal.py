"""RFC 8601 §5 on the MX: an incoming Authentication-Results field that carries our
authserv-id is forged and removed before ours is added; another ADMD's is kept
(issue 10 item 7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.app import App
from postbus.config import from_dict
from postbus.delivery import sink as sink_mod
from postbus.delivery.pipeline import Delivery, Envelope, Recipient
from postbus.delivery.trace import ClientInfo
from postbus.mailauth.authres import authserv_id_of, remove_ours
from postbus.mailauth.resolver import StaticResolver

HOST = "mx.example.test"
FORGED = b"Authentication-Results: mx.example.test; dkim=pass header.d=bank.example\r\n"
OTHERS = b"Authentication-Results: relay.other.example; spf=pass smtp.mailfrom=x@other.example\r\n"


def test_ours_goes_others_stay() -> None:
    message = (b"Received: from a by b\r\n" + FORGED + OTHERS
               + b"authentication-results:\r\n (forged, folded) MX.Example.Test.;\r\n\tspf=pass\r\n"
               + b'Authentication-Results: "mx.example.test" 1; dmarc=pass\r\n'
               + b"Subject: hi\r\n\r\n" + FORGED)  # the body is not the header
    assert remove_ours(message, HOST) == (
        b"Received: from a by b\r\n" + OTHERS + b"Subject: hi\r\n\r\n" + FORGED)


def test_nothing_to_remove_returns_the_message_itself() -> None:
    message = b"Subject: hi\r\n" + OTHERS + b"\r\nbody\r\n"
    assert remove_ours(message, HOST) is message
    # a prefix of our name, or ours in a comment only, is another authserv-id
    for field in (b"Authentication-Results: mx.example.test.evil; none\r\n",
                  b"Authentication-Results: (mx.example.test) evil.example; none\r\n",
                  b"X-Authentication-Results: mx.example.test; none\r\n"):
        assert remove_ours(field + b"\r\n", HOST) == field + b"\r\n"


def test_authserv_id_grammar() -> None:
    assert authserv_id_of(" mx.example.test; none") == "mx.example.test"
    assert authserv_id_of(" (c (nested) \\) ) mx.example.test 1;\r\n spf=pass") == "mx.example.test"
    assert authserv_id_of(' "mx.\\example.test";') == "mx.example.test"
    assert authserv_id_of(" ; none") is None and authserv_id_of(" (unclosed") is None


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = App(from_dict({"data_dir": str(tmp_path), "hostname": HOST}))
    app.services["resolver"] = StaticResolver({})
    await app.open()
    await app.store.add_domain("example.test")
    await app.store.add_account("anna@example.test", "x", quota_bytes=0)
    yield app
    await app.close()


@pytest.mark.parametrize("size", [100, 400_000])  # spooled in memory, and in a file
async def test_the_mx_stores_the_message_without_the_forged_field(
    app: App, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sink_mod, "SPOOL_MEMORY_LIMIT", 1000)
    delivery = Delivery(app)
    body = b"x" * size + b"\r\n"
    raw = FORGED + OTHERS + b"From: a@bank.example\r\nSubject: pay\r\n\r\n" + body
    envelope = Envelope("a@bank.example", [Recipient("anna@example.test")],
                        client=ClientInfo(ip="192.0.2.7", helo="bank.example"), mx=True)
    outcome = await delivery.deliver_bytes(envelope, raw)
    appended = outcome.delivered[0]
    [info] = await app.store.fetch_info(appended.mailbox_id, [appended.uid])
    stored = await app.store.read_blob(info.blob_id)
    head = stored[: stored.index(b"\r\n\r\n") + 4]
    ours = [line for line in head.split(b"\r\n") if line.startswith(b"Authentication-Results:")]
    assert ours == [b"Authentication-Results: mx.example.test;", OTHERS.rstrip(b"\r\n")]
    assert b"dkim=pass header.d=bank.example" not in stored
    assert stored.endswith(OTHERS + b"From: a@bank.example\r\nSubject: pay\r\n\r\n" + body)
