"""Domains, accounts, aliases, administrators and settings through the contract."""

from __future__ import annotations

import asyncio

import pytest

from postbus.store import AlreadyExists, NotFound
from postbus.store.contract import Store
from postbus.store.model import SPECIAL_USE_FOLDERS


async def test_domain_lifecycle(store: Store) -> None:
    d = await store.add_domain("example.test")
    assert d.name == "example.test"
    with pytest.raises(AlreadyExists):
        await store.add_domain("example.test")
    assert [x.name for x in await store.list_domains()] == ["example.test"]
    assert (await store.get_domain("example.test")) == d
    await store.remove_domain("example.test")
    assert await store.get_domain("example.test") is None
    with pytest.raises(NotFound):
        await store.remove_domain("example.test")


async def test_account_gets_special_use_folders(store: Store) -> None:
    await store.add_domain("example.test")
    a = await store.add_account("alice@example.test", "hash", quota_bytes=1 << 30)
    boxes = {b.name: b.special_use for b in await store.list_mailboxes(a.id)}
    assert boxes == dict(SPECIAL_USE_FOLDERS)
    assert (await store.get_account("alice@example.test")) == a
    assert (await store.get_account_by_id(a.id)) == a
    with pytest.raises(AlreadyExists):
        await store.add_account("alice@example.test", "hash", quota_bytes=0)
    with pytest.raises(NotFound):
        await store.add_account("bob@nowhere.test", "hash", quota_bytes=0)


async def test_update_and_remove_account(store: Store) -> None:
    await store.add_domain("example.test")
    await store.add_account("alice@example.test", "h1", quota_bytes=10)
    a = await store.update_account("alice@example.test", password_hash="h2", enabled=False)
    assert (a.password_hash, a.enabled, a.quota_bytes) == ("h2", False, 10)
    a = await store.update_account("alice@example.test", quota_bytes=20)
    assert (a.password_hash, a.quota_bytes) == ("h2", 20)
    assert [x.address for x in await store.list_accounts("example.test")] == ["alice@example.test"]
    await store.remove_account("alice@example.test")
    assert await store.get_account("alice@example.test") is None
    with pytest.raises(NotFound):
        await store.update_account("alice@example.test", quota_bytes=1)


async def test_remove_domain_removes_accounts_and_aliases(store: Store) -> None:
    await store.add_domain("example.test")
    a = await store.add_account("alice@example.test", "h", quota_bytes=0)
    await store.set_alias("info@example.test", ["alice@example.test"])
    await store.remove_domain("example.test")
    assert await store.get_account("alice@example.test") is None
    assert await store.get_alias("info@example.test") is None
    assert await store.list_mailboxes(a.id) == []


async def test_aliases(store: Store) -> None:
    await store.add_domain("example.test")
    await store.set_alias("info@example.test", ["a@example.test", "b@other.test"])
    await store.set_alias("@example.test", ["a@example.test"])
    alias = await store.get_alias("info@example.test")
    assert alias is not None and alias.targets == ("a@example.test", "b@other.test")
    await store.set_alias("info@example.test", ["c@example.test"])
    assert (await store.get_alias("info@example.test")).targets == ("c@example.test",)  # type: ignore[union-attr]
    assert [a.source for a in await store.list_aliases("example.test")] == [
        "@example.test", "info@example.test"]
    await store.remove_alias("info@example.test")
    with pytest.raises(NotFound):
        await store.remove_alias("info@example.test")
    with pytest.raises(NotFound):
        await store.set_alias("x@unknown.test", ["a@example.test"])


async def test_admins(store: Store) -> None:
    await store.add_admin("root", "h", operator=True)
    await store.add_admin("web", "h", operator=False, domains=["example.test"])
    with pytest.raises(AlreadyExists):
        await store.add_admin("root", "h", operator=True)
    web = await store.get_admin("web")
    assert web is not None and not web.operator and web.domains == ("example.test",)
    assert [a.name for a in await store.list_admins()] == ["root", "web"]
    assert (await store.update_admin("web", password_hash="h2")).password_hash == "h2"
    await store.remove_admin("web")
    assert await store.get_admin("web") is None


async def test_settings(store: Store) -> None:
    assert await store.get_setting("k") is None
    await store.set_setting("k", "v")
    await store.set_setting("k", "w")
    assert await store.get_setting("k") == "w"
    await store.set_setting("k", None)
    assert await store.get_setting("k") is None


async def test_swap_setting_is_compare_and_set(store: Store) -> None:
    assert await store.swap_setting("lease", None, "a 1")  # absent -> set
    assert not await store.swap_setting("lease", None, "b 1")  # present: refused
    assert not await store.swap_setting("lease", "x", "b 1")  # other value: refused
    assert await store.get_setting("lease") == "a 1"
    assert await store.swap_setting("lease", "a 1", "a 2")
    assert not await store.swap_setting("lease", "a 1", None)
    assert await store.swap_setting("lease", "a 2", None)
    assert await store.get_setting("lease") is None
    assert await store.swap_setting("lease", None, None)  # absent stays absent


async def test_swap_setting_has_one_winner_among_concurrent_callers(store: Store) -> None:
    results = await asyncio.gather(*(store.swap_setting("race", None, f"n{i}") for i in range(20)))
    assert sum(results) == 1
    assert await store.get_setting("race") == f"n{results.index(True)}"


async def test_record_login_keeps_the_latest(store: Store) -> None:
    await store.add_domain("example.test")
    a = await store.add_account("alice@example.test", "hash", quota_bytes=0)
    assert a.last_login is None
    await store.record_login(a.id, 1_800_000_000.5)
    found = await store.get_account("alice@example.test")
    assert found is not None and found.last_login == 1_800_000_000.5
    await store.record_login(a.id, 1_700_000_000.0)  # an older write arriving late
    listed = await store.list_accounts("example.test")
    assert [x.last_login for x in listed] == [1_800_000_000.5]
    await store.record_login(a.id + 1000, 1_800_000_001.0)  # no such account: no error
