"""Address book, preferences and written-to addresses through the contract (issue 13)."""

from __future__ import annotations

import pytest

from postbus.store import NotFound
from postbus.store.contract import Store
from postbus.store.userdata import NewContact


async def _two_accounts(store: Store) -> tuple[int, int]:
    await store.add_domain("example.test")
    anna = await store.add_account("anna@example.test", "h", quota_bytes=0)
    bob = await store.add_account("bob@example.test", "h", quota_bytes=0)
    return anna.id, bob.id


async def test_contacts_belong_to_one_account(store: Store) -> None:
    anna, bob = await _two_accounts(store)
    made = await store.add_contacts(anna, [NewContact("zoe", "zoe@x.test", "met at FOSDEM"),
                                           NewContact("Adam", "adam@x.test")])
    assert [c.email for c in made] == ["zoe@x.test", "adam@x.test"]
    assert [c.name for c in await store.list_contacts(anna)] == ["Adam", "zoe"]
    assert await store.list_contacts(bob) == []
    zoe = made[0]
    assert await store.get_contact(anna, zoe.id) == zoe
    assert await store.get_contact(bob, zoe.id) is None
    changed = await store.update_contact(anna, zoe.id, NewContact("Zoë", "zoe@y.test", ""))
    assert (changed.name, changed.email, changed.notes) == ("Zoë", "zoe@y.test", "")
    assert await store.get_contact(anna, zoe.id) == changed
    with pytest.raises(NotFound):
        await store.update_contact(bob, zoe.id, NewContact("x", "x@x.test"))
    assert await store.remove_contacts(bob, [zoe.id]) == 0
    assert await store.remove_contacts(anna, [zoe.id, 999999]) == 1
    assert [c.name for c in await store.list_contacts(anna)] == ["Adam"]


async def test_user_settings_replace_and_go_with_the_account(store: Store) -> None:
    anna, bob = await _two_accounts(store)
    assert await store.get_user_settings(anna) is None
    await store.set_user_settings(anna, '{"language": "nl"}')
    await store.set_user_settings(anna, '{"language": "fr"}')
    assert await store.get_user_settings(anna) == '{"language": "fr"}'
    assert await store.get_user_settings(bob) is None
    await store.add_contacts(anna, [NewContact("", "c@x.test")])
    await store.record_written_to(anna, [("w@x.test", "")], 1.0, 10)
    await store.remove_account("anna@example.test")
    assert await store.get_user_settings(anna) is None
    assert await store.list_contacts(anna) == []
    assert await store.list_written_to(anna) == []
    with pytest.raises(NotFound):
        await store.set_user_settings(anna, "{}")
    with pytest.raises(NotFound):
        await store.add_contacts(anna, [NewContact("", "c@x.test")])


async def test_written_to_keeps_the_most_recent(store: Store) -> None:
    anna, bob = await _two_accounts(store)
    await store.record_written_to(anna, [("a@x.test", "Anna A"), ("b@x.test", "")], 10.0, 3)
    await store.record_written_to(anna, [("c@x.test", "")], 20.0, 3)
    await store.record_written_to(anna, [("a@x.test", "")], 30.0, 3)  # known name is kept
    written = await store.list_written_to(anna)
    assert [(w.address, w.name, w.last_used, w.uses) for w in written] == [
        ("a@x.test", "Anna A", 30.0, 2), ("c@x.test", "", 20.0, 1), ("b@x.test", "", 10.0, 1)]
    await store.record_written_to(anna, [("d@x.test", "D")], 40.0, 3)  # b is the oldest: dropped
    assert [w.address for w in await store.list_written_to(anna)] == [
        "d@x.test", "a@x.test", "c@x.test"]
    assert await store.list_written_to(bob) == []
