"""\\Recent for IMAP4rev1 sessions (RFC 3501 §2.3.2, §6.3.1, §6.3.2, §6.3.10, §6.4.4, §6.4.7).

Exactly one session sees each new message as \\Recent: the first to SELECT the
folder, or the first to be told of a message that arrives while it is selected.
SELECT/EXAMINE's RECENT, NOOP's RECENT, STATUS RECENT, FETCH FLAGS and SEARCH
RECENT/NEW/OLD agree; COPY, MOVE and APPEND make messages \\Recent in the target.
"""

from __future__ import annotations

from tests.unit.imap.harness import Client, Harness, message


def _line(lines: list[bytes], prefix: bytes) -> bytes:
    found = [line for line in lines if line.startswith(prefix)]
    assert len(found) == 1, (prefix, lines)
    return found[0]


async def _status_recent(client: Client, folder: str = "INBOX") -> bytes:
    lines = await client.command(f"STATUS {folder} (RECENT)")
    return _line(lines, b"* STATUS")


async def test_one_session_sees_each_new_message_as_recent(imap: Harness) -> None:
    await imap.deliver(message("one"))
    await imap.deliver(message("two"), flags=("\\Seen",))
    a, b, c = await imap.client(), await imap.client(), await imap.client()
    assert await _status_recent(c) == b"* STATUS INBOX (RECENT 2)\r\n"

    # A selects first and claims both; everything A is told agrees.
    assert _line(await a.ok("SELECT INBOX"), b"* 2 RECENT") == b"* 2 RECENT\r\n"
    assert await a.command("FETCH 1:* (FLAGS)") == [
        b"* 1 FETCH (FLAGS (\\Recent))\r\n", b"* 2 FETCH (FLAGS (\\Seen \\Recent))\r\n",
        b"TAG OK FETCH completed\r\n"]
    assert await a.command("SEARCH RECENT") == [b"* SEARCH 1 2\r\n", b"TAG OK SEARCH completed\r\n"]
    assert await a.command("SEARCH NEW") == [b"* SEARCH 1\r\n", b"TAG OK SEARCH completed\r\n"]
    assert await a.command("SEARCH OLD") == [b"* SEARCH\r\n", b"TAG OK SEARCH completed\r\n"]
    assert await _status_recent(c) == b"* STATUS INBOX (RECENT 0)\r\n"

    # B selects after: nothing is \Recent for B.
    assert _line(await b.ok("SELECT INBOX"), b"* 0 RECENT") == b"* 0 RECENT\r\n"
    assert await b.command("FETCH 1:* (FLAGS)") == [
        b"* 1 FETCH (FLAGS ())\r\n", b"* 2 FETCH (FLAGS (\\Seen))\r\n",
        b"TAG OK FETCH completed\r\n"]
    assert await b.command("SEARCH RECENT") == [b"* SEARCH\r\n", b"TAG OK SEARCH completed\r\n"]
    assert await b.command("SEARCH OLD") == [b"* SEARCH 1 2\r\n", b"TAG OK SEARCH completed\r\n"]

    # A message arriving while both are selected: B is told first, B claims it.
    await imap.deliver(message("three"))
    assert await _status_recent(c) == b"* STATUS INBOX (RECENT 1)\r\n"
    assert await b.command("NOOP") == [
        b"* 3 EXISTS\r\n", b"* 1 RECENT\r\n", b"TAG OK NOOP completed\r\n"]
    assert await a.command("NOOP") == [
        b"* 3 EXISTS\r\n", b"* 2 RECENT\r\n", b"TAG OK NOOP completed\r\n"]
    assert await b.command("FETCH 3 (FLAGS)") == [
        b"* 3 FETCH (FLAGS (\\Recent))\r\n", b"TAG OK FETCH completed\r\n"]
    assert await a.command("FETCH 3 (FLAGS)") == [
        b"* 3 FETCH (FLAGS ())\r\n", b"TAG OK FETCH completed\r\n"]
    assert await a.command("SEARCH NEW") == [b"* SEARCH 1\r\n", b"TAG OK SEARCH completed\r\n"]
    assert await b.command("SEARCH NEW") == [b"* SEARCH 3\r\n", b"TAG OK SEARCH completed\r\n"]
    assert await _status_recent(c) == b"* STATUS INBOX (RECENT 0)\r\n"
    # Flag updates keep \Recent in the flags they show.
    assert await a.command("STORE 1 +FLAGS (\\Flagged)") == [
        b"* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n", b"TAG OK STORE completed\r\n"]
    assert await b.command("NOOP") == [
        b"* 1 FETCH (UID 1 FLAGS (\\Flagged))\r\n", b"TAG OK NOOP completed\r\n"]


async def test_examine_looks_without_claiming(imap: Harness) -> None:
    await imap.deliver(message("one"))
    a, b = await imap.client(), await imap.client()
    # RFC 3501 §6.3.2: EXAMINE must not make messages lose \Recent.
    assert _line(await a.ok("EXAMINE INBOX"), b"* 1 RECENT") == b"* 1 RECENT\r\n"
    assert await a.command("FETCH 1 (FLAGS)") == [
        b"* 1 FETCH (FLAGS (\\Recent))\r\n", b"TAG OK FETCH completed\r\n"]
    assert await _status_recent(b) == b"* STATUS INBOX (RECENT 1)\r\n"
    assert _line(await b.ok("SELECT INBOX"), b"* 1 RECENT") == b"* 1 RECENT\r\n"
    assert await _status_recent(a) == b"* STATUS INBOX (RECENT 0)\r\n"


async def test_copy_move_and_append_are_recent_in_the_target(imap: Harness) -> None:
    for n in range(3):
        await imap.deliver(message(f"m{n}"))
    a, b = await imap.client(), await imap.client()
    await a.ok("SELECT INBOX")
    await a.ok("COPY 1 Archive")
    await a.ok("MOVE 2 Archive")
    raw = message("appended")
    await b.ok(b"APPEND Archive {%d+}\r\n%s" % (len(raw), raw))
    assert await _status_recent(a, "Archive") == b"* STATUS Archive (RECENT 3)\r\n"
    lines = await b.ok("SELECT Archive")
    assert _line(lines, b"* 3 RECENT") == b"* 3 RECENT\r\n"
    assert await b.command("SEARCH RECENT") == [
        b"* SEARCH 1 2 3\r\n", b"TAG OK SEARCH completed\r\n"]
    # Into the selected folder: the session told of them first (here the one that
    # copied, at the end of its command) has them as \Recent.
    assert await b.command("COPY 1 Archive") == [
        b"* 4 EXISTS\r\n", b"* 4 RECENT\r\n",
        b"TAG OK [COPYUID %d 1 4] COPY completed\r\n"
        % (await imap.mailbox("Archive")).uid_validity]


async def test_imap4rev2_has_no_recent_and_claims_nothing(imap: Harness) -> None:
    await imap.deliver(message("one"))
    rev2, rev1 = await imap.client(), await imap.client()
    await rev2.ok("ENABLE IMAP4rev2")
    lines = await rev2.ok("SELECT INBOX")
    assert not any(b"RECENT" in line for line in lines)
    assert await rev2.command("FETCH 1 (FLAGS)") == [
        b"* 1 FETCH (FLAGS ())\r\n", b"TAG OK FETCH completed\r\n"]
    await imap.deliver(message("two"))
    assert await rev2.command("NOOP") == [b"* 2 EXISTS\r\n", b"TAG OK NOOP completed\r\n"]
    # ... so the IMAP4rev1 session that selects next still gets both.
    assert _line(await rev1.ok("SELECT INBOX"), b"* 2 RECENT") == b"* 2 RECENT\r\n"
