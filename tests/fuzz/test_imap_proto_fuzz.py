"""Fuzzing the IMAP receiver and grammar (STYLE habit 8).

Invariant: whatever bytes arrive, in whatever chunks, the receiver only yields
the documented events, never raises, and a valid command sent after garbage
and a CRLF is still understood.  Grammar-shaped generators check that valid
commands parse and that mutated ones fail with a ProtocolError only.
"""

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbus.imap.proto import (
    COMMANDS,
    AuthLine,
    Command,
    Event,
    IdleDone,
    NeedContinuation,
    NeedData,
    ProtocolError,
    Receiver,
    writer,
)
from postbus.imap.proto.dates import MONTHS

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
ALLOWED = (Command, NeedContinuation, ProtocolError, IdleDone, AuthLine)


def run(receiver: Receiver, chunks: list[bytes]) -> list[Event]:
    """Feed ``chunks`` like a session would, switching modes after IDLE/AUTHENTICATE."""
    out: list[Event] = []
    for chunk in chunks:
        receiver.feed(chunk)
        while True:
            event = receiver.next_event()
            if isinstance(event, NeedData):
                break
            assert isinstance(event, ALLOWED), event
            out.append(event)
            if isinstance(event, Command) and event.name == "IDLE":
                receiver.expect_idle_done(event.tag)
            elif isinstance(event, Command) and event.name == "AUTHENTICATE":
                receiver.expect_auth_line(event.tag)
    return out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)] or [b""]


# -- arbitrary bytes ------------------------------------------------------------------
NOISE = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.sampled_from([
            b"\r\n", b"\n", b" ", b"(", b")", b"{3}\r\n", b"{2+}\r\n", b"~{1+}\r\n", b'"',
            b"\\", b"*", b"$", b"[", b"]", b"<0.5>", b"a1 ", b"UID ", b"FETCH ", b"SEARCH ",
            b"APPEND INBOX ", b"BODY[", b"NIL", b"{99999999999999999999+}\r\n", b"\x00",
            b"\xff", b"IDLE\r\n", b"AUTHENTICATE PLAIN\r\n", b"DONE\r\n", b"{0}\r\n",
        ]),
    ),
    max_size=30,
).map(b"".join)


@FUZZ
@given(NOISE, st.lists(st.integers(0, 10_000), max_size=8))
def test_arbitrary_bytes_yield_only_documented_events(data: bytes, cuts: list[int]) -> None:
    run(Receiver(max_line=64, max_literal=16, append_limit=32), split(data, cuts))


@FUZZ
@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=6))
def test_raw_binary_yields_only_documented_events(data: bytes, cuts: list[int]) -> None:
    run(Receiver(), split(data, cuts))


@FUZZ
@given(NOISE.map(lambda b: b.replace(b"}", b"")), st.lists(st.integers(0, 10_000), max_size=8))
def test_valid_command_after_garbage_still_parses(data: bytes, cuts: list[int]) -> None:
    # Without "}" the garbage cannot announce a literal that would swallow what follows.
    receiver = Receiver(max_line=64)
    run(receiver, split(data, cuts))
    # The CRLF ends whatever line the garbage left open (also a pending DONE/SASL line).
    out = run(receiver, [b"\r\nZZ9 UID FETCH 1:* (FLAGS)\r\n"])
    assert isinstance(out[-1], Command) and out[-1].tag == "ZZ9", out


# -- grammar-shaped commands --------------------------------------------------------------
ATOMS = st.from_regex(rb"\A[A-Za-z0-9$_.-]{1,8}\Z")
TEXT = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"),
    max_size=12,
)
STRINGS = st.one_of(ATOMS, TEXT.map(lambda t: writer.string(t)))
NUMBERS = st.integers(1, 2**32 - 1).map(lambda n: b"%d" % n)
SEQ_ITEM = st.one_of(NUMBERS, st.just(b"*"), st.tuples(NUMBERS, NUMBERS).map(b":".join))
SEQSET = st.one_of(st.lists(SEQ_ITEM, min_size=1, max_size=4).map(b",".join), st.just(b"$"))
DATES = st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)).map(
    lambda d: f"{d.day}-{MONTHS[d.month - 1]}-{d.year}".encode()
)
SIMPLE_KEYS = st.sampled_from([
    b"ALL", b"ANSWERED", b"DELETED", b"DRAFT", b"FLAGGED", b"NEW", b"OLD", b"RECENT", b"SEEN",
    b"UNANSWERED", b"UNDELETED", b"UNDRAFT", b"UNFLAGGED", b"UNSEEN",
])
LEAF_KEYS = st.one_of(
    SIMPLE_KEYS,
    st.tuples(st.sampled_from([b"BCC", b"BODY", b"CC", b"FROM", b"SUBJECT", b"TEXT", b"TO"]),
              STRINGS).map(b" ".join),
    st.tuples(st.sampled_from([b"BEFORE", b"ON", b"SINCE", b"SENTBEFORE", b"SENTON",
                               b"SENTSINCE"]), DATES).map(b" ".join),
    st.tuples(st.sampled_from([b"LARGER", b"SMALLER"]), NUMBERS).map(b" ".join),
    st.tuples(st.sampled_from([b"KEYWORD", b"UNKEYWORD"]), ATOMS).map(b" ".join),
    st.tuples(ATOMS, STRINGS).map(lambda t: b"HEADER " + t[0] + b" " + t[1]),
    SEQSET.map(lambda s: b"UID " + s),
    SEQSET,
    NUMBERS.map(lambda n: b"MODSEQ " + n),
)
SEARCH_KEYS = st.recursive(
    LEAF_KEYS,
    lambda inner: st.one_of(
        inner.map(lambda k: b"NOT " + k),
        st.tuples(inner, inner).map(lambda t: b"OR " + t[0] + b" " + t[1]),
        st.lists(inner, min_size=1, max_size=3).map(lambda ks: b"(" + b" ".join(ks) + b")"),
    ),
    max_leaves=12,
)
SECTIONS = st.one_of(
    st.just(b""),
    st.sampled_from([b"HEADER", b"TEXT", b"1", b"1.2", b"2.MIME", b"1.HEADER", b"3.TEXT"]),
    st.lists(ATOMS, min_size=1, max_size=3).map(lambda hs: b"HEADER.FIELDS (" + b" ".join(hs) + b")"),
)
FETCH_ATTS = st.one_of(
    st.sampled_from([b"FLAGS", b"UID", b"ENVELOPE", b"BODYSTRUCTURE", b"BODY", b"RFC822.SIZE",
                     b"INTERNALDATE", b"MODSEQ", b"RFC822.HEADER", b"BINARY.SIZE[1]",
                     b"PREVIEW", b"PREVIEW (LAZY)", b"PREVIEW (FUZZY)", b"PREVIEW (LAZY=FUZZY)",
                     b"SNIPPET", b"SNIPPET (FUZZY)", b"SNIPPET (LAZY FUZZY)"]),
    st.tuples(st.sampled_from([b"BODY", b"BODY.PEEK"]), SECTIONS,
              st.sampled_from([b"", b"<0.100>", b"<5.1>"]))
    .map(lambda t: t[0] + b"[" + t[1] + b"]" + t[2]),
)
CONTROLS = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)]))
NAMES = st.text(st.characters(codec="utf-8", exclude_characters=CONTROLS), max_size=12)
MAILBOXES = st.one_of(st.just(b"INBOX"), NAMES.map(lambda t: writer.mailbox(t)))
VALID_COMMANDS = st.one_of(
    SEARCH_KEYS.map(lambda k: b"UID SEARCH " + k),
    SEARCH_KEYS.map(lambda k: b"SEARCH RETURN (MIN COUNT) CHARSET UTF-8 " + k),
    SEARCH_KEYS.map(lambda k: b"SORT (REVERSE DATE SUBJECT) UTF-8 " + k),
    SEARCH_KEYS.map(lambda k: b"UID THREAD REFS UTF-8 " + k),
    st.tuples(SEQSET, st.lists(FETCH_ATTS, min_size=1, max_size=5))
    .map(lambda t: b"FETCH " + t[0] + b" (" + b" ".join(t[1]) + b")"),
    st.tuples(SEQSET, st.lists(ATOMS, max_size=3))
    .map(lambda t: b"UID STORE " + t[0] + b" +FLAGS.SILENT (" + b" ".join(t[1]) + b")"),
    MAILBOXES.map(lambda m: b"SELECT " + m + b" (CONDSTORE)"),
    MAILBOXES.map(lambda m: b'LIST "" ' + m + b" RETURN (CHILDREN STATUS (MESSAGES))"),
    MAILBOXES.map(lambda m: b"STATUS " + m + b" (MESSAGES UIDNEXT SIZE)"),
    st.tuples(SEQSET, MAILBOXES).map(lambda t: b"UID MOVE " + t[0] + b" " + t[1]),
    st.tuples(STRINGS, STRINGS).map(lambda t: b"LOGIN " + t[0] + b" " + t[1]),
)


@FUZZ
@given(VALID_COMMANDS, st.lists(st.integers(0, 500), max_size=5))
def test_grammar_shaped_valid_commands_parse(line: bytes, cuts: list[int]) -> None:
    out = run(Receiver(), split(b"t1 " + line + b"\r\n", cuts))
    commands = [e for e in out if not isinstance(e, NeedContinuation)]
    assert len(commands) == 1 and isinstance(commands[0], Command), (line, out)
    assert commands[0].tag == "t1"


@FUZZ
@given(VALID_COMMANDS, st.integers(0, 1000), st.binary(min_size=1, max_size=3),
       st.booleans())
def test_mutated_commands_fail_cleanly(line: bytes, at: int, junk: bytes, cut: bool) -> None:
    at %= len(line) + 1
    mutated = line[:at] + junk + line[at + (1 if cut else 0):]
    mutated = mutated.replace(b"}", b"")  # keep the framing predictable
    out = run(Receiver(), [b"t1 " + mutated + b"\r\nt2 NOOP\r\n"])
    assert all(not (isinstance(e, ProtocolError) and e.fatal) for e in out)
    assert isinstance(out[-1], Command) and out[-1].tag == "t2", (mutated, out)


@FUZZ
@given(st.sampled_from(sorted(COMMANDS)), st.lists(
    st.one_of(ATOMS, STRINGS, SEQSET, NUMBERS, SEARCH_KEYS, FETCH_ATTS,
              st.sampled_from([b"(", b")", b"NIL", b"()", b"{2+}\r\nab", b"~{1+}\r\n\x00",
                               b"RETURN", b"UID", b'"17-Jul-1996 02:44:25 -0700"'])),
    max_size=6,
))
def test_random_arguments_for_every_command(name: str, args: list[bytes]) -> None:
    line = b"t1 " + name.encode() + b"".join(b" " + a for a in args) + b"\r\nt2 NOOP\r\n"
    out = run(Receiver(), [line])
    results = [e for e in out if not isinstance(e, NeedContinuation)]
    if name in ("IDLE", "AUTHENTICATE") and isinstance(results[0], Command):
        return  # the next line belongs to the IDLE / SASL exchange
    assert isinstance(results[-1], Command) and results[-1].tag == "t2", (line, out)
    assert len(results) == 2
