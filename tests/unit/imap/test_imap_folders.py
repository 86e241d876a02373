"""LIST pattern matching and the folder hierarchy (pure functions)."""

from __future__ import annotations

import pytest

from postbus.imap.folders import check_new_name, folder_tree, matcher, parents
from postbus.store.model import Mailbox


def box(name: str, special_use: str | None = None) -> Mailbox:
    return Mailbox(1, 1, name, special_use, 1, 1, 1)


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("*", "a/b/c", True),
    ("%", "a", True),
    ("%", "a/b", False),
    ("a/%", "a/b", True),
    ("a/%", "a/b/c", False),
    ("a/*", "a/b/c", True),
    ("a*", "abc/d", True),
    ("a%", "abc/d", False),
    ("inbox", "INBOX", True),
    ("Inbox/%", "INBOX/sub", True),
    ("inboxes", "INBOXES", False),
    ("Sent", "sent", False),
    ("a.b", "axb", False),
    ("[x]", "[x]", True),
])
def test_list_patterns(pattern: str, name: str, expected: bool) -> None:
    assert matcher(pattern)(name) is expected


def test_folder_tree_adds_implied_parents_and_children_flags() -> None:
    tree = folder_tree([box("Trash", "\\Trash"), box("a/b/c"), box("INBOX"), box("INBOX/x"),
                        box("a")])
    assert [(f.name, f.mailbox is not None, f.has_children) for f in tree] == [
        ("INBOX", True, True), ("INBOX/x", True, False), ("Trash", True, False),
        ("a", True, True), ("a/b", False, True), ("a/b/c", True, False),
    ]


def test_parents() -> None:
    assert parents("a/b/c") == ["a", "a/b"]
    assert parents("a") == []


@pytest.mark.parametrize(("name", "expected"), [
    ("Work", "Work"), ("Work/", "Work"), ("a/b", "a/b"), ("Ünïcode", "Ünïcode"),
])
def test_acceptable_new_names(name: str, expected: str) -> None:
    assert check_new_name(name) == expected


@pytest.mark.parametrize("name", ["", "/", "/a", "a//b", "a*", "b%c", "tab\there"])
def test_refused_new_names(name: str) -> None:
    with pytest.raises(ValueError):
        check_new_name(name)
