"""CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, LIST and LSUB transcripts."""

from __future__ import annotations

import re

from tests.unit.imap.harness import Harness, message

DEFAULT_LIST = [
    b'* LIST (\\HasNoChildren) "/" INBOX\r\n',
    b'* LIST (\\HasNoChildren \\Archive) "/" Archive\r\n',
    b'* LIST (\\HasNoChildren \\Drafts) "/" Drafts\r\n',
    b'* LIST (\\HasNoChildren \\Junk) "/" Junk\r\n',
    b'* LIST (\\HasNoChildren \\Sent) "/" Sent\r\n',
    b'* LIST (\\HasNoChildren \\Trash) "/" Trash\r\n',
]


def _sans_mailboxid(lines: list[bytes]) -> list[bytes]:
    """CREATE's OK carries the new folder's MAILBOXID (RFC 8474 §4.1), tested elsewhere."""
    return [re.sub(rb"\[MAILBOXID \(F\d+\)\] ", b"", line) for line in lines]


async def test_list_all_and_the_delimiter_request(imap: Harness) -> None:
    client = await imap.client()
    assert await client.command('LIST "" "*"') == [*DEFAULT_LIST, b"TAG OK LIST completed\r\n"]
    assert await client.command('LIST "" ""') == [
        b'* LIST (\\Noselect) "/" ""\r\n', b"TAG OK LIST completed\r\n"]
    assert await client.command('LIST "" inbox') == [
        DEFAULT_LIST[0], b"TAG OK LIST completed\r\n"]
    assert await client.command('LIST "" nothing*') == [b"TAG OK LIST completed\r\n"]


async def test_create_makes_parents_and_list_shows_the_hierarchy(imap: Harness) -> None:
    client = await imap.client()
    assert _sans_mailboxid(await client.command("CREATE Projects/2025/Q1")) == [b"TAG OK CREATE completed\r\n"]
    assert await client.command('LIST "" "Projects*"') == [
        b'* LIST (\\HasChildren) "/" Projects\r\n',
        b'* LIST (\\HasChildren) "/" Projects/2025\r\n',
        b'* LIST (\\HasNoChildren) "/" Projects/2025/Q1\r\n',
        b"TAG OK LIST completed\r\n",
    ]
    assert await client.command('LIST Projects/ %') == [
        b'* LIST (\\HasChildren) "/" Projects/2025\r\n', b"TAG OK LIST completed\r\n"]
    # Deleting a parent leaves its children: the level becomes \Noselect.
    assert await client.command("DELETE Projects/2025") == [b"TAG OK DELETE completed\r\n"]
    assert await client.command('LIST "" "Projects/%"') == [
        b'* LIST (\\Noselect \\HasChildren) "/" Projects/2025\r\n', b"TAG OK LIST completed\r\n"]
    assert await client.command('LIST () "" "Projects/%"') == [
        b'* LIST (\\NonExistent \\HasChildren) "/" Projects/2025\r\n',
        b"TAG OK LIST completed\r\n"]
    assert await client.command("SELECT Projects/2025") == [
        b"TAG NO [NONEXISTENT] No folder named Projects/2025\r\n"]


async def test_create_refusals(imap: Harness) -> None:
    client = await imap.client()
    assert await client.command("CREATE inbox") == [
        b"TAG NO [ALREADYEXISTS] INBOX always exists\r\n"]
    assert await client.command("CREATE Sent") == [
        b"TAG NO [ALREADYEXISTS] Sent already exists\r\n"]
    assert await client.command('CREATE "a//b"') == [
        b"TAG NO [CANNOT] Invalid folder name: empty hierarchy level in the folder name\r\n"]
    assert await client.command('CREATE "x*"') == [
        b"TAG NO [CANNOT] Invalid folder name: '*' and '%' are not allowed in folder names\r\n"]
    assert _sans_mailboxid(await client.command("CREATE Later/")) == [b"TAG OK CREATE completed\r\n"]
    assert (await client.command('LIST "" Later'))[0] == b'* LIST (\\HasNoChildren) "/" Later\r\n'


async def test_create_with_special_use(imap: Harness) -> None:
    client = await imap.client()
    assert _sans_mailboxid(await client.command("CREATE Entw&APw-rfe (USE (\\Drafts))")) == [
        b"TAG OK CREATE completed\r\n"]
    assert await client.command("CREATE Everything (USE (\\All))") == [
        b"TAG NO [USEATTR] \\All cannot be given to a folder\r\n"]
    assert await client.command("CREATE Two (USE (\\Sent \\Trash))") == [
        b"TAG NO [USEATTR] Only one special-use attribute per folder\r\n"]
    assert await client.command('LIST (SPECIAL-USE) "" "*"') == [
        b'* LIST (\\HasNoChildren \\Archive) "/" Archive\r\n',
        b'* LIST (\\HasNoChildren \\Drafts) "/" Drafts\r\n',
        b'* LIST (\\HasNoChildren \\Drafts) "/" Entw&APw-rfe\r\n',
        b'* LIST (\\HasNoChildren \\Junk) "/" Junk\r\n',
        b'* LIST (\\HasNoChildren \\Sent) "/" Sent\r\n',
        b'* LIST (\\HasNoChildren \\Trash) "/" Trash\r\n',
        b"TAG OK LIST completed\r\n",
    ]


async def test_modified_utf7_and_utf8_accept_names(imap: Harness) -> None:
    client = await imap.client()
    assert _sans_mailboxid(await client.command("CREATE R&AOk-sum&AOk-")) == [b"TAG OK CREATE completed\r\n"]
    assert (await imap.mailbox("Résumé")) is not None
    assert await client.command('LIST "" R*') == [
        b'* LIST (\\HasNoChildren) "/" R&AOk-sum&AOk-\r\n', b"TAG OK LIST completed\r\n"]
    await client.ok("ENABLE UTF8=ACCEPT")
    assert await client.command('LIST "" R*') == [
        '* LIST (\\HasNoChildren) "/" "Résumé"\r\n'.encode(), b"TAG OK LIST completed\r\n"]
    assert await client.command('STATUS "Résumé" (MESSAGES)'.encode()) == [
        '* STATUS "Résumé" (MESSAGES 0)\r\n'.encode(), b"TAG OK STATUS completed\r\n"]


async def test_delete(imap: Harness) -> None:
    client = await imap.client()
    assert await client.command("DELETE INBOX") == [
        b"TAG NO [CANNOT] INBOX cannot be deleted\r\n"]
    assert await client.command("DELETE Nothing") == [
        b"TAG NO [NONEXISTENT] No folder named Nothing\r\n"]
    await client.ok("CREATE Old")
    await imap.deliver(message(), "Old")
    await client.ok("SELECT Old")
    # The selected folder is closed first (as Dovecot does): the session is authenticated again.
    assert await client.command("DELETE Old") == [b"TAG OK DELETE completed\r\n"]
    assert await client.command("FETCH 1 FLAGS") == [
        b"TAG BAD FETCH is not allowed in the authenticated state\r\n"]
    assert await imap.mailbox("Old") is None


async def test_rename(imap: Harness) -> None:
    client = await imap.client()
    await client.ok("CREATE a/b")
    assert await client.command("RENAME a x/y/z") == [b"TAG OK RENAME completed\r\n"]
    assert await client.command('LIST "" "x*"') == [
        b'* LIST (\\HasChildren) "/" x\r\n',
        b'* LIST (\\HasChildren) "/" x/y\r\n',
        b'* LIST (\\HasChildren) "/" x/y/z\r\n',
        b'* LIST (\\HasNoChildren) "/" x/y/z/b\r\n',
        b"TAG OK LIST completed\r\n",
    ]
    assert await client.command("RENAME nothing y") == [
        b"TAG NO [NONEXISTENT] No folder named nothing\r\n"]
    assert await client.command("RENAME Sent Trash") == [
        b"TAG NO [ALREADYEXISTS] Trash already exists\r\n"]
    assert await client.command("RENAME x x/inner") == [
        b"TAG NO [CANNOT] A folder cannot become its own child\r\n"]
    await imap.deliver(message(), "INBOX")
    # RFC 9051 §6.3.6: renaming INBOX moves its messages and leaves it empty.
    assert await client.command("RENAME INBOX Saved") == [b"TAG OK RENAME completed\r\n"]
    assert await client.command("STATUS INBOX (MESSAGES)") == [
        b"* STATUS INBOX (MESSAGES 0)\r\n", b"TAG OK STATUS completed\r\n"]
    assert await client.command("STATUS Saved (MESSAGES)") == [
        b"* STATUS Saved (MESSAGES 1)\r\n", b"TAG OK STATUS completed\r\n"]


async def test_subscriptions_lsub_and_list_subscribed(imap: Harness) -> None:
    client = await imap.client()
    await client.ok("CREATE news/comp/mail")  # CREATE subscribes nothing (RFC 3501 §6.3.9)
    for name in ("Archive", "Drafts", "Junk", "Sent", "Trash", "INBOX", "news"):
        assert await client.command(f"UNSUBSCRIBE {name}") == [
            b"TAG OK UNSUBSCRIBE completed\r\n"]
    assert await client.command("SUBSCRIBE news/comp/mail") == [
        b"TAG OK SUBSCRIBE completed\r\n"]
    assert await client.command("UNSUBSCRIBE never-existed") == [
        b"TAG OK UNSUBSCRIBE completed\r\n"]
    assert await client.command("SUBSCRIBE never-existed") == [
        b"TAG NO [NONEXISTENT] No folder named never-existed\r\n"]
    assert await client.command('LSUB "" "*"') == [
        b'* LSUB () "/" news/comp/mail\r\n', b"TAG OK LSUB completed\r\n"]
    assert await client.command('LSUB "" "news/%"') == [
        b'* LSUB (\\Noselect) "/" news/comp\r\n', b"TAG OK LSUB completed\r\n"]
    assert await client.command('LIST (SUBSCRIBED) "" "*"') == [
        b'* LIST (\\HasNoChildren \\Subscribed) "/" news/comp/mail\r\n',
        b"TAG OK LIST completed\r\n"]
    assert await client.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == [
        b'* LIST (\\HasChildren) "/" news ("CHILDINFO" ("SUBSCRIBED"))\r\n',
        b"TAG OK LIST completed\r\n"]
    assert await client.command('LIST "" "news*" RETURN (SUBSCRIBED CHILDREN)') == [
        b'* LIST (\\HasChildren) "/" news\r\n',
        b'* LIST (\\HasChildren) "/" news/comp\r\n',
        b'* LIST (\\HasNoChildren \\Subscribed) "/" news/comp/mail\r\n',
        b"TAG OK LIST completed\r\n",
    ]


async def test_status_and_list_status(imap: Harness) -> None:
    await imap.deliver(message("one"))
    await imap.deliver(message("two"), flags=("\\Seen", "\\Deleted"))
    inbox = await imap.mailbox("INBOX")
    client = await imap.client()
    size = len(message("one")) + len(message("two"))
    assert await client.command(
        "STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ "
        "APPENDLIMIT DELETED-STORAGE)"
    ) == [
        b"* STATUS INBOX (MESSAGES 2 RECENT 2 UIDNEXT 3 UIDVALIDITY %d UNSEEN 1 DELETED 1 "
        b"SIZE %d HIGHESTMODSEQ %d APPENDLIMIT 12582912 DELETED-STORAGE 1)\r\n"
        % (inbox.uid_validity, size, inbox.highest_modseq),
        b"TAG OK STATUS completed\r\n",
    ]
    assert await client.command("STATUS Nothing (MESSAGES)") == [
        b"TAG NO [NONEXISTENT] No folder named Nothing\r\n"]
    assert await client.command("STATUS INBOX (BOGUS)") == [
        b"TAG BAD Unknown STATUS item BOGUS\r\n"]
    assert await client.command('LIST "" "%" RETURN (STATUS (MESSAGES UNSEEN))') == [
        b'* LIST (\\HasNoChildren) "/" INBOX\r\n',
        b"* STATUS INBOX (MESSAGES 2 UNSEEN 1)\r\n",
        b'* LIST (\\HasNoChildren \\Archive) "/" Archive\r\n',
        b"* STATUS Archive (MESSAGES 0 UNSEEN 0)\r\n",
        b'* LIST (\\HasNoChildren \\Drafts) "/" Drafts\r\n',
        b"* STATUS Drafts (MESSAGES 0 UNSEEN 0)\r\n",
        b'* LIST (\\HasNoChildren \\Junk) "/" Junk\r\n',
        b"* STATUS Junk (MESSAGES 0 UNSEEN 0)\r\n",
        b'* LIST (\\HasNoChildren \\Sent) "/" Sent\r\n',
        b"* STATUS Sent (MESSAGES 0 UNSEEN 0)\r\n",
        b'* LIST (\\HasNoChildren \\Trash) "/" Trash\r\n',
        b"* STATUS Trash (MESSAGES 0 UNSEEN 0)\r\n",
        b"TAG OK LIST completed\r\n",
    ]


async def test_list_multiple_patterns_and_reference(imap: Harness) -> None:
    client = await imap.client()
    assert await client.command('LIST "" (Sent Trash)') == [
        DEFAULT_LIST[4], DEFAULT_LIST[5], b"TAG OK LIST completed\r\n"]
    # The reference and the pattern are joined (RFC 9051 §6.3.9): "S" + "%" matches Sent.
    assert await client.command("LIST S %") == [DEFAULT_LIST[4], b"TAG OK LIST completed\r\n"]
    assert await client.command("LIST Projects/ %") == [b"TAG OK LIST completed\r\n"]
    assert await client.command('LIST "" "%" RETURN (BOGUS)') == [
        b"TAG BAD Unknown LIST return option BOGUS\r\n"]


async def test_names_that_are_not_modified_utf7_are_refused_with_no(imap: Harness) -> None:
    # RFC 3501 §7.1.3: BAD is for syntax; "&AGE-" (an "a" base64-encoded) and "&AO4"
    # (unterminated) are well-formed astrings naming no possible folder.
    client = await imap.client()
    for command in ("SELECT &AGE-", "EXAMINE &AO4", "CREATE &AGE-", "DELETE &AO4",
                    "RENAME INBOX &AO4", "SUBSCRIBE &AO4", "STATUS &AO4 (MESSAGES)"):
        reply = await client.command(command)
        assert reply[-1].startswith(b"TAG NO [CANNOT] Invalid mailbox name"), (command, reply)
    # A LIST pattern that can match nothing is answered OK with no results.
    assert await client.command('LIST "" "&AGE-*"') == [b"TAG OK LIST completed\r\n"]
    assert await client.command('LIST &AO4 "*"') == [b"TAG OK LIST completed\r\n"]
    assert await client.command('LSUB "" "&AO4"') == [b"TAG OK LSUB completed\r\n"]
    assert await client.command("NOOP") == [b"TAG OK NOOP completed\r\n"]  # still connected
