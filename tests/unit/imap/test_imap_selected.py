"""The selected view on its own: set resolution, and recording versus announcing changes."""

from __future__ import annotations

import pytest

from postbus.imap.proto import ImapBad, SequenceSet
from postbus.imap.selected import SelectedMailbox, flag_list
from postbus.store.model import Changes, Mailbox, MessageEntry


def entry(uid: int, *flags: str, modseq: int = 1) -> MessageEntry:
    return MessageEntry(uid, frozenset(flags), modseq)


class FakeStore:
    def __init__(self, changes: Changes) -> None:
        self.changes = changes
        self.asked: list[int] = []

    async def claim_recent(self, mailbox_id: int, *, claim: bool = True) -> tuple[int, int]:
        # The folder's new messages (above the view's last UID, 3 or 4) are unclaimed.
        return 4, max(e.uid for e in self.changes.changed)

    async def changes_since(self, mailbox_id: int, modseq: int) -> Changes:
        self.asked.append(modseq)
        return self.changes


def view(*uids: int) -> SelectedMailbox:
    box = Mailbox(7, 1, "INBOX", None, 42, max(uids, default=0) + 1, 10)
    return SelectedMailbox(box, [entry(u) for u in uids], readonly=False)


def resolve(v: SelectedMailbox, text: str, uid: bool) -> list[tuple[int, int]]:
    return [(seq, e.uid) for seq, e in v.resolve(SequenceSet.parse(text), uid)]


def test_sequence_numbers_and_uids() -> None:
    v = view(3, 5, 9, 10)
    assert resolve(v, "2:*", uid=False) == [(2, 5), (3, 9), (4, 10)]
    assert resolve(v, "*:3", uid=False) == [(3, 9), (4, 10)]
    assert resolve(v, "4:9", uid=True) == [(2, 5), (3, 9)]
    assert resolve(v, "11:*", uid=True) == [(4, 10)]  # RFC 9051 §6.4.9: n:* has the last
    assert resolve(v, "1,2,6:8", uid=True) == []
    with pytest.raises(ImapBad):
        v.resolve(SequenceSet.parse("5"), uid=False)
    assert resolve(view(), "*", uid=False) == []
    assert resolve(view(), "1:*", uid=True) == []


def test_saved_result() -> None:
    v = view(3, 5, 9)
    assert resolve(v, "$", uid=True) == []
    v.saved = [5, 9, 12]
    assert resolve(v, "$", uid=False) == [(2, 5), (3, 9)]


async def test_refresh_records_and_announce_orders_the_responses() -> None:
    v = view(1, 2, 3, 4)
    v.tracks_recent = True  # an IMAP4rev1 SELECT: claims what it is told of first
    store = FakeStore(Changes(
        highest_modseq=20,
        changed=(entry(1, modseq=12), entry(3, "\\Seen", modseq=15), entry(6, "$x", modseq=18)),
        expunged=(2, 4, 5),  # 5 was never seen by this view
    ))
    await v.refresh(store)  # type: ignore[arg-type]
    assert store.asked == [10] and v.modseq == 20
    assert v.exists == 4 and v.pending_expunge == {2, 4}
    # While expunges are held back, the new message comes after the old numbers.
    held = v.announce(expunge=False, rev1=True, uid=False)
    assert held == (
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $x)\r\n"
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $x \\*)]"
        b" Flags permitted\r\n"
        b"* 5 EXISTS\r\n* 1 RECENT\r\n"
        b"* 3 FETCH (FLAGS (\\Seen))\r\n"  # the new message's flags are the client's to fetch
    )
    assert v.announce(expunge=True, rev1=True, uid=True) == b"* 4 EXPUNGE\r\n* 2 EXPUNGE\r\n"
    assert [e.uid for e in v.entries] == [1, 3, 6]
    assert v.uid_next == 7
    assert v.announce(expunge=True, rev1=True, uid=True) == b""


def test_own_expunge_and_update() -> None:
    v = view(1, 2, 3)
    assert v.update([entry(2, "\\Seen", modseq=11)]) == b""
    assert v.entries[1].flags == {"\\Seen"}
    assert v.remove([1, 3]) == b"* 3 EXPUNGE\r\n* 1 EXPUNGE\r\n"
    assert v.first_unseen() is None


def test_flag_order() -> None:
    assert flag_list(frozenset({"$b", "\\Seen", "$a", "\\Answered"})) == b"(\\Answered \\Seen $a $b)"
