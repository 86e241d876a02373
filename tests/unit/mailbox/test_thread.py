"""THREAD (RFC 5256 §3) on a corpus whose threads were worked out by hand.

The corpus (`CORPUS`, also delivered over IMAP in tests/unit/imap/test_imap_thread.py)
exercises every step of REFERENCES:

* step 1: a chain A <- B <- C and a sibling D of B (uids 1-4); a References
  field that names two missing messages X and Y (uid 5) and one naming X (uid 6),
  so X and Y become dummies; In-Reply-To used when there is no References (uid 14);
  a second message with A's Message-ID (uid 13), threaded as if it had none;
  References that would make a loop (uids 15 and 16: P names Q, Q names P);
* step 4: Y (not top level) is spliced out, E moves under X; the top-level dummy
  Z with one child (uid 8) is replaced by that child; X with two children stays;
* step 5/7: siblings and threads by sent date, not by UID (uid 4 is older than
  uid 2; uid 12 is the oldest message of all); a message without a usable Date
  sorts by its arrival (uid 13, in the IMAP test);
* step 6: subject merging: "Lunch" (uid 7) joins the dummy X, whose first child
  says "Re: Lunch"; two non-replies "Report" (uids 8 and 9) get a new dummy
  parent, which then takes the reply "Re: Report" (uid 10); the non-reply
  "Budget" (uid 11) displaces the older reply "Re: Budget" (uid 12) in the
  subject table and becomes its parent.

Worked by hand, REFERENCES gives, ordered by each thread's first date:
  X (dummy; D1): 5 D1, 6 D2, 7 D3             -> ((5)(6)(7))
  new dummy (D4): 8 D4, 9 D8, 10 D9            -> ((8)(9)(10))
  1 D5: 4 D5+12h, 2 D6 -> 3 D7 -> 14 D12       -> (1 (4)(2 3 14))
  11 D10: 12 D0                                -> (11 12)
  13 D11                                       -> (13)
  16 D14: 15 D13                               -> (16 15)
and ORDEREDSUBJECT groups by base subject, each group's oldest the parent:
  budget (12 11), lunch (5 (6)(7)), report (8 (9)(10)), plans (1 (4)(2)(3)(14)),
  plans again (13), loop (15 16).
"""

from __future__ import annotations

import datetime as dt

from postbus.mailbox.thread import Thread, ThreadMessage, ordered_subject, references, refs
from postbus.message.sortkeys import base_subject

BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

# uid, Message-ID, Subject, sent (days after BASE), References, In-Reply-To
CORPUS: list[tuple[int, str | None, str, float, tuple[str, ...], str | None]] = [
    (1, "A", "Plans", 5, (), None),
    (2, "B", "Re: Plans", 6, ("A",), None),
    (3, "C", "Re: Plans", 7, ("A", "B"), None),
    (4, "D", "Re: Plans", 5.5, ("A",), None),
    (5, "E", "Re: Lunch", 1, ("X", "Y"), None),
    (6, "F", "Re: Lunch", 2, ("X",), None),
    (7, "G", "Lunch", 3, (), None),
    (8, "H", "Report", 4, ("Z",), None),
    (9, "I", "Report", 8, (), None),
    (10, "J", "Re: Report", 9, (), None),
    (11, "K", "Budget", 10, (), None),
    (12, "L", "Re: Budget", 0, (), None),
    (13, "A", "Plans again", 11, (), None),
    (14, None, "Re: Plans", 12, (), "C"),
    (15, "P", "Loop", 13, ("Q",), None),
    (16, "Q", "Re: Loop", 14, ("P",), None),
]

REFERENCES = "((5)(6)(7))((8)(9)(10))(1 (4)(2 3 14))(11 12)(13)(16 15)"
ORDEREDSUBJECT = "(12 11)(5 (6)(7))(8 (9)(10))(1 (4)(2)(3)(14))(13)(15 16)"


def corpus_messages() -> list[ThreadMessage]:
    out = []
    for uid, message_id, subject, days, ids, in_reply_to in CORPUS:
        base, is_reply = base_subject(subject)
        out.append(ThreadMessage(
            uid=uid, sent=(BASE + dt.timedelta(days=days)).timestamp(), subject=base,
            is_reply=is_reply, message_id=message_id,
            references=ids or ((in_reply_to,) if in_reply_to else ()),
        ))
    return out


def render(threads: list[Thread]) -> str:
    """The RFC 5256 §4 form, recursively (fine for a test's small trees)."""
    def body(node: Thread) -> str:
        parts = [] if node.uid is None else [str(node.uid)]
        while len(node.children) == 1:
            node = node.children[0]
            parts.append(str(node.uid))
        text = " ".join(parts)
        if len(node.children) > 1:
            text += (" " if text else "") + "".join(f"({body(c)})" for c in node.children)
        return text

    return "".join(f"({body(t)})" for t in threads)


def test_references_matches_the_hand_built_tree() -> None:
    assert render(references(corpus_messages())) == REFERENCES


def test_refs_orders_threads_by_their_latest_message() -> None:
    # REFS as Dovecot 2.3 answers it (tests/unit/imap/test_imap_thread_refs.py): no
    # subject merging, the top-level dummies stay (X with 5 and 6, Z with only 8),
    # threads by their latest date: 12 D0, X D2, 7 D3, Z D4, 9 D8, 10 D9, 11 D10,
    # 13 D11, 1 D12 (its reply 14), 16 D14.
    assert render(refs(corpus_messages())) == (
        "(12)((5)(6))(7)(8)(9)(10)(11)(13)(1 (4)(2 3 14))(16 15)")


def test_ordered_subject_matches_the_hand_built_tree() -> None:
    assert render(ordered_subject(corpus_messages())) == ORDEREDSUBJECT


def test_equal_dates_fall_back_to_mailbox_order() -> None:
    same = BASE.timestamp()
    messages = [ThreadMessage(3, same, "x", False, "c", ("a",)),
                ThreadMessage(1, same, "x", False, "a"),
                ThreadMessage(2, same, "x", False, "b", ("a",))]
    assert render(references(sorted(messages, key=lambda m: m.uid))) == "(1 (2)(3))"
    assert render(ordered_subject(messages)) == "(1 (2)(3))"


def test_deep_chain_needs_no_recursion() -> None:
    # Each message replies to the one before and has a second reply: a tree as
    # deep as the mailbox, which recursive code would not survive.
    messages = []
    for n in range(1, 6001):
        parent = (f"m{n - 1}",) if n > 1 else ()
        messages.append(ThreadMessage(n, float(n), "s", n > 1, f"m{n}", parent))
    threads = references(messages)
    assert len(threads) == 1
    depth, node = 1, threads[0]
    while node.children:
        node = node.children[0]
        depth += 1
    assert depth == 6000
    refs_threads = refs(messages)  # REFS walks the same tree without recursion too
    assert len(refs_threads) == 1 and refs_threads[0].uid == 1


def test_no_messages_no_threads() -> None:
    assert references([]) == []
    assert refs([]) == []
    assert ordered_subject([]) == []
