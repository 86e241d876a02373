"""SELECT, EXAMINE, CLOSE and UNSELECT transcripts."""

from __future__ import annotations

from tests.unit.imap.harness import Harness, message


async def _expected(imap: Harness, folder: str = "INBOX") -> tuple[int, int, int]:
    box = await imap.mailbox(folder)
    return box.uid_validity, box.highest_modseq, box.object_id


async def test_select_rev1(imap: Harness) -> None:
    await imap.deliver(message("one"), flags=("\\Seen",))
    await imap.deliver(message("two"), flags=("$Important",))
    validity, modseq, object_id = await _expected(imap)
    client = await imap.client()
    assert await client.command("SELECT inbox") == [
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)\r\n",
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)]"
        b" Flags permitted\r\n",
        b"* 2 EXISTS\r\n",
        b"* 2 RECENT\r\n",  # delivered before: new to the first session that selects
        b"* OK [UNSEEN 2] First unseen\r\n",
        b"* OK [UIDVALIDITY %d] UIDs valid\r\n" % validity,
        b"* OK [UIDNEXT 3] Predicted next UID\r\n",
        b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % modseq,
        b"* OK [MAILBOXID (F%d)] Ok\r\n" % object_id,
        b"TAG OK [READ-WRITE] SELECT completed\r\n",
    ]


async def test_select_rev2_and_reselect_says_closed(imap: Harness) -> None:
    validity, modseq, object_id = await _expected(imap, "Sent")
    client = await imap.client()
    await client.ok("ENABLE IMAP4rev2")
    await client.ok("SELECT INBOX")
    assert await client.command("EXAMINE Sent") == [
        b"* OK [CLOSED] Previous mailbox closed\r\n",
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
        b"* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n",
        b"* 0 EXISTS\r\n",
        b"* OK [UIDVALIDITY %d] UIDs valid\r\n" % validity,
        b"* OK [UIDNEXT 1] Predicted next UID\r\n",
        b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % modseq,
        b"* OK [MAILBOXID (F%d)] Ok\r\n" % object_id,
        b'* LIST (\\HasNoChildren \\Sent) "/" Sent\r\n',
        b"TAG OK [READ-ONLY] EXAMINE completed\r\n",
    ]


async def test_failed_select_leaves_the_authenticated_state(imap: Harness) -> None:
    client = await imap.client()
    await client.ok("SELECT INBOX")
    assert await client.command("SELECT Missing") == [
        b"TAG NO [NONEXISTENT] No folder named Missing\r\n"]
    assert await client.command("CLOSE") == [
        b"TAG BAD CLOSE is not allowed in the authenticated state\r\n"]
    assert await client.command("SELECT INBOX (QRESYNC (1 1))") == [
        b"TAG BAD QRESYNC is not enabled\r\n"]


async def test_examine_is_read_only(imap: Harness) -> None:
    await imap.deliver(message())
    client = await imap.client()
    await client.ok("EXAMINE INBOX")
    assert await client.command("STORE 1 +FLAGS (\\Deleted)") == [
        b"TAG NO [CANNOT] The mailbox is read-only (EXAMINE)\r\n"]
    assert await client.command("EXPUNGE") == [
        b"TAG NO [CANNOT] The mailbox is read-only (EXAMINE)\r\n"]
    assert await client.command("MOVE 1 Trash") == [
        b"TAG NO [CANNOT] The mailbox is read-only (EXAMINE)\r\n"]
    assert await client.command("CLOSE") == [b"TAG OK CLOSE completed\r\n"]


async def test_close_expunges_silently_and_unselect_does_not(imap: Harness) -> None:
    for subject in ("a", "b", "c"):
        await imap.deliver(message(subject), flags=("\\Deleted",) if subject != "b" else ())
    client = await imap.client()
    await client.ok("SELECT INBOX")
    assert await client.command("UNSELECT") == [b"TAG OK UNSELECT completed\r\n"]
    assert (await client.command("STATUS INBOX (MESSAGES)"))[0] == (
        b"* STATUS INBOX (MESSAGES 3)\r\n")
    await client.ok("SELECT INBOX")
    assert await client.command("CLOSE") == [b"TAG OK CLOSE completed\r\n"]
    assert (await client.command("STATUS INBOX (MESSAGES)"))[0] == (
        b"* STATUS INBOX (MESSAGES 1)\r\n")
    assert await client.command("UNSELECT") == [
        b"TAG BAD UNSELECT is not allowed in the authenticated state\r\n"]
