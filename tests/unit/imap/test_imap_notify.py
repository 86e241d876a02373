"""NOTIFY (RFC 5465): what a session is told of other sessions' changes, unasked.

Notifications arrive between commands without IDLE or NOOP: the tests read them
with no command outstanding.
"""

from __future__ import annotations

import asyncio

import pytest

from postbus.imap import notify
from postbus.store.model import Change
from tests.unit.imap.harness import Harness, message

ALL_MESSAGE_EVENTS = "(MessageNew MessageExpunge FlagChange)"


async def test_notify_is_advertised_and_set_none_succeed(imap: Harness) -> None:
    client = await imap.client()
    caps = await client.command("CAPABILITY")
    assert b" NOTIFY" in caps[0]
    assert await client.command(f"NOTIFY SET (personal {ALL_MESSAGE_EVENTS})") == [
        b"TAG OK NOTIFY completed\r\n"]
    assert await client.command("NOTIFY NONE") == [b"TAG OK NOTIFY completed\r\n"]
    # After NONE, a delivery elsewhere is not announced.
    await client.ok("CREATE Lists")
    await imap.deliver(message("quiet"), folder="Lists")
    assert await client.command("NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_a_delivery_to_another_folder_is_a_status_response(imap: Harness) -> None:
    client = await imap.client()
    await client.ok("CREATE Lists")
    await client.ok("SELECT INBOX")
    await client.ok(f"NOTIFY SET (selected {ALL_MESSAGE_EVENTS}) (personal {ALL_MESSAGE_EVENTS})")
    await imap.deliver(message("to lists"), folder="Lists")
    # Unsolicited: no command is in progress (RFC 5465 §5.2).
    assert await client.response() == b"* STATUS Lists (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n"
    await imap.deliver(message("to inbox"))
    assert await client.response() == b"* 1 EXISTS\r\n"
    assert await client.response() == b"* 1 RECENT\r\n"


async def test_status_carries_highestmodseq_once_condstore_is_on(imap: Harness) -> None:
    client = await imap.client()
    await client.ok("CREATE Lists")
    await client.ok("ENABLE CONDSTORE")
    await client.ok(f"NOTIFY SET (mailboxes Lists {ALL_MESSAGE_EVENTS})")
    appended = await imap.deliver(message("to lists"), folder="Lists")
    assert await client.response() == (
        b"* STATUS Lists (MESSAGES 1 UIDNEXT 2 UNSEEN 1 HIGHESTMODSEQ %d)\r\n" % appended.modseq)


async def test_set_status_reports_each_watched_folder_first(imap: Harness) -> None:
    client = await imap.client()
    await client.ok("CREATE Lists")
    await imap.deliver(message("one"), folder="Lists")
    await client.ok("SELECT INBOX")
    assert await client.command(f"NOTIFY SET STATUS (subtree Lists {ALL_MESSAGE_EVENTS})") == [
        b"* STATUS Lists (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n", b"TAG OK NOTIFY completed\r\n"]


async def test_unwatched_folders_say_nothing(imap: Harness) -> None:
    client = await imap.client()
    await client.ok("CREATE Lists")
    await client.ok("CREATE Other")
    await client.ok(f"NOTIFY SET (mailboxes Lists {ALL_MESSAGE_EVENTS})")
    await imap.deliver(message("elsewhere"), folder="Other")
    await imap.deliver(message("here"), folder="Lists")
    assert await client.response() == b"* STATUS Lists (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n"


async def test_create_and_rename_by_another_session_are_list_responses(imap: Harness) -> None:
    watcher = await imap.client()
    other = await imap.client()
    await watcher.ok("NOTIFY SET (personal (MailboxName))")
    await other.ok("CREATE Projects")
    assert await watcher.response() == b'* LIST () "/" Projects\r\n'
    await other.ok("RENAME Projects Attic")
    assert await watcher.response() == b'* LIST () "/" Attic ("OLDNAME" (Projects))\r\n'
    await other.ok("DELETE Attic")
    assert await watcher.response() == b'* LIST (\\NonExistent) "/" Attic\r\n'


async def test_a_rename_is_not_hidden_by_a_delivery_that_follows_it(imap: Harness) -> None:
    watcher = await imap.client()
    await watcher.ok("CREATE Projects")
    await watcher.ok("NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))")
    box = await imap.mailbox("Projects")
    await imap.app.store.rename_mailbox(box.account_id, "Projects", "Done")
    await imap.deliver(message("late"), folder="Done")
    lines = [await watcher.response() for _ in range(2)]
    assert b'* LIST () "/" Done ("OLDNAME" (Projects))\r\n' in lines
    assert b"* STATUS Done (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n" in lines


async def test_subscription_changes_are_list_responses(imap: Harness) -> None:
    watcher = await imap.client()
    other = await imap.client()
    await watcher.ok("CREATE News")
    await watcher.ok("NOTIFY SET (personal (SubscriptionChange))")
    await other.ok("SUBSCRIBE News")
    assert await watcher.response() == b'* LIST (\\Subscribed) "/" News\r\n'
    await other.ok("UNSUBSCRIBE News")
    assert await watcher.response() == b'* LIST () "/" News\r\n'


async def test_flag_change_on_the_selected_folder_is_pushed(imap: Harness) -> None:
    await imap.deliver(message("m1"))
    watcher = await imap.client()
    other = await imap.client()
    await watcher.ok("SELECT INBOX")
    await other.ok("SELECT INBOX")
    await watcher.ok(f"NOTIFY SET (selected {ALL_MESSAGE_EVENTS})")
    await other.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
    assert await watcher.response() == b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))\r\n"
    await other.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert await watcher.response() == b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted \\Recent))\r\n"
    await other.ok("EXPUNGE")
    assert await watcher.response() == b"* 1 EXPUNGE\r\n"


async def test_selected_delayed_holds_expunge_for_a_command_that_allows_it(imap: Harness) -> None:
    await imap.deliver(message("m1"))
    await imap.deliver(message("m2"))
    watcher = await imap.client()
    other = await imap.client()
    await watcher.ok("SELECT INBOX")
    await other.ok("SELECT INBOX")
    await watcher.ok(f"NOTIFY SET (selected-delayed {ALL_MESSAGE_EVENTS})")
    await other.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert await watcher.response() == b"* 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent))\r\n"
    await other.ok("EXPUNGE")
    await imap.deliver(message("m3"))
    # The new message comes; the expunge waits (RFC 5465 §6).
    assert await watcher.response() == b"* 3 EXISTS\r\n"
    assert await watcher.response() == b"* 3 RECENT\r\n"
    assert await watcher.command("FETCH 1:* (UID)") == [
        b"* 2 FETCH (UID 2)\r\n", b"* 3 FETCH (UID 3)\r\n",
        b"TAG OK [EXPUNGEISSUED] Some messages were already expunged\r\n"]
    assert await watcher.command("NOOP") == [b"* 1 EXPUNGE\r\n", b"TAG OK NOOP completed\r\n"]


async def test_message_new_with_fetch_attributes(imap: Harness) -> None:
    watcher = await imap.client()
    await watcher.ok("ENABLE IMAP4rev2")
    await watcher.ok("SELECT INBOX")
    await watcher.ok("NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge))")
    await imap.deliver(message("fresh"))
    assert await watcher.response() == b"* 1 EXISTS\r\n"
    assert await watcher.response() == b"* 1 FETCH (UID 1 FLAGS ())\r\n"


@pytest.mark.parametrize("event", ["AnnotationChange", "MailboxMetadataChange",
                                   "ServerMetadataChange"])
async def test_unsupported_events_are_badevent(imap: Harness, event: str) -> None:
    client = await imap.client()
    extra = " MessageNew MessageExpunge" if event == "AnnotationChange" else ""
    assert await client.command(f"NOTIFY SET (personal ({event}{extra}))") == [
        b"TAG NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]"
        b" Event " + event.encode() + b" is not supported\r\n"]


@pytest.mark.parametrize("line", [
    "NOTIFY SET (personal (MessageNew))",  # without MessageExpunge
    "NOTIFY SET (personal (FlagChange))",  # without MessageNew and MessageExpunge
    "NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",  # fetch-att not selected
    "NOTIFY SET (selected NONE) (selected-delayed NONE)",
    "NOTIFY SET (nowhere NONE)",
    "NOTIFY SET",
    "NOTIFY",
])
async def test_malformed_sets_are_bad(imap: Harness, line: str) -> None:
    client = await imap.client()
    reply = await client.command(line)
    assert reply[-1].startswith(b"TAG BAD"), reply


async def test_too_much_pending_is_notificationoverflow(
        imap: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "MAX_PENDING_NOTIFICATIONS", 2)
    client = await imap.client()
    for name in ("A", "B", "C"):
        await client.ok(f"CREATE {name}")
    await client.ok(f"NOTIFY SET (personal {ALL_MESSAGE_EVENTS})")
    # Three folders change at once (as a burst from another node arrives): more
    # than the limit is waiting when the session looks.
    boxes = [await imap.mailbox(name) for name in ("A", "B", "C")]
    for box in boxes:
        imap.app.store.changes.publish(Change(box.account_id, box.id, box.highest_modseq))
    assert await client.response() == (
        b"* OK [NOTIFICATIONOVERFLOW] Too many notifications pending, NOTIFY is off\r\n")
    # NOTIFY is now off, as after NOTIFY NONE.
    await imap.deliver(message("more"), folder="A")
    assert await client.command("NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_nothing_is_sent_while_a_command_is_arriving(imap: Harness) -> None:
    client = await imap.client()
    await client.ok("CREATE Lists")
    await client.ok(f"NOTIFY SET (mailboxes Lists {ALL_MESSAGE_EVENTS})")
    await client.send(b"a1 APPEND Lists {9}\r\n")
    assert (await client.response()).startswith(b"+ ")
    await imap.deliver(message("meanwhile"), folder="Lists")
    for _ in range(20):  # let the change event reach the session
        await asyncio.sleep(0)
    await client.send(b"Subject: \r\n")
    # One STATUS after the APPEND, counting both messages: none was sent mid-command.
    assert await client.response() == b"* STATUS Lists (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\n"
    assert (await client.response()).startswith(b"a1 OK [APPENDUID ")
