"""What FETCH, SEARCH and SORT cost on a 50,000-message folder (embedded SQLite store).

Run: .venv/bin/python bench/imap_fetch_bench.py [--messages 50000] [--distinct 300]

The folder is built quickly: a few hundred distinct messages (plain, multipart
with attachments, HTML, forwarded message/rfc822; 1 in 100 mentions
"zanzibar") are ingested once, then appended again and again with
`store.append` (the blob and its parse-once record are shared, as a message
delivered to many folders is). Then, with a writer that discards the bytes:

* ``FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)``, cold (structure memo disabled:
  every message encoded) and warm (memo filled by the previous run);
* ``FETCH 1:* (FLAGS UID)`` (entries only), ``FETCH 1:* (UID RFC822.SIZE INTERNALDATE)``
  and Thunderbird's header fetch (``BODY.PEEK[HEADER.FIELDS (...)]``: one header read each);
* ``SEARCH TEXT zanzibar`` (~1 % match: index narrowing + exact check),
  ``SEARCH UNSEEN``, ``SEARCH SUBJECT quarterly``, ``SEARCH SINCE``;
* ``SORT (DATE)`` and ``SORT (SUBJECT)`` over the folder.

Each figure is the best of `--runs` runs, in seconds and µs per message.
Blob reads are counted to show that FETCH of structures reads no bodies.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from postbus.config import Settings
from postbus.delivery.ingest import ingest_bytes
from postbus.imap import fetch_structure
from postbus.imap.fetch import fetch
from postbus.imap.proto import FetchArgs, SearchArgs, SortArgs, parse_command
from postbus.imap.search import criterion
from postbus.imap.sort import sort_keys
from postbus.mailbox.search import search
from postbus.mailbox.service import Mailboxes
from postbus.mailbox.sort import sort
from postbus.store.contract import Store
from postbus.store.sqlite.backend import SqliteStore

WORDS = ("quarterly numbers budget meeting agenda lunch report project deadline review "
         "invoice travel office coffee release notes summary draft figures plan").split()
APPEND_CONCURRENCY = 256
# What Thunderbird asks for each new message (header only: one short read per message)
THUNDERBIRD = ("(UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date "
               "Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type "
               "Reply-To)])")


def make_message(n: int, rng: random.Random) -> bytes:
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
    body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 400)))
    if n % 100 == 7:
        body += " see you in zanzibar"
    header = (
        f"Received: from mx{n}.example.net by mail.example.org; Tue, 1 Jul 2025 10:52:37 +0200\r\n"
        f"From: =?utf-8?q?Bj=C3=B6rn_{n}?= <bjorn{n}@example.net>\r\n"
        f"To: Alice <alice@example.org>, bob{n % 7}@example.org\r\n"
        f"Cc: \"Carol, C.\" <carol@example.com>\r\n"
        f"Subject: Re: [team] {subject}\r\n"
        f"Date: {1 + n % 28} Jul 2025 10:{n % 60:02d}:37 +0200\r\n"
        f"Message-ID: <{n}.bench@example.net>\r\nMIME-Version: 1.0\r\n"
    )
    kind = n % 4
    if kind == 0:
        return (header + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()
    if kind == 1:
        html = f"<html><body><p>{body}</p></body></html>"
        return (header + "Content-Type: multipart/alternative; boundary=alt\r\n\r\n"
                "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body +
                "\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html +
                "\r\n--alt--\r\n").encode()
    if kind == 2:
        attachment = base64.encodebytes(rng.randbytes(rng.randint(2_000, 60_000))).decode()
        return (header + "Content-Type: multipart/mixed; boundary=mix\r\n\r\n"
                "--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body +
                "\r\n--mix\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\n"
                "Content-Disposition: attachment; filename=\"r.pdf\"\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n" + attachment.replace("\n", "\r\n") +
                "--mix--\r\n").encode()
    inner = ("From: someone@example.org\r\nSubject: forwarded\r\n"
             "Content-Type: text/plain\r\n\r\n" + body + "\r\n")
    return (header + "Content-Type: multipart/mixed; boundary=fwd\r\n\r\n"
            "--fwd\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"
            "--fwd\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "--fwd--\r\n").encode()


async def build(store: SqliteStore, messages: int, distinct: int) -> int:
    await store.add_domain("example.org")
    account = await store.add_account("bench@example.org", "x", quota_bytes=0)
    mailbox = await store.get_mailbox(account.id, "INBOX")
    assert mailbox is not None
    await build_folder(store, mailbox.id, messages, distinct)
    return mailbox.id


async def build_folder(store: Store, mailbox_id: int, messages: int, distinct: int) -> None:
    """Fill the folder with `messages` messages made of `distinct` different ones."""
    rng = random.Random(1)
    ingested = [await ingest_bytes(store, make_message(n, rng)) for n in range(distinct)]
    for start in range(0, messages, APPEND_CONCURRENCY):
        await asyncio.gather(*(
            store.append(mailbox_id, ingested[n % distinct].blob, ingested[n % distinct].parsed,
                         flags=("\\Seen",) if n % 3 else (), internal_date=1.7e9 + n * 60)
            for n in range(start, min(messages, start + APPEND_CONCURRENCY))
        ))


async def best(runs: int, job: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = await job()
        times.append(time.perf_counter() - start)
    return min(times), result


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "data")
        await store.open()
        try:
            start = time.perf_counter()
            mailbox_id = await build(store, args.messages, args.distinct)
            print(f"built {args.messages} messages ({args.distinct} distinct) "
                  f"in {time.perf_counter() - start:.1f} s")
            await run(store, mailbox_id, args.runs)
        finally:
            await store.close()


async def run(store: SqliteStore, mailbox_id: int, runs: int) -> None:
    entries = await store.list_messages(mailbox_id)
    count = len(entries)
    targets = list(enumerate(entries, 1))
    written = 0
    reads = 0
    original_read = store.read_blob

    async def counting_read(blob_id: str, offset: int = 0, length: int = -1) -> bytes:
        nonlocal reads
        reads += 1
        return await original_read(blob_id, offset, length)

    store.read_blob = counting_read  # type: ignore[method-assign]

    async def write(data: bytes) -> None:
        nonlocal written
        written += len(data)

    def report(label: str, seconds: float, extra: str = "") -> None:
        print(f"{label:<52} {seconds:7.3f} s  {seconds / count * 1e6:6.1f} µs/msg  {extra}")

    async def do_fetch(items: str) -> None:
        cmd = parse_command([f"A FETCH 1:* {items}".encode()])
        assert isinstance(cmd.args, FetchArgs)
        await fetch(Mailboxes(store, Settings()), mailbox_id, targets, cmd.args.atts, uid_command=False,
                    readonly=True, utf8=False, changed_since=None, write=write)

    for items in ("(FLAGS UID)", "(UID RFC822.SIZE INTERNALDATE)", THUNDERBIRD):
        reads = 0
        seconds, _ = await best(runs, partial(do_fetch, items))
        label = "(Thunderbird's header fetch)" if items == THUNDERBIRD else items
        report(f"FETCH 1:* {label}", seconds, f"{reads // runs} blob reads/run")

    structure = "(FLAGS ENVELOPE BODYSTRUCTURE)"
    fetch_structure.CACHE.capacity = 0
    fetch_structure.CACHE.clear()
    written = reads = 0
    seconds, _ = await best(runs, lambda: do_fetch(structure))
    report(f"FETCH 1:* {structure} cold", seconds,
           f"{written / runs / 2**20:.1f} MB out, {reads} blob reads")
    fetch_structure.CACHE.capacity = fetch_structure.STRUCTURE_CACHE_ENTRIES
    await do_fetch(structure)
    seconds, _ = await best(runs, lambda: do_fetch(structure))
    report(f"FETCH 1:* {structure} warm (memo)", seconds)

    async def do_search(keys: str) -> list[int]:
        cmd = parse_command([f"A SEARCH {keys}".encode()])
        assert isinstance(cmd.args, SearchArgs)
        return await search(store, mailbox_id, entries, criterion(cmd.args.key, entries))

    for keys in ("TEXT zanzibar", "BODY zanzibar", "UNSEEN", "SUBJECT quarterly",
                 "SINCE 1-Jan-2030", "TEXT zz"):
        reads = 0
        seconds, found = await best(runs, partial(do_search, keys))
        report(f"SEARCH {keys}", seconds, f"{len(found)} found, {reads // runs} blob reads/run")

    every = [e.uid for e in entries]
    for criteria in ("(DATE)", "(SUBJECT)", "(REVERSE ARRIVAL)"):
        cmd = parse_command([f"A SORT {criteria} UTF-8 ALL".encode()])
        assert isinstance(cmd.args, SortArgs)
        seconds, _ = await best(runs, partial(
            sort, store, mailbox_id, every, sort_keys(cmd.args.criteria)))
        report(f"SORT {criteria} UTF-8 ALL", seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--distinct", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
