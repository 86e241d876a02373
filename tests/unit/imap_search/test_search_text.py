"""BODY/TEXT/header searches: the index narrows, the exact check decides, results agree
with a brute-force reference."""

from __future__ import annotations

import random
from typing import Any

from tests.unit.imap_fetch.samples import text_message
from tests.unit.imap_fetch.support import Folder, crlf


def spy(folder: Folder, name: str) -> list[Any]:
    calls: list[Any] = []
    original = getattr(folder.store, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return await original(*args, **kwargs)

    setattr(folder.store, name, wrapper)
    return calls


async def test_the_index_folds_case_as_the_exact_check_does(folder: Folder) -> None:
    """The claim the narrowing relies on: the index's answers are case-insensitive
    substring matches under full case folding (É/é, Σ/σ, and ß/ss, which the trigram
    tokenizer alone does not fold), so the index keeps every message the exact check
    (`str.casefold` on both sides) would match."""
    uid1 = await folder.add(text_message("one", "L'ÉTÉ EST CHAUD"))
    uid2 = await folder.add(text_message("two", "σίσυφος und Straße"))
    search = folder.store.search_text
    assert await search(folder.mailbox_id, "body", "été") == {uid1}
    assert await search(folder.mailbox_id, "body", "Été est") == {uid1}
    assert await search(folder.mailbox_id, "body", "ΣΊΣΥΦΟΣ") == {uid2}
    assert await search(folder.mailbox_id, "body", "STRASSE") == {uid2}
    assert await folder.search("BODY STRASSE") == [2]
    assert await search(folder.mailbox_id, "body", "é") is None  # too short to narrow
    assert await search(folder.mailbox_id, "header", "subject: two") == {uid2}


async def test_body_search_reads_only_the_index_candidates(folder: Folder) -> None:
    for n in range(40):
        word = "zanzibar" if n == 17 else "ordinary"
        await folder.add(text_message(f"message {n}", f"text with {word} words {n}"))
    reads = spy(folder, "read_blob")
    infos = spy(folder, "fetch_info")
    assert await folder.search('BODY "ZANZIBAR WORDS"') == [18]
    assert len(reads) == 1
    assert sum(len(call[1]) for call in infos) == 1
    reads.clear()
    assert await folder.search("SEEN BODY zanzibar") == []  # decided from flags: no read
    assert reads == []


async def test_short_strings_are_checked_on_every_message(folder: Folder) -> None:
    for n in range(12):
        await folder.add(text_message(f"m{n}", f"value {n * 7}"))
    reads = spy(folder, "read_blob")
    assert await folder.search("BODY 42") == [7]
    assert len(reads) == 12
    assert await folder.search("SUBJECT 1") == [2, 11, 12]  # m1, m10, m11


async def test_header_keys_are_narrowed_by_the_index(folder: Folder) -> None:
    for n in range(30):
        sender = "Zoë Quill <zoe@quill.example>" if n == 4 else f"user{n} <u{n}@example.org>"
        extra = "X-Spam-Flag: YES\n" if n in (3, 9) else ""
        await folder.add(text_message(f"note {n}", "body", sender=sender, extra=extra))
    infos = spy(folder, "fetch_info")
    reads = spy(folder, "read_blob")
    assert await folder.search('FROM "zoë quill"') == [5]
    assert await folder.search('FROM "<zoe@quill"') == [5]
    assert await folder.search("SUBJECT \"NOTE 9\"") == [10]
    assert await folder.search('HEADER X-Spam-Flag ""') == [4, 10]
    assert await folder.search("HEADER x-spam-flag yes") == [4, 10]
    assert sum(len(call[1]) for call in infos) <= 8
    assert len(reads) == 4  # HEADER reads the header block of the candidates only
    assert all(call[1:] == (0, call[2]) and call[2] > 0 for call in reads)


async def test_encoded_bodies_match_decoded_text(folder: Folder) -> None:
    latin1 = crlf("From: a@example.org\nSubject: latin\nContent-Type: text/plain; "
                  "charset=iso-8859-1\nContent-Transfer-Encoding: base64\n\n") + \
        b"TCfpdOkgZXN0IGNoYXVk\r\n"  # "L'été est chaud" in latin-1
    qp = crlf("From: b@example.org\nSubject: qp\nContent-Type: text/plain; charset=utf-8\n"
              "Content-Transfer-Encoding: quoted-printable\n\nUn =C3=89T=C3=89 =\nchaud\n")
    await folder.add(latin1)
    await folder.add(qp)
    assert await folder.search('CHARSET UTF-8 BODY "ÉTÉ"') == [1, 2]
    assert await folder.search('BODY "ete"') == []
    assert await folder.search('BODY "été chaud"') == [2]  # soft line break joined
    assert await folder.search("TEXT latin") == [1]


VOCABULARY = ["Été", "chaud", "PARIS", "naïve", "Ünïcode", "plain", "ascii", "crème", "déjà",
              "vu", "x", "QUICK", "brown", "ﬁsh"]


async def test_results_agree_with_a_brute_force_reference(folder: Folder) -> None:
    rng = random.Random(7)
    bodies: list[str] = []
    subjects: list[str] = []
    for _ in range(60):
        body = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(1, 6)))
        subject = " ".join(rng.choice(VOCABULARY) for _ in range(2))
        bodies.append(body)
        subjects.append(subject)
        await folder.add(text_message(subject, body))
    queries = set()
    for _ in range(60):
        word = rng.choice([*VOCABULARY, "chaud paris", "é", "ui", "vu x"])
        start = rng.randrange(len(word))
        queries.add(word[start:start + rng.randint(1, 8)])
    for query in sorted(queries):
        for case in (query, query.upper(), query.lower()):
            expected = [n for n, body in enumerate(bodies, 1) if case.casefold() in body.casefold()]
            found = await folder.search(f'CHARSET UTF-8 BODY "{case}"')
            if len(case) >= 3 and found != expected:
                # the index folds simple case only ("ß", "ﬁ"): it may find less, never more
                assert set(found) < set(expected), case
                assert any(len(c.casefold()) != len(c) for c in case + "".join(bodies)), case
            else:
                assert found == expected, case
            expected = [n for n, s in enumerate(subjects, 1) if case.casefold() in s.casefold()]
            found = await folder.search(f'CHARSET UTF-8 SUBJECT "{case}"')
            assert set(found) <= set(expected), case
            if len(case) < 3:
                assert found == expected, case


def test_the_index_bounds_which_entries_are_judged_at_all() -> None:
    """A narrowed criterion, an AND with one, an OR of narrowed ones: only the index's
    candidates can match, so the other entries are never looked at; an OR with a
    criterion the index cannot narrow, or a NOT, bounds nothing."""
    from postbus.mailbox.query import And, Body, Flag, Not, Or, Text
    from postbus.mailbox.search import _bound

    word, other = Text("zanzibar"), Body("quarterly")
    narrowed = {word: frozenset({1, 5, 9}), other: frozenset({5, 7})}
    assert _bound(word, narrowed) == {1, 5, 9}
    assert _bound(And((Flag("\\Seen"), word)), narrowed) == {1, 5, 9}
    assert _bound(And((word, other)), narrowed) == {5}
    assert _bound(Or((word, other)), narrowed) == {1, 5, 7, 9}
    assert _bound(Or((word, Flag("\\Seen"))), narrowed) is None
    assert _bound(Not(word), narrowed) is None
    assert _bound(Text("zz"), narrowed) is None  # not narrowed (too short a probe)
