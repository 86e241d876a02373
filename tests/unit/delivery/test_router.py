"""Recipient routing: mailboxes, aliases, catch-alls, remote targets, loops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.delivery.router import Router
from postbus.store.sqlite.backend import SqliteStore


@pytest.fixture
async def router(tmp_path: Path) -> AsyncIterator[Router]:
    store = SqliteStore(tmp_path)
    await store.open()
    await store.add_domain("example.test")
    for name in ("anna", "bob"):
        await store.add_account(f"{name}@example.test", "h", quota_bytes=0)
    yield Router(store)
    await store.close()


async def test_mailbox_and_unknown_and_remote(router: Router) -> None:
    r = await router.route("Anna@Example.TEST")
    assert [a.address for a in r.local] == ["anna@example.test"] and not r.unknown
    r = await router.route("nobody@example.test")
    assert r.unknown and r.hosted and not r.local
    r = await router.route("someone@elsewhere.test")
    assert not r.hosted and r.remote == ["someone@elsewhere.test"]


async def test_alias_expands_to_local_and_remote(router: Router) -> None:
    await router.store.set_alias("team@example.test", ["anna@example.test", "bob@example.test", "x@remote.test"])
    r = await router.route("team@example.test")
    assert [a.address for a in r.local] == ["anna@example.test", "bob@example.test"]
    assert r.remote == ["x@remote.test"]


async def test_catch_all_only_when_nothing_matches(router: Router) -> None:
    await router.store.set_alias("@example.test", ["bob@example.test"])
    assert [a.address for a in (await router.route("anything@example.test")).local] == ["bob@example.test"]
    assert [a.address for a in (await router.route("anna@example.test")).local] == ["anna@example.test"]


async def test_mailbox_with_alias_of_same_name_keeps_a_copy(router: Router) -> None:
    await router.store.set_alias("anna@example.test", ["anna@example.test", "bob@example.test"])
    r = await router.route("anna@example.test")
    assert [a.address for a in r.local] == ["anna@example.test", "bob@example.test"]


async def test_alias_loops_terminate(router: Router) -> None:
    await router.store.set_alias("a@example.test", ["b@example.test"])
    await router.store.set_alias("b@example.test", ["a@example.test", "anna@example.test"])
    r = await router.route("a@example.test")
    assert r.loop and [a.address for a in r.local] == ["anna@example.test"]
    await router.store.set_alias("c@example.test", ["d@example.test"])
    await router.store.set_alias("d@example.test", ["c@example.test"])
    r = await router.route("c@example.test")
    assert r.loop and r.unknown


async def test_duplicate_targets_deliver_once(router: Router) -> None:
    await router.store.set_alias("x@example.test", ["anna@example.test", "y@example.test"])
    await router.store.set_alias("y@example.test", ["anna@example.test"])
    r = await router.route("x@example.test")
    assert [a.address for a in r.local] == ["anna@example.test"]


async def test_forwarding_with_and_without_a_copy(router: Router) -> None:
    await router.rules.set_forward("anna@example.test", ["x@remote.test", "bob@example.test"], keep_copy=False)
    r = await router.route("anna@example.test")
    assert [a.address for a in r.local] == ["bob@example.test"] and r.remote == ["x@remote.test"]
    await router.rules.set_forward("anna@example.test", ["x@remote.test"], keep_copy=True)
    r = await router.route("anna@example.test")
    assert [a.address for a in r.local] == ["anna@example.test"] and r.remote == ["x@remote.test"]
    await router.rules.clear_forward("anna@example.test")
    r = await router.route("anna@example.test")
    assert [a.address for a in r.local] == ["anna@example.test"] and r.remote == []


async def test_forwarding_loops_between_mailboxes_terminate(router: Router) -> None:
    await router.rules.set_forward("anna@example.test", ["bob@example.test"], keep_copy=False)
    await router.rules.set_forward("bob@example.test", ["anna@example.test"], keep_copy=False)
    r = await router.route("anna@example.test")
    assert r.loop and r.unknown
