"""The administration records through the contract (issue 14): audit log, API
tokens, TOTP steps and domain suspensions, on both backends."""

from __future__ import annotations

import pytest

from postbus.store import NotFound
from postbus.store.admin_model import AuditEntry
from postbus.store.contract import Store


def entry(n: int, domain: str) -> AuditEntry:
    return AuditEntry(0, 1000.0 + n, "boss", "192.0.2.1", "mailbox.create", f"u{n}@{domain}",
                      domain, f"entry {n}")


async def test_audit_is_newest_first_and_scoped_by_domain(store: Store) -> None:
    ids = [await store.append_audit(entry(n, d)) for n, d in
           enumerate(["a.test", "b.test", "a.test", "", "a.test"])]
    assert ids == sorted(ids) and len(set(ids)) == 5
    everything = await store.list_audit(domains=None)
    assert [e.id for e in everything] == ids[::-1]
    assert everything[-1] == AuditEntry(ids[0], 1000.0, "boss", "192.0.2.1", "mailbox.create",
                                        "u0@a.test", "a.test", "entry 0")
    of_a = await store.list_audit(domains=["a.test"])
    assert [e.target for e in of_a] == ["u4@a.test", "u2@a.test", "u0@a.test"]
    assert await store.list_audit(domains=[]) == []
    page = await store.list_audit(domains=["a.test", "b.test"], before=ids[4], limit=2)
    assert [e.target for e in page] == ["u2@a.test", "u1@b.test"]


async def test_api_tokens_belong_to_their_administrator(store: Store) -> None:
    await store.add_admin("boss", "h", operator=True)
    await store.add_admin("other", "h", operator=True)
    t1 = await store.add_api_token("boss", "d1", label="ci", created=5.0)
    t2 = await store.add_api_token("boss", "d2", label="", created=6.0)
    assert (t1.admin, t1.digest, t1.label, t1.created) == ("boss", "d1", "ci", 5.0)
    assert await store.find_api_token("d1") == t1
    assert await store.find_api_token("nope") is None
    assert await store.list_api_tokens("boss") == [t1, t2]
    assert await store.list_api_tokens("other") == []
    with pytest.raises(NotFound):
        await store.remove_api_token("other", t1.id)  # not theirs
    with pytest.raises(NotFound):
        await store.add_api_token("ghost", "d3", label="", created=0.0)
    await store.remove_api_token("boss", t1.id)
    assert await store.find_api_token("d1") is None
    await store.remove_admin("boss")  # takes its tokens along
    assert await store.find_api_token("d2") is None


async def test_totp_steps_are_claimed_once(store: Store) -> None:
    await store.add_admin("boss", "h", operator=True)
    assert await store.get_totp_secret("boss") is None
    assert not await store.claim_totp_step("boss", 10)  # no secret, nothing to claim
    await store.set_totp_secret("boss", "JBSWY3DPEHPK3PXP")
    assert await store.get_totp_secret("boss") == "JBSWY3DPEHPK3PXP"
    assert await store.claim_totp_step("boss", 10)
    assert not await store.claim_totp_step("boss", 10)  # replay
    assert not await store.claim_totp_step("boss", 9)  # older
    assert await store.claim_totp_step("boss", 11)
    await store.set_totp_secret("boss", "KRSXG5DSNFXGOIDB")  # re-enrolment resets the step
    assert await store.claim_totp_step("boss", 1)
    await store.set_totp_secret("boss", None)
    assert await store.get_totp_secret("boss") is None
    with pytest.raises(NotFound):
        await store.set_totp_secret("ghost", "X")


async def test_domain_suspension(store: Store) -> None:
    await store.add_domain("a.test")
    await store.add_domain("b.test")
    assert await store.list_suspended_domains() == []
    await store.set_domain_suspended("b.test", True)
    await store.set_domain_suspended("b.test", True)  # idempotent
    await store.set_domain_suspended("a.test", True)
    assert await store.list_suspended_domains() == ["a.test", "b.test"]
    await store.set_domain_suspended("a.test", False)
    assert await store.list_suspended_domains() == ["b.test"]
    await store.remove_domain("b.test")
    assert await store.list_suspended_domains() == []
    with pytest.raises(NotFound):
        await store.set_domain_suspended("c.test", True)


async def test_admin_sessions(store: Store) -> None:
    await store.add_admin("boss", "h", operator=True)
    made = await store.create_admin_session("boss", "hash1", "csrf1", 10.0)
    assert await store.get_admin_session("hash1") == made
    assert (made.admin, made.csrf_token, made.created, made.last_seen) == ("boss", "csrf1", 10.0,
                                                                            10.0)
    await store.touch_admin_session("hash1", 20.0)
    found = await store.get_admin_session("hash1")
    assert found is not None and found.last_seen == 20.0
    await store.delete_admin_session("hash1")
    await store.delete_admin_session("hash1")
    assert await store.get_admin_session("hash1") is None
    with pytest.raises(NotFound):
        await store.create_admin_session("ghost", "hash2", "c", 0.0)
    await store.create_admin_session("boss", "hash3", "c", 0.0)
    await store.remove_admin("boss")
    assert await store.get_admin_session("hash3") is None


async def test_a_change_and_its_audit_entry_commit_together(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """`audit=`: the entry is written in the change's transaction: both or neither."""
    await store.add_domain("a.test", audit=entry(1, "a.test"))
    await store.add_account("u1@a.test", "h", quota_bytes=0, audit=entry(2, "a.test"))
    await store.set_setting("forward:u1@a.test", "{}", audit=entry(3, "a.test"))
    await store.add_admin("boss", "h", operator=True)
    made = await store.add_api_token("boss", "d1", label="", created=1.0, audit=lambda t: (
        AuditEntry(0, 1.0, "boss", "local", "token.create", "boss", "", f"token {t.id}")))
    assert [e.detail for e in await store.list_audit(domains=None)] == [
        f"token {made.id}", "entry 3", "entry 2", "entry 1"]
    # a refused change leaves no entry
    with pytest.raises(NotFound):
        await store.remove_account("ghost@a.test", audit=entry(4, "a.test"))
    with pytest.raises(NotFound):
        await store.update_admin("ghost", password_hash="h", audit=entry(5, ""))
    assert len(await store.list_audit(domains=None)) == 4
    # an entry that cannot be written undoes its change
    from postbus.store.postgres import admin as pg_admin
    from postbus.store.sqlite import admin as sqlite_admin

    def broken(*args: object) -> int:
        raise RuntimeError("the audit log is full")

    async def broken_async(*args: object) -> int:
        raise RuntimeError("the audit log is full")

    monkeypatch.setattr(sqlite_admin, "append_audit", broken)
    monkeypatch.setattr(pg_admin, "append_audit", broken_async)
    with pytest.raises(RuntimeError):
        await store.remove_account("u1@a.test", audit=entry(6, "a.test"))
    with pytest.raises(RuntimeError):
        await store.set_domain_suspended("a.test", True, audit=entry(7, "a.test"))
    with pytest.raises(RuntimeError):
        await store.set_setting("forward:u1@a.test", None, audit=entry(8, "a.test"))
    with pytest.raises(RuntimeError):
        await store.add_api_token("boss", "d2", label="", created=2.0,
                                  audit=lambda t: entry(9, ""))
    monkeypatch.undo()
    assert await store.find_api_token("d2") is None
    assert await store.get_account("u1@a.test") is not None
    assert await store.list_suspended_domains() == []
    assert await store.get_setting("forward:u1@a.test") == "{}"
    assert len(await store.list_audit(domains=None)) == 4
