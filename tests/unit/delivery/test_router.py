"""Recipient routing: mailboxes, aliases, catch-alls, remote targets, loops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.delivery.router import Route, Router
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


def locals_of(route: Route) -> list[str]:
    return [a.address for a in route.local]


async def test_plus_address_reaches_the_user(router: Router) -> None:
    for address in ("anna+news@example.test", "Anna+News@Example.TEST", "anna+@example.test",
                    "anna+a+b@example.test"):
        r = await router.route(address)
        assert locals_of(r) == ["anna@example.test"] and not r.unknown, address
    r = await router.route("nobody+x@example.test")
    assert r.unknown and not r.local
    assert (await router.route("+anna@example.test")).unknown  # nobody before the tag


async def test_exact_alias_or_mailbox_wins_over_the_stripping(router: Router) -> None:
    await router.store.set_alias("anna+sales@example.test", ["bob@example.test"])
    assert locals_of(await router.route("anna+sales@example.test")) == ["bob@example.test"]
    assert locals_of(await router.route("anna+other@example.test")) == ["anna@example.test"]
    await router.store.add_account("bob+shop@example.test", "h", quota_bytes=0)
    assert locals_of(await router.route("bob+shop@example.test")) == ["bob+shop@example.test"]


async def test_plus_address_of_an_alias_and_the_catch_all(router: Router) -> None:
    await router.store.set_alias("team@example.test", ["anna@example.test", "bob@example.test"])
    assert locals_of(await router.route("team+q3@example.test")) == ["anna@example.test", "bob@example.test"]
    await router.store.set_alias("@example.test", ["bob@example.test"])
    # an unknown user's tagged address goes where the user's would: to the catch-all
    assert locals_of(await router.route("nobody+x@example.test")) == ["bob@example.test"]
    assert locals_of(await router.route("anna+x@example.test")) == ["anna@example.test"]


async def test_plus_address_target_and_forwarding(router: Router) -> None:
    await router.store.set_alias("info@example.test", ["bob+info@example.test", "x+y@remote.test"])
    r = await router.route("info@example.test")
    assert locals_of(r) == ["bob@example.test"] and r.remote == ["x+y@remote.test"]


async def test_recipient_delimiter_setting(router: Router) -> None:
    off = Router(router.store, recipient_delimiter="")
    assert (await off.route("anna+news@example.test")).unknown
    assert locals_of(await off.route("anna@example.test")) == ["anna@example.test"]
    dash = Router(router.store, recipient_delimiter="-+")
    assert locals_of(await dash.route("anna-news@example.test")) == ["anna@example.test"]
    assert locals_of(await dash.route("anna+news@example.test")) == ["anna@example.test"]


async def test_forwarding_loop_between_mailboxes_terminates(router: Router) -> None:
    from postbus.delivery.rules import Rules

    rules = Rules(router.store)
    await rules.set_forward("anna@example.test", ["bob@example.test"], keep_copy=False)
    await rules.set_forward("bob@example.test", ["anna@example.test"], keep_copy=True)
    r = await router.route("anna@example.test")
    assert r.loop
    r = await router.route("bob@example.test")
    assert r.loop


async def test_a_new_mailbox_of_the_same_name_has_no_old_rules(router: Router) -> None:
    from postbus.delivery.rules import Rules, Vacation

    rules = Rules(router.store)
    await rules.set_forward("anna@example.test", ["x@remote.test"], keep_copy=False)
    await rules.set_vacation("anna@example.test", Vacation("Away", "back soon"))
    assert (await router.route("anna@example.test")).remote == ["x@remote.test"]
    await router.store.remove_account("anna@example.test")
    again = await router.store.add_account("anna@example.test", "h", quota_bytes=0)
    r = await router.route("anna@example.test")
    assert [a.address for a in r.local] == ["anna@example.test"] and r.remote == []
    assert await rules.vacation("anna@example.test", again.id) is None
    assert await rules.vacation("anna@example.test") is not None  # the record itself is still there
