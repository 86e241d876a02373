"""A store refusal's own text never reaches an IMAP client: it may name internal
things (a body's blob id). The client reads a fixed text for the kind of refusal,
the log has the detail with the client's address (issue 10 item 5)."""

from __future__ import annotations

import logging
import re

import pytest

from postbus.mailbox.errors import NotFound, OverQuota
from tests.unit.imap.harness import Harness

BLOB_ID = "9f2c4e0b7a1d3c5e8f60718293a4b5c6d7e8f90123456789abcdef0123456789"


async def test_a_store_detail_stays_in_the_log(
    imap: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def lost_body(*args: object, **kwargs: object) -> None:
        raise NotFound(f"message body {BLOB_ID} is not stored")

    monkeypatch.setattr(imap.app.mailboxes, "create", lost_body)
    client = await imap.client()
    with caplog.at_level(logging.INFO, logger="postbus.imap"):
        reply = await client.command("CREATE Projects")
    assert reply == [b"TAG NO [NONEXISTENT] No such folder or message\r\n"]
    assert BLOB_ID.encode() not in b"".join(reply)
    line = next(r.getMessage() for r in caplog.records if BLOB_ID in r.getMessage())
    assert re.fullmatch(r"proto=imap listener=imaps ip=127\.0\.0\.1 port=\d+ CREATE refused for "
                        rf"alice@example\.test: NotFound: message body {BLOB_ID} is not stored", line)
    assert await client.command("NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_each_kind_has_its_fixed_text(imap: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    async def over(*args: object, **kwargs: object) -> None:
        raise OverQuota("quota of account 17 exceeded by 4096 octets in table messages")

    monkeypatch.setattr(imap.app.mailboxes, "create", over)
    client = await imap.client()
    assert await client.command("CREATE Projects") == [b"TAG NO [OVERQUOTA] Quota exceeded\r\n"]


async def test_the_services_own_wording_is_kept(imap: Harness) -> None:
    client = await imap.client()
    assert await client.command("SELECT Missing") == [
        b"TAG NO [NONEXISTENT] No folder named Missing\r\n"]
