"""The folder tree and what LIST / LSUB select (pure functions)."""

from __future__ import annotations

from postbus.mailbox.limits import MAX_FOLDER_DEPTH, MAX_FOLDERS
from postbus.mailbox.listing import (
    Listed,
    ListOptions,
    Lsubbed,
    list_candidates,
    lsub_candidates,
    select_listed,
    select_lsub,
)
from postbus.mailbox.patterns import Pattern
from postbus.mailbox.tree import ancestors_of, folder_tree
from postbus.mailbox.types import Mailbox


def box(name: str, special_use: str | None = None) -> Mailbox:
    return Mailbox(id=1, account_id=1, name=name, special_use=special_use, uid_validity=1,
                   uid_next=1, highest_modseq=1)


def test_folder_tree_adds_implied_parents_and_children_flags() -> None:
    tree = folder_tree([box("Trash", "\\Trash"), box("a/b/c"), box("INBOX"), box("INBOX/x"),
                        box("a")])
    assert [(f.name, f.mailbox is not None, f.has_children) for f in tree] == [
        ("INBOX", True, True), ("INBOX/x", True, False), ("Trash", True, False),
        ("a", True, True), ("a/b", False, True), ("a/b/c", True, False),
    ]


def test_tree_of_an_account_at_its_limits() -> None:
    # MAX_FOLDERS folders in chains MAX_FOLDER_DEPTH deep: the shape the old
    # per-name parents() loop was quadratic (then cubic, with the sort) on.
    chains = MAX_FOLDERS // MAX_FOLDER_DEPTH
    names = ["/".join(f"c{c}l{i}" for i in range(depth)) for c in range(chains)
             for depth in range(1, MAX_FOLDER_DEPTH + 1)]
    assert len(names) == MAX_FOLDERS
    boxes = [box(n) for n in names]
    tree = folder_tree(boxes)
    assert len(tree) == MAX_FOLDERS
    # Only the deepest folders of each chain kept: every level is implied, and
    # is still made once.
    sparse = folder_tree([box(n) for n in names if n.count("/") == MAX_FOLDER_DEPTH - 1])
    assert len(sparse) == MAX_FOLDERS
    assert sum(f.mailbox is None for f in sparse) == MAX_FOLDERS - chains


def test_ancestors() -> None:
    assert ancestors_of(["a/b/c", "a/b/d", "x"]) == {"a", "a/b"}


def listed(tree_names: list[str], subs: list[str], options: ListOptions) -> list[Listed]:
    tree = folder_tree([box(n) for n in tree_names])
    patterns = [Pattern(p) for p in options.patterns]
    candidates = list_candidates(tree, subs, options)
    matched = {n for n in candidates if any(p.matches(n) for p in patterns)}
    return select_listed(tree, subs, options, matched)


def test_list_subscribed_shows_names_without_folders() -> None:
    out = listed(["INBOX", "a"], ["a", "gone"], ListOptions(("*",), subscribed=True))
    assert [(e.name, e.mailbox is not None, e.subscribed, e.child_subscribed) for e in out] == [
        ("a", True, True, False), ("gone", False, True, False)]
    assert out[1].has_children is None


def test_recursive_match_lists_unsubscribed_parents_with_childinfo() -> None:
    options = ListOptions(("%",), subscribed=True, recursive_match=True)
    out = listed(["INBOX", "news/comp", "top", "top/sub"], ["news/comp", "top", "top/sub",
                                                             "lost/deeper/name"], options)
    assert [(e.name, e.subscribed, e.child_subscribed) for e in out] == [
        ("lost", False, True), ("news", False, True), ("top", True, False)]
    # Without RECURSIVEMATCH only subscribed names are listed.
    assert [e.name for e in listed(["news/comp"], ["news/comp"],
                                   ListOptions(("%",), subscribed=True))] == []


def test_plain_list_ignores_subscriptions_unless_asked() -> None:
    out = listed(["INBOX", "a"], ["a", "gone"], ListOptions(("*",)))
    assert [(e.name, e.subscribed) for e in out] == [("INBOX", False), ("a", False)]
    out = listed(["INBOX", "a"], ["a", "gone"], ListOptions(("*",), mark_subscribed=True))
    assert [(e.name, e.subscribed) for e in out] == [("INBOX", False), ("a", True)]


def test_special_use_selection() -> None:
    tree = folder_tree([box("INBOX"), box("Sent", "\\Sent")])
    out = select_listed(tree, [], ListOptions(("*",), special_use=True), {"INBOX", "Sent"})
    assert [e.name for e in out] == ["Sent"]


def lsub(subs: list[str], pattern: str) -> list[Lsubbed]:
    p = Pattern(pattern)
    return select_lsub(subs, {n for n in lsub_candidates(subs) if p.matches(n)})


def test_lsub() -> None:
    subs = ["news/comp/mail", "news/comp/lang", "INBOX", "gone"]
    assert lsub(subs, "*") == [Lsubbed("INBOX", False), Lsubbed("gone", False),
                               Lsubbed("news/comp/lang", False), Lsubbed("news/comp/mail", False)]
    # RFC 3501 §6.3.9: the level a "%" stops at, not itself subscribed, is \Noselect.
    assert lsub(subs, "news/%") == [Lsubbed("news/comp", True)]
    assert lsub([*subs, "news/comp"], "news/%") == [Lsubbed("news/comp", False)]
    assert lsub(subs, "%") == [Lsubbed("INBOX", False), Lsubbed("gone", False),
                               Lsubbed("news", True)]
