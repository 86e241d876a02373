"""Folder names: the INBOX rule, new-name checks and the limits on names."""

from __future__ import annotations

import pytest

from postbus.mailbox.errors import InvalidName, LimitReached
from postbus.mailbox.limits import MAX_FOLDER_DEPTH, MAX_LEVEL_LENGTH, MAX_NAME_LENGTH
from postbus.mailbox.names import canonical, check_new_name, depth, parent, parents, sort_key


@pytest.mark.parametrize(("name", "expected"), [
    ("inbox", "INBOX"), ("Inbox", "INBOX"), ("INBOX", "INBOX"),
    ("inbox/x", "INBOX/x"), ("iNbOx/a/b", "INBOX/a/b"),
    ("inboxes", "inboxes"), ("Inbox2/x", "Inbox2/x"), ("x/inbox", "x/inbox"), ("Sent", "Sent"),
])
def test_inbox_is_case_insensitive_also_as_a_prefix(name: str, expected: str) -> None:
    assert canonical(name) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("Work", "Work"), ("Work/", "Work"), ("a/b", "a/b"), ("Ünïcode", "Ünïcode"),
    ("inbox/Sub/", "INBOX/Sub"), ("inbox", "INBOX"),
])
def test_acceptable_new_names(name: str, expected: str) -> None:
    assert check_new_name(name) == expected


@pytest.mark.parametrize(("name", "why"), [
    ("", "empty hierarchy level"), ("/", "empty hierarchy level"),
    ("/a", "empty hierarchy level"), ("a//b", "empty hierarchy level"),
    ("a//", "empty hierarchy level"),
    ("a*", "'*' and '%'"), ("b%c", "'*' and '%'"),
    ("tab\there", "control characters"), ("del\x7f", "control characters"),
])
def test_refused_new_names(name: str, why: str) -> None:
    with pytest.raises(InvalidName, match=why):
        check_new_name(name)


def test_name_limits() -> None:
    deepest = "/".join(["d"] * MAX_FOLDER_DEPTH)
    assert check_new_name(deepest) == deepest
    with pytest.raises(LimitReached, match=f"Too many folder levels \\(limit {MAX_FOLDER_DEPTH}\\)"):
        check_new_name(deepest + "/d")
    level = "x" * MAX_LEVEL_LENGTH
    assert check_new_name(level) == level
    with pytest.raises(LimitReached, match="level too long"):
        check_new_name(level + "x")
    long_name = "/".join(["y" * 100] * 5) + "/" + "z" * (MAX_NAME_LENGTH - 505)
    assert len(long_name) == MAX_NAME_LENGTH
    assert check_new_name(long_name) == long_name
    with pytest.raises(LimitReached, match=f"Folder name too long \\(limit {MAX_NAME_LENGTH}"):
        check_new_name(long_name + "z")
    # The 2,500-level name of the attack report is refused before any work on its levels.
    with pytest.raises(LimitReached):
        check_new_name("/".join(["d"] * 2500))


def test_levels() -> None:
    assert parents("a/b/c") == ["a", "a/b"]
    assert parents("a") == []
    assert parent("a/b/c") == "a/b"
    assert parent("a") is None
    assert depth("a/b/c") == 3
    assert sorted(["b", "INBOX/x", "a", "INBOX"], key=sort_key) == ["INBOX", "INBOX/x", "a", "b"]
