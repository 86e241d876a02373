"""CONTEXT=SEARCH (RFC 5267 §4): searches kept up to date with ADDTO and
REMOVEFROM, CANCELUPDATE, the NOUPDATE refusal, and the order of updates
around EXISTS and EXPUNGE."""

from __future__ import annotations

import asyncio
import re

from tests.unit.imap.harness import Client, Harness, message


def no_recent(lines: list[bytes]) -> list[bytes]:
    """Without ``* n RECENT`` (counted per session, not what is tested here)."""
    return [line for line in lines if not re.fullmatch(rb"\* \d+ RECENT\r\n", line)]


async def tagged(client: Client, tag: str, text: str) -> list[bytes]:
    await client.send(f"{tag} {text}\r\n")
    return await client.until_tagged(tag)


async def two(imap: Harness, count: int = 3) -> tuple[Client, Client]:
    for n in range(count):
        await imap.deliver(message(f"m{n + 1}"))
    a, b = await imap.client(), await imap.client()
    await b.ok("SELECT INBOX")  # b claims \Recent (RFC 3501 §2.3.2), a sees plain flags
    await a.ok("SELECT INBOX")
    return a, b


async def test_capability_is_advertised(imap: Harness) -> None:
    a = await imap.client()
    (caps, _) = await a.command("CAPABILITY")
    assert b" CONTEXT=SEARCH CONTEXT=SORT " in caps


async def test_a_new_message_is_added_after_its_exists(imap: Harness) -> None:
    a, _ = await two(imap)
    assert await tagged(a, "S1", "UID SEARCH RETURN (UPDATE) UNSEEN") == [
        b'* ESEARCH (TAG "S1") UID ALL 1:3\r\n', b"S1 OK Search completed, will notify\r\n"]
    await imap.deliver(message("m4"))
    assert no_recent(await a.command("NOOP")) == [
        b"* 4 EXISTS\r\n", b'* ESEARCH (TAG "S1") UID ADDTO (0 4)\r\n',
        b"TAG OK NOOP completed\r\n"]
    # nothing changed: nothing more to say
    assert await a.command("NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_flag_changes_by_another_session_move_messages_in_and_out(imap: Harness) -> None:
    a, b = await two(imap)
    await tagged(a, "S1", "UID SEARCH RETURN (COUNT UPDATE) UNSEEN")
    await b.ok("STORE 2 +FLAGS (\\Seen)")
    assert await a.command("NOOP") == [
        b"* 2 FETCH (UID 2 FLAGS (\\Seen))\r\n", b'* ESEARCH (TAG "S1") UID REMOVEFROM (0 2)\r\n',
        b"TAG OK NOOP completed\r\n"]
    await b.ok("STORE 2 -FLAGS (\\Seen)")
    assert await a.command("NOOP") == [
        b"* 2 FETCH (UID 2 FLAGS ())\r\n", b'* ESEARCH (TAG "S1") UID ADDTO (0 2)\r\n',
        b"TAG OK NOOP completed\r\n"]


async def test_own_store_updates_within_the_command(imap: Harness) -> None:
    a, _ = await two(imap)
    await tagged(a, "S1", "SEARCH RETURN (UPDATE) UNSEEN")
    assert await a.command("STORE 1:2 +FLAGS (\\Seen)") == [
        b"* 1 FETCH (FLAGS (\\Seen))\r\n", b"* 2 FETCH (FLAGS (\\Seen))\r\n",
        b'* ESEARCH (TAG "S1") REMOVEFROM (0 1:2)\r\n', b"TAG OK STORE completed\r\n"]


async def test_removal_comes_before_the_expunge(imap: Harness) -> None:
    """§4.3.4: the sequence number in REMOVEFROM must still be valid."""
    a, b = await two(imap)
    await tagged(a, "S1", "SEARCH RETURN (UPDATE) ALL")
    await b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    await b.ok("EXPUNGE")
    assert await a.command("NOOP") == [
        b'* ESEARCH (TAG "S1") REMOVEFROM (0 2)\r\n', b"* 2 EXPUNGE\r\n",
        b"TAG OK NOOP completed\r\n"]
    # the session's own EXPUNGE too
    await a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert await a.command("EXPUNGE") == [
        b'* ESEARCH (TAG "S1") REMOVEFROM (0 1)\r\n', b"* 1 EXPUNGE\r\n",
        b"TAG OK EXPUNGE completed\r\n"]


async def test_updates_reach_an_idle_client(imap: Harness) -> None:
    a, _ = await two(imap, count=1)
    await tagged(a, "S1", "UID SEARCH RETURN (UPDATE) SUBJECT news")
    await a.send("I1 IDLE\r\n")
    assert (await a.response()).startswith(b"+ ")
    await imap.deliver(message("news-today"))
    lines = [await a.response() for _ in range(3)]
    assert no_recent(lines) == [b"* 2 EXISTS\r\n", b'* ESEARCH (TAG "S1") UID ADDTO (0 2)\r\n']
    await a.send("DONE\r\n")
    assert (await a.until_tagged("I1"))[-1].startswith(b"I1 OK")


async def test_tag_reuse_is_bad_and_cancelupdate_stops_updates(imap: Harness) -> None:
    a, _ = await two(imap)
    await tagged(a, "S1", "UID SEARCH RETURN (UPDATE) ALL")
    (reply,) = await tagged(a, "S1", "UID SEARCH RETURN (UPDATE) ALL")
    assert reply.startswith(b"S1 BAD")
    assert (await tagged(a, "C1", 'CANCELUPDATE "S1"')) == [b"C1 OK Updates cancelled\r\n"]
    await imap.deliver(message("m4"))
    assert no_recent(await a.command("NOOP")) == [b"* 4 EXISTS\r\n",
                                                  b"TAG OK NOOP completed\r\n"]
    (reply,) = await tagged(a, "C2", 'CANCELUPDATE "S1"')
    assert reply.startswith(b"C2 NO")
    (reply,) = await tagged(a, "C3", "CANCELUPDATE S1")  # the tag is a quoted string
    assert reply.startswith(b"C3 BAD")


async def test_too_many_contexts_get_noupdate_and_the_rest_is_honoured(imap: Harness) -> None:
    a, _ = await two(imap)
    for n in range(4):
        await tagged(a, f"S{n}", "UID SEARCH RETURN (UPDATE) ALL")
    assert await tagged(a, "S9", "UID SEARCH RETURN (UPDATE COUNT) ALL") == [
        b'* ESEARCH (TAG "S9") UID COUNT 3\r\n',
        b'* NO [NOUPDATE "S9"] Too many searches are being updated\r\n',
        b"S9 OK Search completed, will not notify\r\n"]


async def test_context_is_a_hint(imap: Harness) -> None:
    a, _ = await two(imap)
    assert await tagged(a, "S1", "SEARCH RETURN (CONTEXT COUNT) ALL") == [
        b'* ESEARCH (TAG "S1") COUNT 3\r\n', b"S1 OK SEARCH completed\r\n"]
    assert await tagged(a, "S2", "SORT RETURN (CONTEXT MIN) (SUBJECT) UTF-8 ALL") == [
        b'* ESEARCH (TAG "S2") MIN 1\r\n', b"S2 OK SORT completed\r\n"]


async def test_sort_context_updates_by_position(imap: Harness) -> None:
    """CONTEXT=SORT (§4.3.2-§4.3.4): positions in the requested order; pairs applied in turn."""
    for subject in ("delta", "bravo", "foxtrot"):  # UIDs 1, 2, 3
        await imap.deliver(message(subject))
    a, b = await imap.client(), await imap.client()
    await b.ok("SELECT INBOX")
    await a.ok("SELECT INBOX")
    assert await tagged(a, "S1", "UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 UNSEEN") == [
        b'* ESEARCH (TAG "S1") UID ALL 2,1,3\r\n', b"S1 OK Search completed, will notify\r\n"]
    # "alpha" sorts first, "echo" between delta and foxtrot
    await imap.deliver(message("alpha"))  # UID 4
    await imap.deliver(message("echo"))  # UID 5
    assert no_recent(await a.command("NOOP")) == [
        b"* 5 EXISTS\r\n", b'* ESEARCH (TAG "S1") UID ADDTO (1 4 4 5)\r\n',
        b"TAG OK NOOP completed\r\n"]
    # now alpha(4) bravo(2) delta(1) echo(5) foxtrot(3); bravo and echo leave
    await b.ok("NOOP")
    await b.ok("UID STORE 2,5 +FLAGS (\\Seen)")
    assert no_recent(await a.command("NOOP")) == [
        b"* 2 FETCH (UID 2 FLAGS (\\Seen))\r\n", b"* 5 FETCH (UID 5 FLAGS (\\Seen \\Recent))\r\n",
        b'* ESEARCH (TAG "S1") UID REMOVEFROM (2 2 3 5)\r\n', b"TAG OK NOOP completed\r\n"]
    # alpha(4) delta(1) foxtrot(3); delta is expunged: removed at its position first
    await b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    await b.ok("EXPUNGE")
    assert no_recent(await a.command("NOOP")) == [
        b'* ESEARCH (TAG "S1") UID REMOVEFROM (2 1)\r\n', b"* 1 EXPUNGE\r\n",
        b"TAG OK NOOP completed\r\n"]


async def test_sort_context_with_sequence_numbers(imap: Harness) -> None:
    for subject in ("bravo", "alpha"):  # UIDs 1, 2
        await imap.deliver(message(subject))
    a, _ = await imap.client(), None
    await a.ok("SELECT INBOX")
    assert await tagged(a, "S1", "SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL") == [
        b'* ESEARCH (TAG "S1") ALL 2,1\r\n', b"S1 OK Search completed, will notify\r\n"]
    await imap.deliver(message("aardvark"))  # message 3 sorts first
    assert no_recent(await a.command("NOOP")) == [
        b"* 3 EXISTS\r\n", b'* ESEARCH (TAG "S1") ADDTO (1 3)\r\n', b"TAG OK NOOP completed\r\n"]


async def test_contexts_end_with_the_selection(imap: Harness) -> None:
    a, _ = await two(imap)
    await tagged(a, "S1", "UID SEARCH RETURN (UPDATE) ALL")
    await a.ok("SELECT INBOX")
    await imap.deliver(message("m4"))
    lines = await a.command("NOOP")
    assert not any(b"ESEARCH" in line for line in lines)
    await asyncio.sleep(0)
