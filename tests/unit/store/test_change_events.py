"""The change hub keeps one pending change per folder and kind."""

from __future__ import annotations

from postbus.store.events import ChangeHub
from postbus.store.model import Change


async def test_a_folder_change_is_not_hidden_by_a_message_change_to_the_same_folder() -> None:
    hub = ChangeHub()
    with hub.subscribe(7) as sub:
        hub.publish(Change(7, 3, 0, "mailboxes"))  # RENAME of folder 3
        hub.publish(Change(7, 3, 12))  # then a delivery to it
        hub.publish(Change(7, 3, 13))  # and another: coalesced with the first
        hub.publish(Change(7, 0, 0, "subscriptions"))
        assert sub.has_pending
        assert sorted(sub.pending(), key=lambda c: (c.mailbox_id, c.kind)) == [
            Change(7, 0, 0, "subscriptions"), Change(7, 3, 0, "mailboxes"), Change(7, 3, 13)]
        assert not sub.has_pending
