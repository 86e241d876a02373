"""CONDSTORE and QRESYNC (RFC 7162) transcripts: mod-sequences, conditional STORE,
VANISHED, and resynchronisation after changes made by another session."""

from __future__ import annotations

import datetime as dt

from tests.unit.imap.harness import Harness, message


async def _deliver(imap: Harness, count: int) -> None:
    for n in range(count):
        await imap.deliver(message(f"m{n + 1}"))


async def _modseq(imap: Harness, folder: str = "INBOX") -> int:
    return int((await imap.mailbox(folder)).highest_modseq)


async def test_condstore_is_advertised_and_every_select_reports_highestmodseq(
        imap: Harness) -> None:
    # Issue 11 gap 6: HIGHESTMODSEQ only with CONDSTORE advertised, then on every
    # successful SELECT and EXAMINE (RFC 7162 §3.1.2.1), with or without (CONDSTORE).
    await _deliver(imap, 1)
    client = await imap.client()
    caps = (await client.command("CAPABILITY"))[0].split()
    assert b"CONDSTORE" in caps and b"QRESYNC" in caps
    modseq = await _modseq(imap)
    highest = b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % modseq
    for command in ("SELECT INBOX", "EXAMINE INBOX", "SELECT INBOX (CONDSTORE)",
                    "EXAMINE INBOX (CONDSTORE)"):
        lines = await client.ok(command)
        assert highest in lines, (command, lines)
        assert not any(b"NOMODSEQ" in line for line in lines)


async def test_thunderbird_flag_resync_with_changedsince(imap: Harness) -> None:
    """Thunderbird: SELECT INBOX (CONDSTORE), then UID FETCH 1:* (FLAGS) (CHANGEDSINCE n)
    with the HIGHESTMODSEQ it kept from its last visit: only what changed comes back."""
    await _deliver(imap, 4)
    first = await imap.client()
    lines = await first.ok("SELECT INBOX (CONDSTORE)")
    kept = next(int(line.split()[3].rstrip(b"]")) for line in lines if b"HIGHESTMODSEQ" in line)
    await first.ok("LOGOUT")
    other = await imap.client()
    await other.ok("SELECT INBOX")
    await other.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
    await other.ok("STORE 4 +FLAGS.SILENT ($Label1)")
    now = await _modseq(imap)
    assert now == kept + 2
    again = await imap.client()
    lines = await again.ok("SELECT INBOX (CONDSTORE)")
    assert b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % now in lines
    assert await again.command(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {kept})") == [
        b"* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (%d))\r\n" % (kept + 1),
        b"* 4 FETCH (UID 4 FLAGS ($Label1) MODSEQ (%d))\r\n" % (kept + 2),
        b"TAG OK UID FETCH completed\r\n",
    ]
    assert await again.command(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {now})") == [
        b"TAG OK UID FETCH completed\r\n"]
    # FETCH MODSEQ is answered from the view, with FLAGS' mod-sequence alongside.
    assert await again.command("FETCH 2 (MODSEQ)") == [
        b"* 2 FETCH (MODSEQ (%d))\r\n" % (kept + 1), b"TAG OK FETCH completed\r\n"]


async def test_flag_updates_carry_uid_and_modseq_once_enabled(imap: Harness) -> None:
    # (`a` selects first, so the messages are \Recent in its session: RFC 3501 §2.3.2.)
    await _deliver(imap, 2)
    a = await imap.client()
    b = await imap.client()
    await a.ok("SELECT INBOX")
    await b.ok("SELECT INBOX")
    await b.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
    # Not enabled: no MODSEQ.
    assert await a.command("NOOP") == [
        b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))\r\n", b"TAG OK NOOP completed\r\n"]
    # STATUS HIGHESTMODSEQ is a CONDSTORE enabling command (RFC 7162 §3.1).
    await a.ok("STATUS Sent (HIGHESTMODSEQ)")
    await b.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
    modseq = await _modseq(imap)
    assert await a.command("NOOP") == [
        b"* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent) MODSEQ (%d))\r\n" % modseq,
        b"TAG OK NOOP completed\r\n"]
    assert await a.command("FETCH 1 (FLAGS)") == [
        b"* 1 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ (%d))\r\n" % (modseq - 1),
        b"TAG OK FETCH completed\r\n"]


async def test_unchangedsince_conflict_reports_modified(imap: Harness) -> None:
    await _deliver(imap, 3)
    a = await imap.client()
    b = await imap.client()
    lines = await a.ok("SELECT INBOX (CONDSTORE)")
    assert b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % await _modseq(imap) in lines
    base = await _modseq(imap)
    await b.ok("SELECT INBOX")
    await b.ok("STORE 2 +FLAGS.SILENT (\\Seen)")  # another client changes message 2
    # RFC 7162 §3.1.3 example: .SILENT still reports the new mod-sequences, the
    # messages changed since UNCHANGEDSINCE are refused and listed in MODIFIED.
    assert await a.command(f"STORE 1:3 (UNCHANGEDSINCE {base}) +FLAGS.SILENT (\\Deleted)") == [
        b"* 1 FETCH (MODSEQ (%d))\r\n" % (base + 2),
        b"* 3 FETCH (MODSEQ (%d))\r\n" % (base + 2),
        b"* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent) MODSEQ (%d))\r\n" % (base + 1),
        b"TAG OK [MODIFIED 2] Conditional STORE failed\r\n",
    ]
    assert await a.command(f"UID STORE 2 (UNCHANGEDSINCE {base}) +FLAGS (\\Deleted)") == [
        b"TAG OK [MODIFIED 2] Conditional STORE failed\r\n"]
    assert await a.command(f"UID STORE 2 (UNCHANGEDSINCE {base + 1}) +FLAGS (\\Deleted)") == [
        b"* 2 FETCH (UID 2 FLAGS (\\Deleted \\Seen \\Recent) MODSEQ (%d))\r\n" % (base + 3),
        b"TAG OK UID STORE completed\r\n"]
    entries = await imap.app.store.list_messages((await imap.mailbox("INBOX")).id)
    assert [sorted(e.flags) for e in entries] == [
        ["\\Deleted"], ["\\Deleted", "\\Seen"], ["\\Deleted"]]


async def test_search_modseq_returns_the_highest_modseq_of_the_matches(imap: Harness) -> None:
    await _deliver(imap, 3)
    client = await imap.client()
    await client.ok("SELECT INBOX")
    base = await _modseq(imap)
    await client.ok("STORE 1 +FLAGS.SILENT (\\Seen)")
    await client.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
    assert await client.command(f"SEARCH MODSEQ {base + 1}") == [
        b"* SEARCH 1 2 (MODSEQ %d)\r\n" % (base + 2), b"TAG OK SEARCH completed\r\n"]
    assert await client.command(f'UID SEARCH MODSEQ "/flags/\\\\seen" all {base + 2}') == [
        b"* SEARCH 2 (MODSEQ %d)\r\n" % (base + 2), b"TAG OK UID SEARCH completed\r\n"]
    assert await client.command(f"SEARCH MODSEQ {base + 5}") == [
        b"* SEARCH\r\n", b"TAG OK SEARCH completed\r\n"]
    lines = await client.command(f"SEARCH RETURN (MIN COUNT) MODSEQ {base + 1}")
    assert lines[0].endswith(b") MIN 1 COUNT 2 MODSEQ %d\r\n" % (base + 2)), lines


def _sans_mailboxid(lines: list[bytes]) -> list[bytes]:
    return [line for line in lines if b"[MAILBOXID " not in line]


async def _changes_in_another_session(imap: Harness) -> tuple[int, int, int]:
    """Five messages; a client that saw them all leaves with HIGHESTMODSEQ `kept`;
    another session then flags 4 and expunges 2 and 3.  Returns (uidvalidity, kept, now)."""
    await _deliver(imap, 5)
    validity = int((await imap.mailbox("INBOX")).uid_validity)
    kept = await _modseq(imap)
    other = await imap.client()
    await other.ok("SELECT INBOX")
    await other.ok("STORE 4 +FLAGS.SILENT (\\Flagged)")
    await other.ok("STORE 2:3 +FLAGS.SILENT (\\Deleted)")
    await other.ok("EXPUNGE")
    await other.ok("LOGOUT")
    return validity, kept, await _modseq(imap)


async def test_qresync_select_reports_vanished_earlier_and_changed_flags_only(
        imap: Harness) -> None:
    validity, kept, now = await _changes_in_another_session(imap)
    client = await imap.client()
    assert await client.command(f"SELECT INBOX (QRESYNC ({validity} {kept}))") == [
        b"TAG BAD QRESYNC is not enabled\r\n"]
    assert await client.command("ENABLE QRESYNC") == [
        b"* ENABLED QRESYNC\r\n", b"TAG OK ENABLE completed\r\n"]
    lines = _sans_mailboxid(await client.command(f"SELECT INBOX (QRESYNC ({validity} {kept}))"))
    assert lines[-4:] == [
        b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % now,
        b"* VANISHED (EARLIER) 2:3\r\n",
        # \Deleted was set on 2 and 3 too, but they are gone: only message 4 changed.
        b"* 2 FETCH (UID 4 FLAGS (\\Flagged) MODSEQ (%d))\r\n" % (kept + 1),
        b"TAG OK [READ-WRITE] SELECT completed\r\n",
    ]
    assert b"* 3 EXISTS\r\n" in lines
    # known-uids limits both; seq-match-data is accepted (the history is complete).
    lines = _sans_mailboxid(await client.command(
        f"EXAMINE INBOX (QRESYNC ({validity} {kept} 1:3 (1:3 1:3)))"))
    assert lines[0] == b"* OK [CLOSED] Previous mailbox closed\r\n"  # RFC 7162 §3.2.11
    assert lines[-3:] == [
        b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % now,
        b"* VANISHED (EARLIER) 2:3\r\n",
        b"TAG OK [READ-ONLY] EXAMINE completed\r\n",
    ]
    # Up to date: nothing to report.  Another UIDVALIDITY: a full resync, so nothing either.
    for params in (f"{validity} {now}", f"{validity + 1} {kept}"):
        lines = _sans_mailboxid(await client.command(f"SELECT INBOX (QRESYNC ({params}))"))
        assert lines[-2:] == [b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % now,
                              b"TAG OK [READ-WRITE] SELECT completed\r\n"]


async def test_qresync_uid_fetch_vanished_and_expunges_as_vanished(imap: Harness) -> None:
    _, kept, _ = await _changes_in_another_session(imap)
    client = await imap.client()
    await client.ok("ENABLE QRESYNC")
    await client.ok("SELECT INBOX")
    assert await client.command(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {kept} VANISHED)") == [
        b"* VANISHED (EARLIER) 2:3\r\n",
        b"* 2 FETCH (UID 4 FLAGS (\\Flagged) MODSEQ (%d))\r\n" % (kept + 1),
        b"TAG OK UID FETCH completed\r\n",
    ]
    assert await client.command(f"UID FETCH 4:5 (FLAGS) (CHANGEDSINCE {kept} VANISHED)") == [
        b"* 2 FETCH (UID 4 FLAGS (\\Flagged) MODSEQ (%d))\r\n" % (kept + 1),
        b"TAG OK UID FETCH completed\r\n",
    ]
    # RFC 7162 §3.2.10: once QRESYNC is enabled, expunges are reported as VANISHED,
    # this session's own and (at the points EXPUNGE may be sent) other sessions'.
    await client.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert await client.command("EXPUNGE") == [
        b"* VANISHED 1\r\n",
        b"TAG OK [HIGHESTMODSEQ %d] EXPUNGE completed\r\n" % await _modseq(imap)]
    other = await imap.client()
    await other.ok("SELECT INBOX")
    await other.ok("UID STORE 5 +FLAGS.SILENT (\\Deleted)")
    await other.ok("EXPUNGE")
    assert await client.command("FETCH 1:* (UID)") == [
        b"* 1 FETCH (UID 4)\r\n", b"TAG OK [EXPUNGEISSUED] Some messages were already expunged\r\n"]
    assert await client.command("NOOP") == [b"* VANISHED 5\r\n", b"TAG OK NOOP completed\r\n"]
    await client.ok("UID MOVE 4 Trash")  # RFC 6851 §4.3: MOVE's expunges are VANISHED too
    lines = await client.command("UID FETCH 1:* (UID)")
    assert lines == [b"TAG OK UID FETCH completed\r\n"]


# -- OBJECTID (RFC 8474) ------------------------------------------------------------------

async def test_mailboxid_in_create_select_status_and_list_and_kept_by_rename(
        imap: Harness) -> None:
    client = await imap.client()
    created = await client.command("CREATE Projects")
    box = await imap.mailbox("Projects")
    ident = b"F%d" % box.object_id
    assert created == [b"TAG OK [MAILBOXID (%s)] CREATE completed\r\n" % ident]
    assert b"* OK [MAILBOXID (%s)] Ok\r\n" % ident in await client.ok("EXAMINE Projects")
    await client.ok("UNSELECT")
    await client.ok("RENAME Projects Work")
    assert await client.command("STATUS Work (MESSAGES MAILBOXID)") == [
        b"* STATUS Work (MESSAGES 0 MAILBOXID (%s))\r\n" % ident,
        b"TAG OK STATUS completed\r\n"]
    lines = await client.command('LIST "" Work RETURN (STATUS (MAILBOXID))')
    assert b"* STATUS Work (MAILBOXID (%s))\r\n" % ident in lines
    inbox = await imap.mailbox("INBOX")
    assert b"MAILBOXID (F%d)" % inbox.object_id in (await client.ok("SELECT INBOX"))[-2]


async def test_emailid_survives_copy_threadid_is_nil_and_search_emailid(imap: Harness) -> None:
    await _deliver(imap, 2)
    client = await imap.client()
    await client.ok("SELECT INBOX")
    lines = await client.command("FETCH 1:2 (EMAILID THREADID)")
    assert len(lines) == 3 and lines[-1] == b"TAG OK FETCH completed\r\n"
    first = lines[0].split(b"EMAILID (")[1].split(b")")[0]
    second = lines[1].split(b"EMAILID (")[1].split(b")")[0]
    assert first != second and first.startswith(b"M") and len(first) == 25
    assert lines[0] == b"* 1 FETCH (THREADID NIL EMAILID (%s))\r\n" % first
    assert await client.command(f"SEARCH EMAILID {second.decode()}") == [
        b"* SEARCH 2\r\n", b"TAG OK SEARCH completed\r\n"]
    assert await client.command("SEARCH THREADID T1") == [
        b"* SEARCH\r\n", b"TAG OK SEARCH completed\r\n"]
    await client.ok("UID MOVE 2 Trash")  # RFC 8474 §5.1: the EMAILID travels with the message
    await client.ok("SELECT Trash")
    assert await client.command("FETCH 1 (EMAILID)") == [
        b"* 1 FETCH (EMAILID (%s))\r\n" % second, b"TAG OK FETCH completed\r\n"]


# -- SAVEDATE (RFC 8514) -------------------------------------------------------------------

async def test_savedate_fetch_and_search(imap: Harness) -> None:
    client = await imap.client()
    raw = message("old")
    # APPEND with an INTERNALDATE in 1999: the save date is today's, not that.
    await client.send(b'a0 APPEND INBOX "01-Jan-1999 10:00:00 +0000" {%d+}\r\n%s\r\n'
                      % (len(raw), raw))
    assert (await client.until_tagged("a0"))[-1].startswith(b"a0 OK")
    await client.ok("SELECT INBOX")
    lines = await client.command("FETCH 1 (INTERNALDATE SAVEDATE)")
    assert lines[0].startswith(b'* 1 FETCH (INTERNALDATE "01-Jan-1999 10:00:00 +0000" SAVEDATE "')
    assert b"1999" not in lines[0].split(b"SAVEDATE")[1]
    saved = lines[0].split(b'SAVEDATE "')[1][:11].decode()  # "dd-Mon-yyyy" (day maybe " d")
    today = dt.datetime.strptime(saved.strip(), "%d-%b-%Y").date()
    tomorrow = today + dt.timedelta(days=1)
    day = f"{today.day}-{today:%b}-{today.year}"
    for key, found in ((f"SAVEDSINCE {day}", b" 1"), (f"SAVEDON {day}", b" 1"),
                       ("SAVEDBEFORE 1-Jan-2000", b""), ("BEFORE 1-Jan-2000", b" 1"),
                       (f"SAVEDBEFORE {tomorrow.day}-{tomorrow:%b}-{tomorrow.year}", b" 1"),
                       ("SAVEDATESUPPORTED", b" 1")):
        assert await client.command(f"SEARCH {key}") == [
            b"* SEARCH%s\r\n" % found, b"TAG OK SEARCH completed\r\n"], key
