"""Sequence sets: parsing, ``*``, ``$``, resolution and formatting."""

import pytest

from postbus.imap.proto import STAR, ImapBad, SequenceSet, format_set


def test_parse_forms() -> None:
    assert SequenceSet.parse(b"1").ranges == ((1, 1),)
    assert SequenceSet.parse(b"1:3,7,9:*").ranges == ((1, 3), (7, 7), (9, STAR))
    assert SequenceSet.parse("*:4").ranges == ((STAR, 4),)
    assert SequenceSet.parse(b"4294967295").ranges == ((4294967295, 4294967295),)
    saved = SequenceSet.parse(b"$")
    assert saved.saved and saved.ranges == ()


@pytest.mark.parametrize(
    "text", [b"", b"0", b"1:0", b"4294967296", b"1,", b",1", b"1::2", b"a", b"1:2:3", b"$,1",
             b"99999999999999999999999"],
)
def test_parse_errors(text: bytes) -> None:
    with pytest.raises(ImapBad):
        SequenceSet.parse(text)


def test_resolve_sorts_merges_and_clips() -> None:
    s = SequenceSet.parse(b"9:7,1,2,3,5:*,20")
    assert s.resolve(10) == [(1, 3), (5, 10)]
    assert s.resolve(10, clip=False) == [(1, 3), (5, 10), (20, 20)]
    assert SequenceSet.parse(b"5:*,7:20").resolve(10, clip=False) == [(5, 20)]
    # RFC 9051 §6.4.9: "n:*" includes the largest UID even when n is larger
    assert SequenceSet.parse(b"559:*").resolve(42) == [(42, 42)]
    assert SequenceSet.parse(b"1:*").resolve(0) == []


def test_values_and_exceeds() -> None:
    s = SequenceSet.parse(b"3,1:2,*")
    assert list(s.values(5)) == [1, 2, 3, 5]
    assert not s.exceeds(3)
    assert SequenceSet.parse(b"1:7").exceeds(5)
    assert not SequenceSet.parse(b"2:*").exceeds(2)
    assert SequenceSet.parse(b"1:*").exceeds(0)  # any number is beyond an empty mailbox


def test_contains() -> None:
    s = SequenceSet.parse(b"2:4,10:*")
    assert [n for n in range(1, 14) if s.contains(n, star=12)] == [2, 3, 4, 10, 11, 12]
    assert SequenceSet.parse(b"*:5").contains(6, star=8)


def test_resolve_saved_is_an_error() -> None:
    with pytest.raises(ValueError):
        SequenceSet.parse(b"$").resolve(5)


def test_str_and_format() -> None:
    assert str(SequenceSet.parse(b"1:3,7,9:*,*")) == "1:3,7,9:*,*"
    assert str(SequenceSet.parse(b"$")) == "$"
    assert format_set([7, 1, 2, 3, 3, 9, 10]) == "1:3,7,9:10"
    assert format_set([]) == ""
    assert SequenceSet.from_values([5, 4, 1]).ranges == ((1, 1), (4, 5))
