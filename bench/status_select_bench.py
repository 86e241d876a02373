"""STATUS and SELECT server time on 10,000- and 50,000-message folders, on both backends.

Run: .venv/bin/python bench/status_select_bench.py [--backend sqlite|postgresql|both]
     [--sizes 10000,50000] [--rounds 30]

Each folder is filled through the store (one distinct message appended again
and again, as `imap_fetch_bench.py` does: the body and parse-once record are
shared), then a real `postbus serve` is started on that store and a real IMAP
client (imaplib, STARTTLS, LOGIN) times, over loopback:

* ``NOOP`` (the floor: a round trip that does no work);
* ``STATUS folder (MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE HIGHESTMODSEQ)``;
* ``SELECT folder`` followed by ``UNSELECT`` (only the SELECT is timed), and
  apart from it the first SELECT of the folder after the server started (one
  sample: it reads every entry, later ones read what changed).

"Server time" is the median round trip of a command minus the median NOOP
round trip, so loopback and client costs cancel out. The load average is
printed with the figures, since the machine may be busy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import imaplib
import os
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import pg
from tests.support.server import running_server, write_config

from postbus.accounts.passwords import hash_password
from postbus.delivery.ingest import ingest_bytes
from postbus.store import Store
from postbus.store.postgres.backend import PostgresStore
from postbus.store.sqlite.backend import SqliteStore

ADDRESS = "bench@example.org"
PASSWORD = "Tq7#mZ2v!pLx"
APPEND_CONCURRENCY = 256
ITEMS = "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE HIGHESTMODSEQ)"
MESSAGE = (
    b"From: Bench <bench@example.net>\r\nTo: bench@example.org\r\n"
    b"Subject: status and select\r\nDate: Tue, 1 Jul 2025 10:52:37 +0200\r\n"
    b"Message-ID: <status@example.net>\r\n\r\n" + b"Some words of body text.\r\n" * 20
)


async def fill(store: Store, sizes: list[int]) -> None:
    await store.add_domain("example.org")
    account = await store.add_account(ADDRESS, hash_password(PASSWORD), quota_bytes=0)
    ingested = await ingest_bytes(store, MESSAGE)
    for size in sizes:
        box = await store.create_mailbox(account.id, f"F{size}")
        for start in range(0, size, APPEND_CONCURRENCY):
            await asyncio.gather(*(
                store.append(box.id, ingested.blob, ingested.parsed,
                             flags=("\\Seen",) if n % 3 else (), internal_date=1.7e9 + n)
                for n in range(start, min(size, start + APPEND_CONCURRENCY))
            ))


def median_ms(rounds: int, job: Callable[[], object], before: Callable[[], object] | None = None,
              after: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(rounds):
        if before is not None:
            before()
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
        if after is not None:
            after()
    return statistics.median(times) * 1000


@contextlib.contextmanager
def client(port: int) -> Iterator[imaplib.IMAP4]:
    tls = ssl.create_default_context()
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.starttls(tls)
    imap.login(ADDRESS, PASSWORD)
    try:
        yield imap
    finally:
        imap.logout()


def measure(port: int, sizes: list[int], rounds: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with client(port) as imap:
        for _ in range(5):
            imap.noop()
        noop = median_ms(rounds, imap.noop)
        out["noop"] = noop
        for size in sizes:
            folder = f"F{size}"

            typ, data = imap.status(folder, ITEMS)
            assert typ == "OK" and f"MESSAGES {size}" in data[0].decode(), data
            out[f"status {size}"] = median_ms(rounds, lambda f=folder: imap.status(f, ITEMS)) - noop
            start = time.perf_counter()
            typ, data = imap.select(folder)
            out[f"first select {size}"] = (time.perf_counter() - start) * 1000 - noop
            assert typ == "OK" and int(data[0]) == size, data
            imap.unselect()
            out[f"select {size}"] = median_ms(
                max(5, rounds // 3), lambda f=folder: imap.select(f), after=imap.unselect
            ) - noop
    return out


def run_backend(backend: str, sizes: list[int], rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "var"
        url = ""
        overrides: dict[str, dict[str, object]] = {
            "listen": {name: "" for name in
                       ("smtp", "submissions", "submission", "imaps", "pop3s", "pop3", "https")}
            | {"imap": "127.0.0.1:0"},
        }
        if backend == "postgresql":
            url = pg.create_database()
            store: Store = PostgresStore(url, data)
            overrides["storage"] = {"backend": "postgresql", "url": url}
        else:
            store = SqliteStore(data)

        async def build() -> None:
            await store.open()
            try:
                await fill(store, sizes)
            finally:
                await store.close()

        try:
            start = time.perf_counter()
            asyncio.run(build())
            print(f"{backend}: filled {sizes} in {time.perf_counter() - start:.1f} s", flush=True)
            config = write_config(Path(tmp), overrides, data_dir=str(data))
            with running_server(config, env={"POSTBUS_LOOP": "uvloop"}) as server:
                return measure(server.port("imap"), sizes, rounds)
        finally:
            if url:
                pg.drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        figures = run_backend(backend, sizes, args.rounds)
        load = os.getloadavg()
        print(f"{backend} (load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}):")
        print(f"  NOOP round trip                    {figures['noop']:8.3f} ms")
        for size in sizes:
            print(f"  STATUS, {size:>6} messages (server) {figures[f'status {size}']:8.3f} ms")
            print(f"  SELECT, {size:>6} messages (server) {figures[f'select {size}']:8.3f} ms")
            print(f"  first SELECT after start, {size:>6}  {figures[f'first select {size}']:8.3f} ms")


if __name__ == "__main__":
    main()
