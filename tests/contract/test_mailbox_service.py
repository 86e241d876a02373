"""The mailbox rules run through the service on every backend (RFC 9051 §6.3,
RFC 3501 §6.3.9, RFC 5258 §3): the backends store, `Mailboxes` decides."""

from __future__ import annotations

import pytest

from postbus.config import from_dict
from postbus.mailbox import limits, service
from postbus.mailbox.errors import (
    AlreadyExists,
    Conflict,
    InvalidName,
    LimitReached,
    NotFound,
    OverQuota,
    SpecialUseRefused,
    TooBig,
)
from postbus.mailbox.listing import ListOptions
from postbus.mailbox.service import Mailboxes, NewMessage
from postbus.mailbox.types import SPECIAL_USE_FOLDERS, Account
from postbus.store.contract import Store

from .conftest import message

DEFAULT_NAMES = sorted(name for name, _ in SPECIAL_USE_FOLDERS)


async def _setup(store: Store, quota: int = 0) -> tuple[Mailboxes, Account]:
    await store.add_domain("example.test")
    account = await store.add_account("alice@example.test", "h", quota_bytes=quota)
    return Mailboxes(store, from_dict({"limits": {"max_message_size": 1000}})), account


async def _names(mailboxes: Mailboxes, account: Account) -> list[str]:
    return [f.name for f in await mailboxes.tree(account.id) if f.mailbox is not None]


async def test_create_makes_parents_and_folds_inbox(store: Store) -> None:
    mailboxes, acc = await _setup(store)
    made = await mailboxes.create(acc.id, "Projects/2025/Q1/")  # RFC 9051 §6.3.4
    assert made.name == "Projects/2025/Q1"
    assert {"Projects", "Projects/2025", "Projects/2025/Q1"} <= set(await _names(mailboxes, acc))
    assert (await mailboxes.create(acc.id, "inbox/Sub")).name == "INBOX/Sub"
    assert (await mailboxes.get(acc.id, "Inbox/Sub")).name == "INBOX/Sub"
    with pytest.raises(AlreadyExists, match="INBOX always exists"):
        await mailboxes.create(acc.id, "inbox")
    with pytest.raises(AlreadyExists, match="Sent already exists"):
        await mailboxes.create(acc.id, "Sent")
    with pytest.raises(InvalidName):
        await mailboxes.create(acc.id, "a//b")
    with pytest.raises(SpecialUseRefused):
        await mailboxes.create(acc.id, "Everything", special_use="\\All")
    drafts = await mailboxes.create(acc.id, "Old drafts", special_use="\\Drafts")
    assert drafts.special_use == "\\Drafts"


async def test_create_does_not_subscribe_and_new_accounts_have_special_use_subscribed(
        store: Store) -> None:
    mailboxes, acc = await _setup(store)
    assert await mailboxes.subscriptions(acc.id) == DEFAULT_NAMES
    await mailboxes.create(acc.id, "Work/Clients")
    assert await mailboxes.subscriptions(acc.id) == DEFAULT_NAMES


async def test_delete_and_rename_leave_subscriptions_alone(store: Store) -> None:
    mailboxes, acc = await _setup(store)
    await mailboxes.create(acc.id, "Old")
    await mailboxes.create(acc.id, "Moving")
    await mailboxes.subscribe(acc.id, "Old")
    await mailboxes.subscribe(acc.id, "Moving")
    await mailboxes.delete(acc.id, "Old")
    await mailboxes.rename(acc.id, "Moving", "Moved")
    subs = await mailboxes.subscriptions(acc.id)
    assert "Old" in subs and "Moving" in subs and "Moved" not in subs
    listed = await mailboxes.list_folders(acc.id, ListOptions(("*",), subscribed=True))
    by_name = {e.name: e for e in listed}
    assert by_name["Old"].mailbox is None and by_name["Old"].subscribed  # \NonExistent
    assert by_name["Moving"].mailbox is None
    assert "Moved" not in by_name
    with pytest.raises(NotFound):
        await mailboxes.subscribe(acc.id, "Old")  # no folder: refused
    await mailboxes.unsubscribe(acc.id, "Old")  # a name without a folder can be dropped
    assert "Old" not in await mailboxes.subscriptions(acc.id)


async def test_delete_rules(store: Store) -> None:
    mailboxes, acc = await _setup(store)
    with pytest.raises(Conflict, match="INBOX cannot be deleted"):
        await mailboxes.delete(acc.id, "inbox")  # RFC 9051 §6.3.5
    with pytest.raises(NotFound):
        await mailboxes.delete(acc.id, "Nothing")
    await mailboxes.create(acc.id, "a/b")
    deleted = await mailboxes.delete(acc.id, "a")
    assert deleted.name == "a"
    tree = {f.name: f for f in await mailboxes.tree(acc.id)}
    assert tree["a"].mailbox is None and tree["a"].has_children  # the child stays
    assert tree["a/b"].mailbox is not None


async def test_rename_moves_children_and_refuses_what_it_must(store: Store) -> None:
    mailboxes, acc = await _setup(store)
    await mailboxes.create(acc.id, "a/b")
    await mailboxes.rename(acc.id, "a", "x/y/z")
    names = await _names(mailboxes, acc)
    assert {"x", "x/y", "x/y/z", "x/y/z/b"} <= set(names) and "a" not in names
    with pytest.raises(NotFound):
        await mailboxes.rename(acc.id, "nothing", "y")
    with pytest.raises(AlreadyExists):
        await mailboxes.rename(acc.id, "Sent", "Trash")
    with pytest.raises(Conflict, match="own child"):
        await mailboxes.rename(acc.id, "x", "x/inner")
    with pytest.raises(AlreadyExists):
        await mailboxes.rename(acc.id, "Sent", "inbox")


async def test_renaming_inbox_moves_its_messages_and_leaves_it_empty(store: Store) -> None:
    mailboxes, acc = await _setup(store)
    inbox = await mailboxes.get(acc.id, "INBOX")
    await mailboxes.create(acc.id, "INBOX/Child")
    appended = await mailboxes.append(inbox, [NewMessage(message(1)), NewMessage(message(2))])
    assert [a.uid for a in appended] == [1, 2]
    await mailboxes.rename(acc.id, "inbox", "Saved/Old mail")  # RFC 9051 §6.3.6
    saved = await mailboxes.get(acc.id, "Saved/Old mail")
    assert len(await mailboxes.messages(saved.id)) == 2
    assert await mailboxes.messages(inbox.id) == []
    names = await _names(mailboxes, acc)
    assert "INBOX" in names and "INBOX/Child" in names and "Saved" in names
    assert (await mailboxes.status(inbox)).messages == 0
    assert (await mailboxes.status(saved)).messages == 2


async def test_depth_and_name_limits(store: Store) -> None:
    mailboxes, acc = await _setup(store)
    deepest = "/".join(["d"] * limits.MAX_FOLDER_DEPTH)
    await mailboxes.create(acc.id, deepest)
    with pytest.raises(LimitReached, match="Too many folder levels"):
        await mailboxes.create(acc.id, deepest + "/e")
    with pytest.raises(LimitReached, match="too long"):
        await mailboxes.create(acc.id, "n" * (limits.MAX_LEVEL_LENGTH + 1))
    # RENAME checks the names its children get.
    await mailboxes.create(acc.id, "top/" + "/".join(["c"] * (limits.MAX_FOLDER_DEPTH - 1)))
    with pytest.raises(LimitReached, match="Too many folder levels"):
        await mailboxes.rename(acc.id, "top", "one/two")
    assert await mailboxes.find(acc.id, "one") is None


async def test_folder_count_limit_counts_implied_parents(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    mailboxes, acc = await _setup(store)
    monkeypatch.setattr(service, "MAX_FOLDERS", len(DEFAULT_NAMES) + 3)
    await mailboxes.create(acc.id, "a/b")  # 2 folders
    with pytest.raises(LimitReached, match=r"Too many folders \(limit 9\)"):
        await mailboxes.create(acc.id, "c/d")  # would make 10
    await mailboxes.create(acc.id, "c")
    with pytest.raises(LimitReached):
        await mailboxes.create(acc.id, "e")
    with pytest.raises(LimitReached):
        await mailboxes.rename(acc.id, "c", "new/c")  # "new" would be an extra folder
    await mailboxes.rename(acc.id, "c", "a/c")  # a rename alone adds nothing
    assert await mailboxes.find(acc.id, "a/c") is not None


async def test_subscription_limit(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    mailboxes, acc = await _setup(store)
    monkeypatch.setattr(service, "MAX_SUBSCRIPTIONS", len(DEFAULT_NAMES) + 1)
    await mailboxes.create(acc.id, "one")
    await mailboxes.create(acc.id, "two")
    await mailboxes.subscribe(acc.id, "one")
    with pytest.raises(LimitReached, match="Too many subscriptions"):
        await mailboxes.subscribe(acc.id, "two")
    await mailboxes.subscribe(acc.id, "one")  # already subscribed: no new entry


async def test_flags_rule(store: Store) -> None:
    mailboxes, acc = await _setup(store)
    inbox = await mailboxes.get(acc.id, "INBOX")
    await mailboxes.append(inbox, [NewMessage(message(1), ("\\Seen",)), NewMessage(message(2))])
    changed, failed = await mailboxes.store_flags(inbox.id, [1, 2], "add",
                                                  ["\\Flagged", "\\Recent"])
    assert failed == [] and [(e.uid, e.flags) for e in changed] == [
        (1, frozenset({"\\Seen", "\\Flagged"})), (2, frozenset({"\\Flagged"}))]
    changed, _ = await mailboxes.store_flags(inbox.id, [1, 2], "remove", ["\\Seen"])
    assert [e.uid for e in changed] == [1]  # only the message whose flags changed
    modseq = changed[0].modseq
    changed, _ = await mailboxes.store_flags(inbox.id, [2], "set", ["$Work"])
    assert changed[0].flags == frozenset({"$Work"})
    # RFC 7162 §3.1.3: UNCHANGEDSINCE passes through; message 2 changed after modseq.
    changed, failed = await mailboxes.store_flags(inbox.id, [1, 2], "add", ["\\Answered"],
                                                  unchanged_since=modseq)
    assert failed == [2] and [e.uid for e in changed] == [1]
    status = await mailboxes.status(inbox)
    assert (status.messages, status.unseen) == (2, 2)


async def test_append_is_all_or_nothing_and_quota_is_reported(store: Store) -> None:
    mailboxes, acc = await _setup(store, quota=len(message(1)) + len(message(2)) + 10)
    inbox = await mailboxes.get(acc.id, "INBOX")
    with pytest.raises(OverQuota):
        await mailboxes.append(inbox, [NewMessage(message(1)), NewMessage(message(2)),
                                       NewMessage(message(3))])
    assert await mailboxes.messages(inbox.id) == []
    report = await mailboxes.quota(acc.id)
    assert (report.used_bytes, report.used_messages, report.limited) == (0, 0, True)
    with pytest.raises(TooBig):
        await mailboxes.append(inbox, [NewMessage(b"x" * 1001)])
    with pytest.raises(Conflict):
        await mailboxes.append(inbox, [NewMessage(b"")])
    await mailboxes.append(inbox, [NewMessage(message(1)), NewMessage(message(2))])
    report = await mailboxes.quota(acc.id)
    assert report.used_bytes == len(message(1)) + len(message(2)) and report.used_messages == 2


async def test_copy_move_expunge_and_status_counters(store: Store) -> None:
    mailboxes, acc = await _setup(store)
    inbox = await mailboxes.get(acc.id, "INBOX")
    archive = await mailboxes.get(acc.id, "Archive")
    await mailboxes.append(inbox, [NewMessage(message(n), ("\\Deleted",) if n == 2 else ())
                                   for n in (1, 2, 3)])
    status = await mailboxes.status(inbox)
    assert (status.messages, status.deleted, status.deleted_size) == (3, 1, len(message(2)))
    assert await mailboxes.copy(inbox.id, [1], archive) == [(1, 1)]
    assert await mailboxes.copy(inbox.id, [3], archive, move=True) == [(3, 2)]
    assert await mailboxes.expunge(inbox.id, [2]) == [2]
    assert [e.uid for e in await mailboxes.messages(inbox.id)] == [1]
    assert (await mailboxes.status(archive)).messages == 2
    assert await mailboxes.copy(inbox.id, [], archive) == []
