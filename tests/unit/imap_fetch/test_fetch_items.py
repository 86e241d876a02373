"""FETCH items answered from entries and the parse-once record, byte-exact."""

from __future__ import annotations

from postbus.imap.fetch import fetch, flag_list
from postbus.imap.proto import FetchAtt
from tests.unit.imap_fetch.samples import NESTED, SIMPLE
from tests.unit.imap_fetch.support import Folder, parse_fetch

SIMPLE_ENVELOPE = (
    b'("Tue, 1 Jul 2003 10:52:37 +0200" "Lunch on Thursday?"'
    b' (("Alice Example" NIL "alice" "example.org"))'
    b' (("Alice Example" NIL "alice" "example.org"))'
    b' (("Alice Example" NIL "alice" "example.org"))'
    b' (("Bob" NIL "bob" "example.net")(NIL NIL "carol" "example.com"))'
    b' (("Dave, D." NIL "dave" "example.com")) NIL NIL "<1234@example.org>")'
)


async def test_flags_uid_internaldate_size(folder: Folder) -> None:
    await folder.add(SIMPLE, flags=["\\Seen", "$Label", "\\Answered"])
    data, outcome = await folder.fetch("1 (FLAGS UID INTERNALDATE RFC822.SIZE)")
    assert data == (
        b'* 1 FETCH (FLAGS (\\Answered \\Seen $Label) UID 1'
        b' INTERNALDATE "01-Jul-2003 10:00:00 +0000" RFC822.SIZE %d)\r\n' % len(SIMPLE)
    )
    assert outcome.seen == [] and outcome.missing == []


async def test_envelope(folder: Folder) -> None:
    await folder.add(SIMPLE)
    data, _ = await folder.fetch("1 ENVELOPE")
    assert data == b"* 1 FETCH (ENVELOPE " + SIMPLE_ENVELOPE + b")\r\n"


async def test_bodystructure_and_body_of_nested_message(folder: Folder) -> None:
    await folder.add(NESTED)
    data, _ = await folder.fetch("1 (BODYSTRUCTURE BODY)")
    inner_env = b'(NIL "inner" ((NIL NIL "c" "example.org")) ((NIL NIL "c" "example.org"))' \
                b' ((NIL NIL "c" "example.org")) NIL NIL NIL NIL NIL)'
    middle_env = b'(NIL "middle" ((NIL NIL "b" "example.org")) ((NIL NIL "b" "example.org"))' \
                 b' ((NIL NIL "b" "example.org")) NIL NIL NIL NIL NIL)'
    assert data == (
        b'* 1 FETCH (BODYSTRUCTURE (("message" "rfc822" NIL NIL NIL "7BIT" 243 ' + middle_env
        + b' (("text" "plain" NIL NIL NIL "7BIT" 11 0 NIL NIL NIL NIL)'
        b'("message" "rfc822" NIL NIL NIL "7BIT" 62 ' + inner_env
        + b' ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 10 0 NIL NIL NIL NIL)'
        b' 4 NIL NIL NIL NIL) "mixed" ("boundary" "mid") NIL NIL NIL) 16 NIL NIL NIL NIL)'
        b'("application" "octet-stream" NIL NIL NIL "base64" 8 NIL NIL NIL NIL)'
        b' "mixed" ("boundary" "outer") NIL NIL NIL)'
        b' BODY (("message" "rfc822" NIL NIL NIL "7BIT" 243 ' + middle_env
        + b' (("text" "plain" NIL NIL NIL "7BIT" 11 0)'
        b'("message" "rfc822" NIL NIL NIL "7BIT" 62 ' + inner_env
        + b' ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 10 0) 4) "mixed") 16)'
        b'("application" "octet-stream" NIL NIL NIL "base64" 8) "mixed"))\r\n'
    )


async def test_single_part_bodystructure(folder: Folder) -> None:
    await folder.add(SIMPLE)
    data, _ = await folder.fetch("1 BODYSTRUCTURE")
    assert data == (b'* 1 FETCH (BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii")'
                    b' NIL NIL "7BIT" 45 3 NIL NIL NIL NIL))\r\n')


async def test_uid_fetch_adds_uid_first(folder: Folder) -> None:
    await folder.add(SIMPLE)
    await folder.add(SIMPLE, flags=["\\Flagged"])
    data, _ = await folder.fetch("2 (RFC822.SIZE FLAGS)", uid=True)
    assert data == b"* 2 FETCH (UID 2 FLAGS (\\Flagged) RFC822.SIZE %d)\r\n" % len(SIMPLE)
    data, _ = await folder.fetch("1:* (FLAGS UID)", uid=True)
    assert data == b"* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\n"


async def test_uid_fetch_on_empty_folder_writes_nothing(folder: Folder) -> None:
    data, outcome = await folder.fetch("* (FLAGS)", uid=True)
    assert data == b"" and outcome.seen == []


async def test_entry_items_first_then_requested_order_and_duplicates_once(folder: Folder) -> None:
    await folder.add(SIMPLE)
    data, _ = await folder.fetch("1 (RFC822.SIZE UID FLAGS RFC822.SIZE INTERNALDATE UID)")
    assert data == (b'* 1 FETCH (UID 1 FLAGS () RFC822.SIZE %d'
                    b' INTERNALDATE "01-Jul-2003 10:00:00 +0000")\r\n' % len(SIMPLE))


async def test_macros(folder: Folder) -> None:
    await folder.add(SIMPLE)
    data, _ = await folder.fetch("1 FAST")
    assert data == (b'* 1 FETCH (FLAGS () INTERNALDATE "01-Jul-2003 10:00:00 +0000"'
                    b' RFC822.SIZE %d)\r\n' % len(SIMPLE))
    data, _ = await folder.fetch("1 ALL")
    assert data.endswith(b" ENVELOPE " + SIMPLE_ENVELOPE + b")\r\n")
    ((_, items),) = parse_fetch((await folder.fetch("1 FULL"))[0])
    assert list(items) == ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"]


async def test_modseq_and_changedsince(folder: Folder) -> None:
    await folder.add(SIMPLE)
    await folder.add(SIMPLE)
    entries = await folder.entries()
    first, second = entries
    data, _ = await folder.fetch(f"1:* (FLAGS) (CHANGEDSINCE {first.modseq})")
    # RFC 7162 §3.1.4.1: only messages changed since, with MODSEQ added
    assert data == b"* 2 FETCH (FLAGS () MODSEQ (%d))\r\n" % second.modseq
    data, _ = await folder.fetch("1 (MODSEQ)")
    assert data == b"* 1 FETCH (MODSEQ (%d))\r\n" % first.modseq
    data, _ = await folder.fetch(f"1:* (UID) (CHANGEDSINCE {second.modseq})", uid=True)
    assert data == b""


async def test_preview(folder: Folder) -> None:
    await folder.add(SIMPLE)
    entries = await folder.entries()
    written: list[bytes] = []

    async def write(data: bytes) -> None:
        written.append(data)

    await fetch(folder.mailboxes, folder.mailbox_id, [(1, entries[0])],
                [FetchAtt("PREVIEW", key=b"PREVIEW")], uid_command=False, readonly=False,
                utf8=False, changed_since=None, write=write)
    assert b"".join(written) == (
        b'* 1 FETCH (PREVIEW "Hi Bob, Shall we have lunch on Thursday?")\r\n')


async def test_utf8_envelope_quoted_only_with_utf8_accept(folder: Folder) -> None:
    raw = "Subject: été\r\nFrom: Zoë <zoe@example.org>\r\n\r\nx\r\n".encode()
    await folder.add(raw)
    plain, _ = await folder.fetch("1 ENVELOPE")
    assert b'{5}\r\n\xc3\xa9t\xc3\xa9' in plain and b"{4}\r\nZo\xc3\xab" in plain
    utf8, _ = await folder.fetch("1 ENVELOPE", utf8=True)
    assert b'"\xc3\xa9t\xc3\xa9"' in utf8 and b'"Zo\xc3\xab"' in utf8


async def test_expunged_message_is_reported_missing(folder: Folder) -> None:
    await folder.add(SIMPLE)
    await folder.add(SIMPLE)
    view = await folder.entries()
    await folder.store.expunge(folder.mailbox_id, [view[0].uid])
    data, outcome = await folder.fetch("1:2 (FLAGS RFC822.SIZE)", entries=view)
    assert data == b"* 2 FETCH (FLAGS () RFC822.SIZE %d)\r\n" % len(SIMPLE)
    assert outcome.missing == [view[0].uid]
    # FLAGS alone is answered from the view, without the store
    data, outcome = await folder.fetch("1:2 FLAGS", entries=view)
    assert data == b"* 1 FETCH (FLAGS ())\r\n* 2 FETCH (FLAGS ())\r\n"


def test_flag_order() -> None:
    flags = frozenset({"$b", "\\Draft", "$a", "\\Seen", "\\Answered", "\\Deleted", "\\Flagged"})
    assert flag_list(flags) == b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft $a $b)"
    assert flag_list(frozenset()) == b"()"
