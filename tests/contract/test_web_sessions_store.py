"""Webmail sessions through the store contract, on both backends (issue 13)."""

from __future__ import annotations

from postbus.store.contract import Store
from postbus.store.model import WebSession


def session(key: str, account_id: int, last_seen: float = 100.0) -> WebSession:
    return WebSession(key, account_id, "csrf-" + key, "", 50.0, last_seen)


async def test_create_get_update_delete(store: Store) -> None:
    await store.add_domain("example.test")
    alice = await store.add_account("alice@example.test", "h", quota_bytes=0)
    s = session("a" * 64, alice.id)
    await store.create_web_session(s)
    assert await store.get_web_session(s.id_hash) == s
    await store.update_web_session(s.id_hash, last_seen=200.0)
    await store.update_web_session(s.id_hash, language="nl")
    got = await store.get_web_session(s.id_hash)
    assert got is not None and (got.last_seen, got.language, got.created) == (200.0, "nl", 50.0)
    await store.delete_web_session(s.id_hash)
    assert await store.get_web_session(s.id_hash) is None
    await store.update_web_session(s.id_hash, last_seen=300.0)  # gone stays gone
    assert await store.get_web_session(s.id_hash) is None


async def test_delete_idle_and_per_account(store: Store) -> None:
    await store.add_domain("example.test")
    alice = await store.add_account("alice@example.test", "h", quota_bytes=0)
    bob = await store.add_account("bob@example.test", "h", quota_bytes=0)
    await store.create_web_session(session("1" * 64, alice.id, last_seen=10.0))
    await store.create_web_session(session("2" * 64, alice.id, last_seen=500.0))
    await store.create_web_session(session("3" * 64, bob.id, last_seen=500.0))
    assert await store.delete_web_sessions(idle_before=100.0) == 1
    assert await store.get_web_session("1" * 64) is None
    assert await store.delete_web_sessions(account_id=alice.id) == 1
    assert await store.get_web_session("2" * 64) is None
    assert await store.get_web_session("3" * 64) is not None


async def test_removing_the_account_removes_its_sessions(store: Store) -> None:
    await store.add_domain("example.test")
    alice = await store.add_account("alice@example.test", "h", quota_bytes=0)
    await store.create_web_session(session("4" * 64, alice.id))
    await store.remove_account("alice@example.test")
    assert await store.get_web_session("4" * 64) is None
