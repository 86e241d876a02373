"""mailbox.fetch driven by hand-built FetchItems, as the webmail will read a message."""

from __future__ import annotations

from postbus.config import Settings
from postbus.mailbox import fetch as reading
from postbus.mailbox.query import FetchItems, Section
from postbus.mailbox.service import Mailboxes
from tests.unit.imap_fetch.samples import NESTED, SIMPLE
from tests.unit.imap_fetch.support import Folder


async def read(folder: Folder, m: reading.Fetched, section: Section) -> bytes:
    content, _ = await m.section(section)
    if isinstance(content, reading.Span):
        assert m.reader is not None
        return await m.reader.read(content.start, content.end)
    return content


async def test_sections_records_and_gone_messages(folder: Folder) -> None:
    simple = await folder.add(SIMPLE)
    nested = await folder.add(NESTED)
    items = FetchItems(info=True, sections=(Section(text="HEADER.FIELDS", fields=("Subject",)),))
    got = [m async for m in reading.fetch(folder.store, folder.mailbox_id,
                                          [simple, 999, nested], items)]
    assert [(m.uid, m.gone) for m in got] == [(simple, False), (999, True), (nested, False)]
    first = got[0]
    assert first.info is not None and first.info.size == len(SIMPLE)
    assert await read(folder, first, items.sections[0]) == b"Subject: Lunch on\r\n Thursday?\r\n\r\n"
    assert (await first.record()).envelope.message_id == "<1234@example.org>"
    body = await read(folder, first, Section(text="TEXT", partial=(0, 6)))
    assert body == b"Hi Bob"
    # a decoded part: part 2 of NESTED is base64 with NULs
    whole = got[2]
    decoded, binary = await whole.section(Section((2,), decode=True))
    assert binary and isinstance(decoded, bytes) and b"\x00" in decoded
    assert await whole.decoded_size(Section((2,), decode=True)) == len(decoded)
    assert await read(folder, whole, Section((9,))) == b""  # names nothing: empty


async def test_mark_seen_sets_only_unseen(folder: Folder) -> None:
    await folder.add(SIMPLE, flags=["\\Seen"])
    await folder.add(SIMPLE)
    mailboxes = Mailboxes(folder.store, Settings())
    changed = await mailboxes.mark_seen(folder.mailbox_id, await folder.entries())
    assert [e.uid for e in changed] == [2] and "\\Seen" in changed[0].flags
    assert await mailboxes.mark_seen(folder.mailbox_id, await folder.entries()) == []
