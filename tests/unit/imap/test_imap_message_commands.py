"""STORE, EXPUNGE, UID EXPUNGE, COPY, MOVE, APPEND and QUOTA transcripts."""

from __future__ import annotations

from pathlib import Path

from tests.unit.imap.harness import USER, Client, Harness, message, running


async def _select(imap: Harness, count: int = 3) -> Client:
    for n in range(count):
        await imap.deliver(message(f"m{n + 1}"))
    # Another session was told of them first: none is \\Recent here (RFC 3501 §2.3.2).
    await imap.app.store.claim_recent((await imap.mailbox("INBOX")).id)
    client = await imap.client()
    await client.ok("SELECT INBOX")
    return client


async def test_store_modes_silent_and_uid(imap: Harness) -> None:
    client = await _select(imap)
    assert await client.command("STORE 1:2 +FLAGS (\\Seen \\Flagged)") == [
        b"* 1 FETCH (FLAGS (\\Flagged \\Seen))\r\n",
        b"* 2 FETCH (FLAGS (\\Flagged \\Seen))\r\n",
        b"TAG OK STORE completed\r\n",
    ]
    assert await client.command("STORE 2 -FLAGS.SILENT (\\Flagged)") == [
        b"TAG OK STORE completed\r\n"]
    assert await client.command("UID STORE 2:* FLAGS (\\Answered)") == [
        b"* 2 FETCH (UID 2 FLAGS (\\Answered))\r\n",
        b"* 3 FETCH (UID 3 FLAGS (\\Answered))\r\n",
        b"TAG OK UID STORE completed\r\n",
    ]
    # \Recent cannot be stored; a new keyword is announced with FLAGS.
    assert await client.command("STORE 3 +FLAGS (\\Recent $Later)") == [
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Later)\r\n",
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Later \\*)]"
        b" Flags permitted\r\n",
        b"* 3 FETCH (FLAGS (\\Answered $Later))\r\n",
        b"TAG OK STORE completed\r\n",
    ]
    assert await client.command("STORE 4 +FLAGS (\\Seen)") == [
        b"TAG BAD Invalid message sequence number (beyond EXISTS)\r\n"]
    assert await client.command("UID STORE 99 +FLAGS (\\Seen)") == [
        b"TAG OK UID STORE completed\r\n"]
    entries = await imap.app.store.list_messages((await imap.mailbox("INBOX")).id)
    assert [sorted(e.flags) for e in entries] == [
        ["\\Flagged", "\\Seen"], ["\\Answered"], ["$Later", "\\Answered"]]


async def test_store_unchangedsince_reports_modified(imap: Harness) -> None:
    client = await _select(imap, 2)
    modseq = (await imap.mailbox("INBOX")).highest_modseq
    await client.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
    assert await client.command(
        f"STORE 1:2 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Flagged)"
    ) == [
        # UNCHANGEDSINCE enables CONDSTORE: UID and MODSEQ come along (RFC 7162 §3.1)
        b"* 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (%d))\r\n" % (modseq + 2),
        b"TAG OK [MODIFIED 2] Conditional STORE failed\r\n",
    ]


async def test_expunge_and_uid_expunge(imap: Harness) -> None:
    client = await _select(imap, 5)
    await client.ok("STORE 1,2,4 +FLAGS.SILENT (\\Deleted)")
    assert await client.command("UID EXPUNGE 2:3") == [
        b"* 2 EXPUNGE\r\n", b"TAG OK UID EXPUNGE completed\r\n"]
    assert await client.command("EXPUNGE") == [
        b"* 3 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n", b"TAG OK EXPUNGE completed\r\n"]
    assert await client.command("EXPUNGE") == [b"TAG OK EXPUNGE completed\r\n"]
    entries = await imap.app.store.list_messages((await imap.mailbox("INBOX")).id)
    assert [e.uid for e in entries] == [3, 5]


async def test_copy_and_move_with_copyuid(imap: Harness) -> None:
    client = await _select(imap, 4)
    trash = await imap.mailbox("Trash")
    assert await client.command("COPY 2:3 Trash") == [
        b"TAG OK [COPYUID %d 2:3 1:2] COPY completed\r\n" % trash.uid_validity]
    assert await client.command("UID COPY 1,4 Trash") == [
        b"TAG OK [COPYUID %d 1,4 3:4] UID COPY completed\r\n" % trash.uid_validity]
    archive = await imap.mailbox("Archive")
    assert await client.command("MOVE 2,4 Archive") == [
        b"* OK [COPYUID %d 2,4 1:2] Moved UIDs\r\n" % archive.uid_validity,
        b"* 4 EXPUNGE\r\n",
        b"* 2 EXPUNGE\r\n",
        b"TAG OK MOVE completed\r\n",
    ]
    assert await client.command("UID MOVE 3 Archive") == [
        b"* OK [COPYUID %d 3 3] Moved UIDs\r\n" % archive.uid_validity,
        b"* 2 EXPUNGE\r\n",
        b"TAG OK UID MOVE completed\r\n",
    ]
    assert await client.command("COPY 1 Nowhere") == [
        b"TAG NO [TRYCREATE] No folder named Nowhere\r\n"]
    assert await client.command("MOVE 1 Nowhere") == [
        b"TAG NO [TRYCREATE] No folder named Nowhere\r\n"]
    # Copying into the selected folder announces the new messages.
    assert await client.command("COPY 1 INBOX") == [
        b"* 2 EXISTS\r\n", b"* 1 RECENT\r\n",
        b"TAG OK [COPYUID %d 1 5] COPY completed\r\n"
        % (await imap.mailbox("INBOX")).uid_validity,
    ]


async def test_append_with_flags_date_and_appenduid(imap: Harness) -> None:
    client = await imap.client()
    sent = await imap.mailbox("Sent")
    raw = message("draft")
    assert await client.command(
        b'APPEND Sent (\\Seen $Sent) "17-Jul-1996 02:44:25 -0700" {%d+}\r\n%s' % (len(raw), raw)
    ) == [b"TAG OK [APPENDUID %d 1] APPEND completed\r\n" % sent.uid_validity]
    infos = await imap.app.store.fetch_info(sent.id, [1])
    assert infos[0].flags == frozenset({"\\Seen", "$Sent"})
    assert infos[0].internal_date == 837596665.0
    assert await imap.app.store.read_blob(infos[0].blob_id) == raw
    # MULTIAPPEND (RFC 3502) with a synchronising literal for the second message
    tag = client.tag()
    await client.send(b"%s APPEND Sent {%d+}\r\n%s {%d}\r\n" % (tag.encode(), len(raw), raw, len(raw)))
    assert await client.response() == b"+ Ready for literal data\r\n"
    await client.send(raw + b"\r\n")
    assert await client.until_tagged(tag) == [
        b"%s OK [APPENDUID %d 2:3] APPEND completed\r\n" % (tag.encode(), sent.uid_validity)]
    assert await client.command(b"APPEND Nowhere {%d+}\r\n%s" % (len(raw), raw)) == [
        b"TAG NO [TRYCREATE] No folder named Nowhere\r\n"]
    assert await client.command(b"APPEND Sent {0+}\r\n") == [
        b"TAG NO [CANNOT] An empty message cannot be stored\r\n"]


async def test_append_to_the_selected_folder_announces_exists(imap: Harness) -> None:
    client = await imap.client()
    await client.ok("SELECT INBOX")
    raw = message()
    assert (await client.command(b"APPEND INBOX {%d+}\r\n%s" % (len(raw), raw)))[:2] == [
        b"* 1 EXISTS\r\n", b"* 1 RECENT\r\n"]


async def test_append_over_the_size_limit_is_toobig(tmp_path: Path) -> None:
    async with running(tmp_path / "var", max_message_size="1KB") as imap:
        client = await imap.client()
        assert b"APPENDLIMIT=1024" in (await client.command("CAPABILITY"))[0]
        big = b"Subject: big\r\n\r\n" + b"x" * 2000
        tag = client.tag()
        await client.send(b"%s APPEND INBOX {%d}\r\n" % (tag.encode(), len(big)))
        assert await client.response() == (
            b"%s NO [TOOBIG] Message too big (limit 1024 octets)\r\n" % tag.encode())
        # A non-synchronising literal is read and discarded, then refused.
        assert await client.command(b"APPEND INBOX {%d+}\r\n%s" % (len(big), big)) == [
            b"TAG NO [TOOBIG] Message too big (limit 1024 octets)\r\n"]
        assert await client.command("NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_append_over_quota_is_overquota(imap: Harness) -> None:
    await imap.app.accounts.set_quota(USER, 1000)
    client = await imap.client()
    small = message(body="s" * 500)
    tiny = message()
    big = message(body="y" * 1200)
    assert (await client.command(b"APPEND INBOX {%d+}\r\n%s" % (len(small), small)))[-1].startswith(
        b"TAG OK [APPENDUID ")
    assert await client.command(b"APPEND INBOX {%d+}\r\n%s" % (len(big), big)) == [
        b"TAG NO [OVERQUOTA] Quota exceeded\r\n"]
    # MULTIAPPEND is all or nothing.
    assert await client.command(
        b"APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s" % (len(tiny), tiny, len(big), big)
    ) == [b"TAG NO [OVERQUOTA] Quota exceeded\r\n"]
    assert (await client.command("STATUS INBOX (MESSAGES)"))[0] == (
        b"* STATUS INBOX (MESSAGES 1)\r\n")
    await client.ok("SELECT INBOX")
    assert await client.command("COPY 1 Trash") == [b"TAG NO [OVERQUOTA] Quota exceeded\r\n"]


async def test_quota_commands(imap: Harness) -> None:
    await imap.deliver(message(body="z" * 3000))
    account = await imap.app.store.get_account(USER)
    client = await imap.client()
    used = (account.used_bytes + 1023) // 1024
    assert await client.command("GETQUOTAROOT Trash") == [
        b'* QUOTAROOT Trash ""\r\n',
        b'* QUOTA "" (STORAGE %d 1048576)\r\n' % used,
        b"TAG OK GETQUOTAROOT completed\r\n",
    ]
    assert await client.command('GETQUOTA ""') == [
        b'* QUOTA "" (STORAGE %d 1048576)\r\n' % used, b"TAG OK GETQUOTA completed\r\n"]
    assert await client.command("GETQUOTA other") == [
        b"TAG NO [NONEXISTENT] No quota root 'other'\r\n"]
    assert await client.command('SETQUOTA "" (STORAGE 10)') == [
        b"TAG NO [NOPERM] Quotas are set by the administrator\r\n"]
    assert await client.command("GETQUOTAROOT Nothing") == [
        b"TAG NO [NONEXISTENT] No folder named Nothing\r\n"]
    await imap.app.accounts.set_quota(USER, 0)  # unlimited: no quota root
    assert await client.command("GETQUOTAROOT INBOX") == [
        b"* QUOTAROOT INBOX\r\n", b"TAG OK GETQUOTAROOT completed\r\n"]
