"""What SELECT costs the server on a 10,000- and a 50,000-message folder (SQLite).

Run: .venv/bin/python bench/imap_select_bench.py [--sizes 10000 50000] [--runs 5]

An in-process server (the IMAP unit-test harness) gets a folder filled the
way `imap_fetch_bench` fills one (a few hundred distinct messages appended
again and again, one in three unseen). A client then SELECTs it `--runs`
times; the figure is the best time spent in the SELECT handler itself (from
the command reaching the handler to the tagged reply being queued), so
loopback and TLS are left out. The round trip is printed next to it, and
the two parts that grow with the folder: reading every entry
(`store.list_messages`, in the store's reader thread) and building the view
from them (on the event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.imap_fetch_bench import build_folder
from tests.unit.imap.harness import USER, running

from postbus.imap.handlers import select as select_handler
from postbus.mailbox.view import MailboxView


async def measure(size: int, runs: int) -> tuple[float, float, float, float]:
    handler_times: list[float] = []
    original = select_handler._open

    async def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            handler_times.append(time.perf_counter() - start)

    select_handler._open = timed  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with running(Path(tmp) / "var") as imap:
                account = imap.accounts[USER]
                mailbox = await imap.app.store.get_mailbox(account.id, "INBOX")
                await build_folder(imap.app.store, mailbox.id, size, distinct=200)
                client = await imap.client()
                round_trips = []
                for _ in range(runs):
                    start = time.perf_counter()
                    await client.ok("SELECT INBOX")
                    round_trips.append(time.perf_counter() - start)
                    await client.ok("UNSELECT")
                store = imap.app.store
                reads, views = [], []
                for _ in range(runs):  # each view from fresh entries, as SELECT builds it
                    start = time.perf_counter()
                    entries = await store.list_messages(mailbox.id)
                    reads.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    MailboxView(mailbox, entries, readonly=False)
                    views.append(time.perf_counter() - start)
                read, view = min(reads), min(views)
    finally:
        select_handler._open = original  # type: ignore[assignment]
    return min(handler_times), min(round_trips), read, view


async def main(args: argparse.Namespace) -> None:
    for size in args.sizes:
        server, round_trip, read, view = await measure(size, args.runs)
        print(f"SELECT, {size:>6} messages: server {server * 1e3:8.2f} ms"
              f"   round trip {round_trip * 1e3:8.2f} ms"
              f"   (list_messages {read * 1e3:6.2f} ms, view {view * 1e3:6.2f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
