"""POP3 TRANSACTION and UPDATE states, byte-exact: the snapshot, dot-stuffed
streaming, TOP, deletion marks, and what QUIT (and only QUIT) changes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from postbus.app import App
from postbus.pop3 import transaction
from postbus.store.model import INBOX
from tests.support.mail import deliver
from tests.unit.pop3.pop3_helpers import ANNA, connect, inbox_uids, message

TRICKY = (b"From: bob@example.test\r\nSubject: dots\r\n\r\n"
          b".leading dot\r\n..two dots\r\n.\r\nlast line without CRLF")
NO_BODY = b"Subject: header only\r\nX-A: 1\r\n"


async def _uid_validity(app: App) -> int:
    account = await app.store.get_account(ANNA)
    assert account is not None
    inbox = await app.store.get_mailbox(account.id, INBOX)
    assert inbox is not None
    return inbox.uid_validity


async def test_stat_list_uidl(app: App) -> None:
    one, two = message("one"), message("two", "x" * 1000 + "\r\n")
    a = await deliver(app, ANNA, one)
    b = await deliver(app, ANNA, two)
    v = await _uid_validity(app)
    async with connect(app) as client:
        assert await client.login() == (
            f"+OK Logged in, maildrop has 2 messages ({len(one) + len(two)} octets)\r\n".encode())
        assert await client.cmd("STAT") == f"+OK 2 {len(one) + len(two)}\r\n".encode()
        assert await client.cmd("LIST") == (
            f"+OK 2 messages ({len(one) + len(two)} octets)\r\n"
            f"1 {len(one)}\r\n2 {len(two)}\r\n.\r\n").encode()
        assert await client.cmd("LIST 2") == f"+OK 2 {len(two)}\r\n".encode()
        assert await client.cmd("LIST 3") == b"-ERR No such message\r\n"
        assert await client.cmd("UIDL") == (
            f"+OK Unique-ID listing follows\r\n1 {v}.{a.uid}\r\n2 {v}.{b.uid}\r\n.\r\n").encode()
        assert await client.cmd("UIDL 1") == f"+OK 1 {v}.{a.uid}\r\n".encode()
        assert await client.cmd("NOOP") == b"+OK\r\n"


async def test_retr_is_byte_exact_and_dot_stuffed(app: App) -> None:
    await deliver(app, ANNA, TRICKY)
    async with connect(app) as client:
        await client.login()
        assert await client.cmd("RETR 1") == (
            f"+OK {len(TRICKY)} octets\r\n".encode()
            + b"From: bob@example.test\r\nSubject: dots\r\n\r\n"
            + b"..leading dot\r\n...two dots\r\n..\r\nlast line without CRLF\r\n.\r\n")
        assert await client.cmd("RETR 2") == b"-ERR No such message\r\n"
        assert await client.cmd("RETR 0") == b"-ERR Invalid number\r\n"


async def test_top(app: App) -> None:
    await deliver(app, ANNA, TRICKY)
    await deliver(app, ANNA, NO_BODY)
    head = b"+OK Top of message follows\r\nFrom: bob@example.test\r\nSubject: dots\r\n\r\n"
    async with connect(app) as client:
        await client.login()
        assert await client.cmd("TOP 1 0") == head + b".\r\n"
        assert await client.cmd("TOP 1 2") == head + b"..leading dot\r\n...two dots\r\n.\r\n"
        assert await client.cmd("TOP 1 99") == (
            head + b"..leading dot\r\n...two dots\r\n..\r\nlast line without CRLF\r\n.\r\n")
        # a message without a blank line gets one, as RFC 1939 §7 describes the answer
        assert await client.cmd("TOP 2 5") == (
            b"+OK Top of message follows\r\nSubject: header only\r\nX-A: 1\r\n\r\n.\r\n")
        assert await client.cmd("TOP 3 1") == b"-ERR No such message\r\n"


async def test_dele_rset_and_marks(app: App) -> None:
    for n in range(3):
        await deliver(app, ANNA, message(f"m{n}"))
    size = len(message("m0"))
    async with connect(app) as client:
        await client.login()
        assert await client.cmd("DELE 2") == b"+OK Message 2 deleted\r\n"
        assert await client.cmd("DELE 2") == b"-ERR Message is marked deleted\r\n"
        for line in ("RETR 2", "TOP 2 0", "LIST 2", "UIDL 2"):
            assert await client.cmd(line) == b"-ERR Message is marked deleted\r\n"
        assert await client.cmd("STAT") == f"+OK 2 {2 * size}\r\n".encode()
        listing = await client.cmd("LIST")
        assert listing.endswith(f"1 {size}\r\n3 {size}\r\n.\r\n".encode())
        assert await client.cmd("RSET") == f"+OK Maildrop has 3 messages ({3 * size} octets)\r\n".encode()
        assert await client.cmd("LIST 2") == f"+OK 2 {size}\r\n".encode()


async def test_quit_expunges_in_one_call_frees_quota_and_notifies(app: App,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    appended = [await deliver(app, ANNA, message(f"m{n}")) for n in range(4)]
    account = await app.store.get_account(ANNA)
    assert account is not None
    used = account.used_bytes
    calls: list[list[int]] = []
    real_expunge = app.store.expunge

    async def spy(mailbox_id: int, uids: Any) -> list[int]:
        calls.append(list(uids))
        return await real_expunge(mailbox_id, uids)

    monkeypatch.setattr(app.store, "expunge", spy)
    inbox = await app.store.get_mailbox(account.id, INBOX)
    assert inbox is not None
    with app.store.changes.subscribe(account.id) as sub:
        async with connect(app) as client:
            await client.login()
            await client.send(b"DELE 1\r\nDELE 3\r\nRETR 2\r\n")
            assert await inbox_uids(app) == [a.uid for a in appended]  # nothing before QUIT
            assert not sub.pending()
            assert await client.cmd("QUIT") == b"+OK Postbus POP3 signing off (2 messages left)\r\n"
        assert await sub.wait(5)
        assert {c.mailbox_id for c in sub.pending()} == {inbox.id}
    assert calls == [[appended[0].uid, appended[2].uid]]
    assert await inbox_uids(app) == [appended[1].uid, appended[3].uid]
    after = await app.store.get_account(ANNA)
    assert after is not None
    assert after.used_bytes == used - 2 * len(message("m0")) and after.used_messages == 2
    # RETR marked the kept message \Seen, as Dovecot does at QUIT; the other stays unseen
    infos = await app.store.fetch_info(inbox.id, [appended[1].uid, appended[3].uid])
    assert ["\\Seen" in i.flags for i in infos] == [True, False]
    changes = await app.store.changes_since(inbox.id, 0)
    assert changes.expunged == (appended[0].uid, appended[2].uid)


async def test_dropped_connection_deletes_nothing(app: App) -> None:
    appended = [await deliver(app, ANNA, message(f"m{n}")) for n in range(2)]
    async with connect(app) as client:
        await client.login()
        await client.send(b"DELE 1\r\nDELE 2\r\nRETR 1\r\n")
        await client.drop()
    assert await inbox_uids(app) == [a.uid for a in appended]
    async with connect(app) as again:  # the lock was released
        assert (await again.login()).startswith(b"+OK Logged in, maildrop has 2 messages")


async def test_snapshot_is_fixed_for_the_session(app: App) -> None:
    first = await deliver(app, ANNA, message("first"))
    async with connect(app) as client:
        await client.login()
        await deliver(app, ANNA, message("late"))
        assert (await client.cmd("STAT")).startswith(b"+OK 1 ")
        # IMAP (or webmail) expunges the message meanwhile: numbers stay, QUIT copes
        account = await app.store.get_account(ANNA)
        assert account is not None
        inbox = await app.store.get_mailbox(account.id, INBOX)
        assert inbox is not None
        await app.store.expunge(inbox.id, [first.uid])
        assert (await client.cmd("LIST 1")).startswith(b"+OK 1 ")
        assert await client.cmd("DELE 1") == b"+OK Message 1 deleted\r\n"
        assert await client.cmd("QUIT") == b"+OK Postbus POP3 signing off (0 messages left)\r\n"
    assert len(await inbox_uids(app)) == 1  # the late one


async def test_message_gone_from_the_blob_store_gets_err(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    await deliver(app, ANNA, message("gone"))

    async def missing(blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        raise FileNotFoundError(blob_id)

    async with connect(app) as client:
        await client.login()
        monkeypatch.setattr(app.store, "read_blob", missing)
        assert await client.cmd("RETR 1") == b"-ERR Message was removed by another session\r\n"
        assert await client.cmd("NOOP") == b"+OK\r\n"


async def test_large_message_is_streamed_in_chunks_with_flow_control(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    body = b"".join(b"." + str(i).encode() + b" " + b"y" * 70 + b"\r\n" for i in range(40_000))
    raw = b"Subject: big\r\n\r\n" + body
    await deliver(app, ANNA, raw)
    reads: list[int] = []
    real_read = app.store.read_blob

    async def spy(blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        reads.append(length)
        return await real_read(blob_id, offset, length)

    monkeypatch.setattr(app.store, "read_blob", spy)
    async with connect(app, high_water=128 * 1024) as client:
        await client.login()
        client.session.data_received(b"RETR 1\r\n")
        received = bytearray()

        async def blocked_or_done() -> None:
            while not (client.transport.paused or client.session.idle.is_set()):
                await asyncio.sleep(0.001)

        pauses = 0
        while True:
            await asyncio.wait_for(blocked_or_done(), 10)
            pauses += client.transport.paused
            received += client.transport.drain_client()
            if client.session.idle.is_set():
                break
    assert pauses > 10  # the session really waited for the client to read
    assert 0 < max(reads) <= transaction.CHUNK and -1 not in reads
    assert client.transport.written_while_paused == 0
    expected = f"+OK {len(raw)} octets\r\n".encode() + raw.replace(b"\r\n.", b"\r\n..") + b".\r\n"
    assert bytes(received) == expected


async def test_pipelined_commands_are_answered_in_order(app: App) -> None:
    await deliver(app, ANNA, message("p"))
    async with connect(app) as client:
        await client.login()
        out = await client.send(b"NOOP\r\nSTAT\r\nBOGUS\r\nLIST 1\r\nNOOP\r\n")
        size = len(message("p"))
        assert out == (b"+OK\r\n" + f"+OK 1 {size}\r\n".encode() + b"-ERR Unknown command\r\n"
                       + f"+OK 1 {size}\r\n".encode() + b"+OK\r\n")
