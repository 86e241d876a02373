"""Server time of the webmail on a 100,000-message folder (embedded SQLite store, in process).

Run: .venv/bin/python bench/webmail_bench.py [--messages 100000] [--distinct 300] [--runs 7] [--rounds 3]

The folder is built as `imap_fetch_bench.py` builds it (a few hundred distinct
messages appended again and again; 1 in 100 mentions "zanzibar"). The
requests go to the webmail's ASGI app through httpx's ASGI transport, so the
time is the server's: session check, mailbox service, template, no network.
Printed for each of `--rounds` rounds, as the median of `--runs` requests after
one untimed warm-up each, then the median of the rounds' medians:

* the Inbox page (page 1, newest first, 50 rows: what a login lands on);
* the Inbox page sorted by subject (`Mailboxes.sort` over the whole folder),
  with the webmail's order cache off, so every request sorts;
* page 2 of that order with the cache on (what paging through a sorted list costs);
* a message view (a multipart message with an attachment);
* a quick search for "zanzibar" (IMAP SEARCH over subject/from/to/body), cache off.

The first Inbox request, which loads the folder's entries into the cache, is
printed on its own (cold).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import cast

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

sys.path.insert(0, str(Path(__file__).parent))
from imap_fetch_bench import build_folder

from postbus.app import App
from postbus.config import from_dict
from postbus.web.server import build_app
from postbus.web.webmail.listing import OrderCache


async def timed(client: httpx.AsyncClient, url: str, runs: int) -> tuple[float, list[float]]:
    await client.get(url)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = await client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), times


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = App(from_dict({"data_dir": str(Path(tmp) / "var"), "hostname": "localhost"}))
        await app.open()
        try:
            await app.store.add_domain("example.org")
            account = await app.store.add_account("bench@example.org", "x", quota_bytes=0)
            inbox = await app.mailboxes.get(account.id, "INBOX")
            start = time.perf_counter()
            await build_folder(app.store, inbox.id, args.messages, args.distinct)
            print(f"built {args.messages} messages ({args.distinct} distinct) in "
                  f"{time.perf_counter() - start:.1f} s; load average {os.getloadavg()}")
            session_id, _ = await app.web_sessions.open(account)
            asgi = build_app(app)
            webmail = cast(Starlette, next(r for r in asgi.routes
                                           if isinstance(r, Mount) and r.path == "/webmail").app)
            transport = httpx.ASGITransport(app=asgi)
            async with httpx.AsyncClient(transport=transport, base_url="https://localhost",
                                         cookies={"__Host-postbus": session_id}) as client:
                start = time.perf_counter()
                first = await client.get("/webmail/mail?folder=INBOX")
                assert first.status_code == 200
                print(f"Inbox page, first (cold entry cache): {1000 * (time.perf_counter() - start):8.1f} ms")
                # message 3 of each distinct run (n % 4 == 2) has an attachment
                cases = [
                    ("Inbox page (newest first)", "/webmail/mail?folder=INBOX", True),
                    ("Inbox page sorted by subject", "/webmail/mail?folder=INBOX&sort=subject&order=asc",
                     False),
                    ("  page 2 of it (order cached)",
                     "/webmail/mail?folder=INBOX&sort=subject&order=asc&page=2", True),
                    ("message view", f"/webmail/message?folder=INBOX&uid={args.messages - 1}", True),
                    ('search "zanzibar"', "/webmail/mail?folder=INBOX&q=zanzibar", False),
                ]
                medians: dict[str, list[float]] = {label: [] for label, _, _ in cases}
                for round_ in range(1, args.rounds + 1):
                    print(f"round {round_}, load average {os.getloadavg()}")
                    for label, url, cached in cases:
                        webmail.state.orders = OrderCache(16 if cached else 0)
                        median, times = await timed(client, url, args.runs)
                        medians[label].append(median)
                        print(f"  {label:32s} median {1000 * median:8.1f} ms  (min "
                              f"{1000 * min(times):.1f}, max {1000 * max(times):.1f}, runs {len(times)})")
                print("median of the rounds' medians:")
                for label, values in medians.items():
                    print(f"  {label:32s} {1000 * statistics.median(values):8.1f} ms")
            print(f"load average after: {os.getloadavg()}")
        finally:
            await app.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=300)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
