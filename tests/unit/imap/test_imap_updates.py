"""Two sessions on one folder: what each is told about the other's changes, and when.

RFC 9051 §7.5.1 / RFC 3501 §7.4.1: EXPUNGE responses are not sent while
answering FETCH, STORE or SEARCH (held back for COPY and SORT too); they come
after NOOP, IDLE, UID commands and the like.  New messages (EXISTS) and flag
changes (FETCH FLAGS) may come after any command.  IDLE pushes all three.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from pathlib import Path

import aiosmtplib

from postbus.imap.session import ImapSession
from tests.unit.imap.harness import USER, Client, Harness, message, running


async def _two_sessions(imap: Harness, count: int = 3) -> tuple[Client, Client]:
    for n in range(count):
        await imap.deliver(message(f"m{n + 1}"))
    a = await imap.client()
    b = await imap.client()
    await a.ok("SELECT INBOX")
    await b.ok("SELECT INBOX")
    return a, b


async def test_expunge_is_held_back_during_fetch_store_search_then_sent(imap: Harness) -> None:
    a, b = await _two_sessions(imap)
    await a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    assert await a.command("EXPUNGE") == [b"* 2 EXPUNGE\r\n", b"TAG OK EXPUNGE completed\r\n"]
    # B still numbers the expunged message 2: FETCH skips it and says so.
    assert await b.command("FETCH 1:3 (UID)") == [
        b"* 1 FETCH (UID 1)\r\n",
        b"* 3 FETCH (UID 3)\r\n",
        b"TAG OK [EXPUNGEISSUED] Some messages were already expunged\r\n",
    ]
    assert await b.command("STORE 3 +FLAGS (\\Seen)") == [
        b"* 3 FETCH (FLAGS (\\Seen))\r\n", b"TAG OK STORE completed\r\n"]
    assert await b.command("SEARCH ALL") == [
        b"* SEARCH 1 2 3\r\n", b"TAG OK SEARCH completed\r\n"]
    assert await b.command("COPY 2 Trash") == [
        b"TAG OK [EXPUNGEISSUED] Some messages were already expunged\r\n"]
    assert await b.command("NOOP") == [b"* 2 EXPUNGE\r\n", b"TAG OK NOOP completed\r\n"]
    assert await b.command("FETCH 1:* (UID)") == [
        b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 3)\r\n", b"TAG OK FETCH completed\r\n"]


async def test_uid_commands_may_carry_the_expunge(imap: Harness) -> None:
    a, b = await _two_sessions(imap)
    await a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    await a.ok("EXPUNGE")
    assert await b.command("UID FETCH 3 (FLAGS)") == [
        b"* 3 FETCH (UID 3 FLAGS ())\r\n", b"* 1 EXPUNGE\r\n", b"TAG OK UID FETCH completed\r\n"]


async def test_new_messages_and_flag_changes_are_announced(imap: Harness) -> None:
    a, b = await _two_sessions(imap, 2)
    await a.ok("STORE 2 +FLAGS.SILENT (\\Flagged)")
    await imap.deliver(message("new"))
    assert await b.command("FETCH 1 (UID)") == [
        b"* 1 FETCH (UID 1)\r\n",
        b"* 3 EXISTS\r\n",
        b"* 1 RECENT\r\n",
        b"* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\n",
        b"TAG OK FETCH completed\r\n",
    ]
    # Nothing is announced twice, and a session's own changes are not echoed.
    assert await b.command("NOOP") == [b"TAG OK NOOP completed\r\n"]
    await b.ok("STORE 1 +FLAGS.SILENT (\\Seen)")
    assert await b.command("NOOP") == [b"TAG OK NOOP completed\r\n"]
    # B was told of message 3 first and claimed it; A's \\Recent are still 1 and 2.
    assert await a.command("NOOP") == [
        b"* 3 EXISTS\r\n", b"* 2 RECENT\r\n",
        b"* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))\r\n",
        b"TAG OK NOOP completed\r\n"]


async def test_a_message_added_and_removed_between_commands_is_never_seen(imap: Harness) -> None:
    _a, b = await _two_sessions(imap, 1)
    appended = await imap.deliver(message("flash"))
    await imap.app.store.expunge(appended.mailbox_id, [appended.uid])
    assert await b.command("NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_idle_is_woken_within_100_ms_by_a_delivery(imap: Harness) -> None:
    a, b = await _two_sessions(imap, 1)
    await b.send(b"i1 IDLE\r\n")
    assert await b.response() == b"+ idling\r\n"
    started = time.monotonic()
    await imap.deliver(message("pushed"))
    assert await b.response(timeout=1) == b"* 2 EXISTS\r\n"
    elapsed = time.monotonic() - started
    assert await b.response(timeout=1) == b"* 1 RECENT\r\n"
    assert elapsed < 0.1, f"IDLE took {elapsed * 1000:.0f} ms"
    # Expunges and flag changes by another session are pushed too.
    await a.ok("STORE 1 +FLAGS.SILENT (\\Deleted \\Seen)")
    assert await b.response(timeout=1) == b"* 1 FETCH (UID 1 FLAGS (\\Deleted \\Seen))\r\n"
    await a.ok("EXPUNGE")
    assert await b.response(timeout=1) == b"* 1 EXPUNGE\r\n"
    await b.send(b"DONE\r\n")
    assert await b.response() == b"i1 OK IDLE completed\r\n"
    assert await b.command("FETCH 1 (UID)") == [
        b"* 1 FETCH (UID 2)\r\n", b"TAG OK FETCH completed\r\n"]


def _idling(imap: Harness) -> list[ImapSession]:
    return [s for s in imap.app.sessions if isinstance(s, ImapSession) and s.parked is not None]


async def test_an_idling_session_holds_no_task_and_still_wakes(imap: Harness) -> None:
    # issue 11: an IDLE is parked between wake-ups (no task, no coroutine frames).
    _a, b = await _two_sessions(imap, 1)
    await b.send(b"i1 IDLE\r\n")
    assert await b.response() == b"+ idling\r\n"
    [session] = _idling(imap)
    assert session._task is None
    await imap.deliver(message("pushed"))
    assert await b.response(timeout=1) == b"* 2 EXISTS\r\n"
    assert await b.response(timeout=1) == b"* 1 RECENT\r\n"
    assert _idling(imap) == [session] and session._task is None  # parked again
    await b.send(b"DONE\r\n")
    assert await b.response() == b"i1 OK IDLE completed\r\n"
    assert _idling(imap) == []
    assert await b.command("NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_idle_is_woken_within_100_ms_by_an_smtp_delivery(tmp_path: Path) -> None:
    async with running(tmp_path / "var", smtp=True) as imap:
        client = await imap.client()
        await client.ok("SELECT INBOX")
        await client.send(b"i1 IDLE\r\n")
        assert await client.response() == b"+ idling\r\n"
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=imap.server.bound["smtp"][1],
                               local_hostname="client.localhost", start_tls=False)
        await smtp.connect()
        try:
            await smtp.mail("carol@example.org")
            await smtp.rcpt(USER)
            pushed = asyncio.ensure_future(_timed(client.response(timeout=2)))
            code, _ = await smtp.data(message("by smtp"))
            delivered = time.monotonic()  # the MX says 250 once the message is stored
            assert code == 250
            line, arrived = await pushed
            assert line == b"* 1 EXISTS\r\n"
        finally:
            await smtp.quit()
        # The push may even beat the 250 reply to the SMTP client.
        assert arrived - delivered < 0.1, f"IDLE took {(arrived - delivered) * 1000:.0f} ms"
        assert await client.response(timeout=1) == b"* 1 RECENT\r\n"
        await client.send(b"DONE\r\n")
        assert await client.response() == b"i1 OK IDLE completed\r\n"
        lines = await client.command("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert lines[0] == (
            b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {20}\r\nSubject: by smtp\r\n\r\n)\r\n")


async def _timed(response: Awaitable[bytes]) -> tuple[bytes, float]:
    line = await response
    return line, time.monotonic()


async def test_idle_in_the_authenticated_state_and_a_bad_end(imap: Harness) -> None:
    client = await imap.client()
    await client.send(b"i1 IDLE\r\n")
    assert await client.response() == b"+ idling\r\n"
    await imap.deliver(message())  # not selected: nothing to say, and no busy loop
    await asyncio.sleep(0.05)
    await client.send(b"STOP\r\n")
    assert await client.response() == b"i1 BAD Expected DONE to end IDLE\r\n"
    assert await client.command("NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_uid_fetch_star_on_an_empty_folder(imap: Harness) -> None:
    client = await imap.client()
    await client.ok("SELECT Trash")
    assert await client.command("UID FETCH * (FLAGS)") == [b"TAG OK UID FETCH completed\r\n"]
    assert await client.command("UID FETCH 1:* (FLAGS)") == [b"TAG OK UID FETCH completed\r\n"]
    assert await client.command("FETCH * (FLAGS)") == [b"TAG OK FETCH completed\r\n"]
    assert await client.command("FETCH 1 (FLAGS)") == [
        b"TAG BAD Invalid message sequence number (beyond EXISTS)\r\n"]
    assert await client.command("UID SEARCH ALL") == [
        b"* SEARCH\r\n", b"TAG OK UID SEARCH completed\r\n"]


async def test_the_selected_folder_deleted_by_another_session(imap: Harness) -> None:
    a = await imap.client()
    b = await imap.client()
    await a.ok("CREATE Doomed")
    await b.ok("SELECT Doomed")
    await a.ok("DELETE Doomed")
    await b.send(b"n1 NOOP\r\n")
    assert await b.response() == b"* BYE The selected mailbox was deleted\r\n"


async def test_a_keyword_set_elsewhere_is_announced_with_flags_before_fetch_shows_it(
    imap: Harness,
) -> None:
    # RFC 3501 §7.2.6: FLAGS (and PERMANENTFLAGS) first, then a FETCH may show $Label1.
    a, b = await _two_sessions(imap, 2)
    await a.ok("STORE 1 +FLAGS.SILENT ($Label1)")
    flags = b"\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1"
    assert await b.command("FETCH 1 (FLAGS)") == [
        b"* FLAGS (" + flags + b")\r\n",
        b"* OK [PERMANENTFLAGS (" + flags + b" \\*)] Flags permitted\r\n",
        b"* 1 FETCH (FLAGS ($Label1))\r\n",
        b"* 1 FETCH (UID 1 FLAGS ($Label1))\r\n",  # the change, as after any command
        b"TAG OK FETCH completed\r\n",
    ]
    assert await b.command("NOOP") == [b"TAG OK NOOP completed\r\n"]  # not announced twice
    # A keyword brought by a new message: FLAGS before the EXISTS that numbers it.
    await a.ok("APPEND INBOX ($Label2) {12}\r\nSubject: x\r\n")
    flags2 = flags + b" $Label2"
    lines = await b.command("NOOP")
    assert lines[:3] == [
        b"* FLAGS (" + flags2 + b")\r\n",
        b"* OK [PERMANENTFLAGS (" + flags2 + b" \\*)] Flags permitted\r\n",
        b"* 3 EXISTS\r\n",
    ]
    assert lines[-1] == b"TAG OK NOOP completed\r\n"
