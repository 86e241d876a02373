"""MailboxView on its own: recording other sessions' changes, then numbering them."""

from __future__ import annotations

from postbus.mailbox.types import Mailbox, MailboxStatus, MessageEntry
from postbus.mailbox.view import MailboxView
from postbus.store.model import Changes


def entry(uid: int, *flags: str, modseq: int = 1) -> MessageEntry:
    return MessageEntry(uid, frozenset(flags), modseq)


class FakeStore:
    def __init__(self, changes: Changes) -> None:
        self.changes = changes

    async def claim_recent(self, mailbox_id: int, *, claim: bool = True) -> tuple[int, int]:
        # The folder's new messages (above the view's last UID, 3 or 4) are unclaimed.
        return 4, max(e.uid for e in self.changes.changed)

    async def changes_since(self, mailbox_id: int, modseq: int) -> Changes:
        return self.changes


def view(*entries: MessageEntry) -> MailboxView:
    box = Mailbox(7, 1, "INBOX", None, 42, 5, 10)
    return MailboxView(box, list(entries), readonly=False)


def test_open_state() -> None:
    v = view(entry(1, "\\Seen"), entry(2, "$Work"), entry(3, "\\Seen", "$work"))
    assert v.exists == 3 and v.uid_next == 5 and v.modseq == 10
    assert v.first_unseen() == 2
    assert v.flags()[-2:] == ["$Work", "$work"]  # keywords in use, sorted
    # one frozenset per distinct set of flags
    w = view(entry(1, "\\Seen"), entry(2, "\\Seen"))
    assert w.entries[0].flags is w.entries[1].flags
    assert w.numbers([2, 9, 1]) == [2, 1]


def test_many_numbers_with_and_without_gaps() -> None:
    """64 UIDs or more are numbered in bulk: by offset when the UIDs have no gaps,
    else through a map; UIDs the view does not hold are left out either way."""
    dense = view(*(entry(u) for u in range(11, 111)))  # UIDs 11..110, numbers 1..100
    asked = [110, 5, 11, *range(60, 130)]
    assert dense.numbers(asked) == [100, 1, *range(50, 101)]
    gaps = view(*(entry(u) for u in range(11, 211, 2)))  # UIDs 11, 13, ..., 209
    asked = [209, 12, 11, *range(60, 130)]
    assert gaps.numbers(asked) == [100, 1, *((u - 9) // 2 for u in range(61, 130, 2))]


async def test_refresh_records_then_take_numbers_them() -> None:
    v = view(entry(1), entry(2), entry(3))
    v.tracks_recent = True  # an IMAP4rev1 SELECT: claims what it is told of first
    store = FakeStore(Changes(
        highest_modseq=20,
        changed=(entry(1, modseq=12), entry(3, "\\Seen", modseq=15), entry(6, "$x", modseq=18)),
        expunged=(2, 5),  # 5 arrived and left unseen by this view
    ))
    await v.refresh(store)  # type: ignore[arg-type]
    # recorded only: the numbering is unchanged
    assert [e.uid for e in v.entries] == [1, 2, 3]
    assert v.pending_expunge == {2} and [e.uid for e in v.pending_new] == [6]
    assert v.pending_flags == {3}  # 1's flags did not change
    assert v.modseq == 20 and v.uid_next == 7

    changes, keywords = v.take_flag_changes()
    assert [(n, e.uid) for n, e in changes] == [(3, 3)] and keywords == set()
    assert v.expunge(v.pending_expunge) == [2]
    new, keywords = v.take_new()
    assert [e.uid for e in new] == [6] and keywords == {"$x"}
    assert [e.uid for e in v.entries] == [1, 3, 6] and v.recent == {6}
    assert "$x" in v.flags()
    assert v.take_new() == ([], set()) and v.expunge([42]) == []


def test_own_changes() -> None:
    v = view(entry(1), entry(2))
    assert v.apply([entry(2, "\\Seen", "$new", modseq=30)]) == {"$new"}
    assert v.entries[1].flags == {"\\Seen", "$new"}
    assert v.apply([entry(1, "$new")]) == set()  # already known


def test_counters_answer_first_unseen_only_when_they_agree() -> None:
    v = view(entry(1, "\\Seen"), entry(2, "\\Seen"))
    box = Mailbox(7, 1, "INBOX", None, 42, 5, 10)
    assert v.agrees_with(MailboxStatus(box, 2, 0, 100, 0, 0))
    assert v.first_unseen(MailboxStatus(box, 2, 0, 100, 0, 0)) is None
    # the folder moved on after the view was read: the entries decide
    moved = Mailbox(7, 1, "INBOX", None, 42, 6, 11)
    assert not v.agrees_with(MailboxStatus(moved, 3, 1, 150, 0, 0))
    w = view(entry(1, "\\Seen"), entry(2))
    assert w.first_unseen(MailboxStatus(moved, 2, 0, 100, 0, 0)) == 2
    assert w.first_unseen(MailboxStatus(box, 2, 1, 100, 0, 0)) == 2
