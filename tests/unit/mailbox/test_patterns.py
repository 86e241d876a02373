"""Mailbox patterns: the matcher agrees with the RFC 9051 §6.3.9 meaning and is bounded."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postbus.mailbox.limits import MAX_NAME_LENGTH
from postbus.mailbox.patterns import Pattern, collapse, fold_inbox


def matches(pattern: str, name: str) -> bool:
    return Pattern(pattern).matches(name)


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
    ("inbox*", "INBOX/sub", True),
    ("inboxes", "INBOXES", False),
    ("Sent", "sent", False),
    ("a.b", "axb", False),
    ("[x]", "[x]", True),
    ("%/%", "a/b", True),
    ("%/%", "a/b/c", False),
    ("*/c", "a/b/c", True),
    ("%b%", "abc", True),
    ("%b%", "a/bc", False),
    ("a%c*e", "abxc/de", True),
    ("a%c*e", "ab/c/de", False),
    ("*a*a*a*a*a*a*a*ab", "a" * 50, False),
    ("*a*a*a*a*a*a*a*ab", "a" * 50 + "b", True),
    ("%a%a%a%a%a%a%a%ab", "a" * 50, False),
    ("", "", True),
    ("", "a", False),
])
def test_patterns(pattern: str, name: str, expected: bool) -> None:
    assert matches(pattern, name) is expected


def test_compiling_folds_inbox_and_collapses_wildcard_runs() -> None:
    assert fold_inbox("inbox/%") == "INBOX/%"
    assert fold_inbox("inboxes") == "inboxes"
    assert collapse("a**%b%%c%*d") == "a*b%c*d"
    assert Pattern("InBoX%*%").text == "INBOX*"


def _oracle(pattern: str, name: str) -> bool:
    """The definition, as a regex (only ever run on tiny inputs here)."""
    pattern = fold_inbox(pattern)
    regex = "".join(".*" if c == "*" else "[^/]*" if c == "%" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, re.DOTALL) is not None


@settings(max_examples=400, deadline=None)
@given(st.text("ab/*%", max_size=9), st.text("ab/", max_size=10))
def test_matcher_agrees_with_the_definition(pattern: str, name: str) -> None:
    assert matches(pattern, name) is _oracle(pattern, name)


def test_a_64_kib_pattern_of_star_a_answers_at_once() -> None:
    start = time.perf_counter()
    assert not Pattern("*a" * (32 * 1024), MAX_NAME_LENGTH).matches("a" * MAX_NAME_LENGTH)
    assert time.perf_counter() - start < 0.005  # counted, not compiled
    pattern = Pattern("*a" * (32 * 1024))  # compiled: still refused per name at once
    names = ["a" * MAX_NAME_LENGTH, "ab" * (MAX_NAME_LENGTH // 2), "x" * 10]
    start = time.perf_counter()
    for _ in range(1000):
        for name in names:
            assert not pattern.matches(name)
    # 3,000 matches: each one a length comparison, not a walk over the pattern.
    assert time.perf_counter() - start < 0.1


@pytest.mark.parametrize("wildcard", ["*", "%"])
def test_the_worst_pattern_a_name_allows_stays_linear(wildcard: str) -> None:
    """A pattern as long as the name allows, that keeps every state alive to the end."""
    name = "a" * MAX_NAME_LENGTH
    pattern = Pattern((wildcard + "a") * (MAX_NAME_LENGTH // 2 - 1) + wildcard + "b")
    start = time.perf_counter()
    for _ in range(100):
        assert not pattern.matches(name)
    # O(name x pattern / word size): well under 1 ms a name even for this pattern.
    assert (time.perf_counter() - start) / 100 < 0.005
