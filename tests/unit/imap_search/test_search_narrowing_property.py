"""The index narrows a search, never decides it: for random messages and keys, the
search the index narrowed answers exactly as a scan of every message does.

Messages spell their addresses and subjects the ways RFC 5322 allows and the
ENVELOPE hides (comments, CFWS around "@" and ".", quoted names and local parts,
encoded words, case that folds fully, such as "ß"); keys are pieces of what the
exact check matches (RFC 3501 §6.4.4: FROM, TO, CC, BCC match the envelope).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbus.delivery.ingest import ingest_bytes
from postbus.imap.proto import SearchArgs, parse_command
from postbus.imap.proto.writer import string
from postbus.imap.search import criterion
from postbus.mailbox.search import search
from postbus.store.contract import Store
from postbus.store.sqlite.backend import SqliteStore

EXAMPLES = settings(max_examples=int(os.environ.get("POSTBUS_FUZZ_EXAMPLES", "60")),
                    deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = ["user", "from", "domain", "Straße", "STRASSE", "été", "ÉTÉ", "zoë", "Quill",
         "list", "team", "σίσυφος", "ΣΊΣΥΦΟΣ", "alpha", "o'neil", "x_y", "b-c"]
ASCII = ["user", "from", "domain", "quill", "list", "team", "alpha", "b-c", "x_y", "mail"]

word = st.sampled_from(WORDS)
atom = st.sampled_from(ASCII)
comment = st.sampled_from(["", " (comment) ", "(c)", " ( nested (c) ) ", " "])


@st.composite
def display_name(draw: Any) -> str:
    words = draw(st.lists(word, min_size=1, max_size=3))
    style = draw(st.sampled_from(["plain", "quoted", "encoded", "comment"]))
    text = " ".join(words)
    if style == "quoted":
        return '"' + text.replace('"', '\\"') + '"'
    if style == "encoded":
        return "=?utf-8?q?" + "".join(
            c if c.isascii() and c.isalnum() else "".join(f"={b:02X}" for b in c.encode())
            for c in text) + "?="
    if style == "comment":
        return f"{text} (aka {draw(word)})"
    return text if all(w.isascii() and "'" not in w for w in words) else f'"{text}"'


@st.composite
def addr_spec(draw: Any) -> str:
    local = ".".join(draw(st.lists(atom, min_size=1, max_size=2)))
    if draw(st.booleans()):
        local = f'"{local} {draw(atom)}"'
    domain = [draw(atom), draw(st.sampled_from(["org", "example", "net"]))]
    return (f"{local}{draw(comment)}@{draw(comment)}"
            f"{domain[0]}{draw(st.sampled_from(['.', ' . ', '(c).']))}{domain[1]}")


@st.composite
def address(draw: Any) -> str:
    spec = draw(addr_spec())
    kind = draw(st.sampled_from(["bare", "angle", "named"]))
    if kind == "bare":
        return spec
    if kind == "angle":
        return f"<{spec}>"
    return f"{draw(display_name())} <{spec}>"


@st.composite
def address_list(draw: Any) -> str:
    items = draw(st.lists(address(), min_size=1, max_size=3))
    if draw(st.integers(0, 4)) == 0:  # group syntax
        return f"{draw(display_name())}: {', '.join(items)};"
    return ", ".join(items)


@st.composite
def message(draw: Any) -> bytes:
    lines = [f"From: {draw(address_list())}", f"To: {draw(address_list())}"]
    if draw(st.booleans()):
        lines.append(f"Cc: {draw(address_list())}")
    if draw(st.booleans()):
        lines.append(f"Bcc: {draw(address_list())}")
    subject = " ".join(draw(st.lists(word, min_size=1, max_size=4)))
    if draw(st.booleans()):
        subject = subject.replace(" ", "\r\n  ", 1)  # folded
    lines.append(f"Subject: Re: {subject}")
    body = " ".join(draw(st.lists(word, min_size=1, max_size=8)))
    head = "\r\n".join(lines)
    return (f"{head}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n").encode()


@st.composite
def key(draw: Any) -> str:
    name = draw(st.sampled_from(["FROM", "TO", "CC", "BCC", "SUBJECT", "BODY", "TEXT"]))
    # A piece of an address as the envelope writes it, of a word, or across words.
    value = draw(st.one_of(
        word, atom,
        st.builds(lambda a, b: f"{a}@{b}", atom, st.sampled_from(["", "alpha", "mail"])),
        st.builds(lambda a, b: f"{a}.{b}", atom, st.sampled_from(["org", "example", "net"])),
        st.builds(lambda a, b: f"{a} {b}", word, word),
        st.builds(lambda a, b: f"{a} <{b}", word, atom),
        st.builds(lambda w, n: w[:n], word, st.integers(1, 8)),
    ))
    return f"{name} {string(value, utf8=True).decode()}"


_folders = itertools.count(1)


@EXAMPLES
@given(messages=st.lists(message(), min_size=1, max_size=4),
       keys=st.lists(key(), min_size=1, max_size=3), indexed=st.booleans())
def test_narrowed_search_equals_the_exact_scan(
    world: tuple[Any, Store, int], messages: list[bytes], keys: list[str], indexed: bool,
) -> None:
    loop, store, account_id = world

    async def check() -> None:
        box = await store.create_mailbox(account_id, f"box{next(_folders)}")
        for raw in messages:
            ingested = await ingest_bytes(store, raw)
            await store.append(box.id, ingested.blob, ingested.parsed)
        if indexed and isinstance(store, SqliteStore):  # the index, not the text waiting
            while await store.search_backlog():
                await asyncio.sleep(0.01)
        entries = await store.list_messages(box.id)
        for text in keys:
            cmd = parse_command([f"A SEARCH CHARSET UTF-8 {text}".encode()])
            assert isinstance(cmd.args, SearchArgs)
            crit = criterion(cmd.args.key, entries)
            narrowed = await search(store, box.id, entries, crit)
            exact = await search(_NoIndex(store), box.id, entries, crit)  # type: ignore[arg-type]
            assert narrowed == exact, (text, messages)

    loop.run_until_complete(check())


class _NoIndex:
    """The store without its index: every message is read and checked."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def search_text(self, mailbox_id: int, field: str, text: str) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_the_reported_address_is_found(world: tuple[Any, Store, int]) -> None:
    """Issue 11: the ENVELOPE says user-from@domain.org; the raw header does not."""
    loop, store, account_id = world

    async def check() -> list[int]:
        box = await store.create_mailbox(account_id, "reported")
        raw = (b"From: <user-from (comment)@ (comment) domain.org>\r\nTo: a@b.example\r\n"
               b"Subject: x\r\n\r\nbody\r\n")
        ingested = await ingest_bytes(store, raw)
        await store.append(box.id, ingested.blob, ingested.parsed)
        entries = await store.list_messages(box.id)
        cmd = parse_command([b"A SEARCH FROM user-from@domain.org"])
        assert isinstance(cmd.args, SearchArgs)
        return await search(store, box.id, entries, criterion(cmd.args.key, entries))

    assert loop.run_until_complete(check()) == [1]
