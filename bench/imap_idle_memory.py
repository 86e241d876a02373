"""What an idle, logged-in IMAP connection costs the server in memory.

Run: .venv/bin/python bench/imap_idle_memory.py [--connections 1000] [--loop uvloop|asyncio]
                                                 [--select]

A Postbus server (IMAP listeners only, a temporary data_dir) runs in this
process; a child process opens N connections over TLS (``imaps``), logs each
in (and with ``--select`` selects INBOX, which holds 100 messages), then
leaves them idle.  The server reports the growth of its resident set (RSS)
and of the Python heap traced by tracemalloc (which does not see OpenSSL's
own allocations), each divided by N, and the largest allocation sites.  The
child's memory is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ssl
import subprocess
import sys
import tempfile
import textwrap
import tracemalloc
from pathlib import Path

from postbus.config import from_dict
from postbus.delivery.ingest import ingest_bytes
from postbus.server import Server

USER = "bench@example.test"
PASSWORD = "Tq7#mZ2v!pLx"
MESSAGES = 100

CLIENT = textwrap.dedent("""
    import asyncio, ssl, sys
    PORT, N, TLS, SELECT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    async def one(i, keep):
        r, w = await asyncio.open_connection("127.0.0.1", PORT, ssl=ctx if TLS else None)
        await r.readline()
        w.write(b'a LOGIN %s "%s"\\r\\n' % (sys.argv[5].encode(), sys.argv[6].encode()))
        if SELECT:
            w.write(b"b SELECT INBOX\\r\\n")
        tag = b"b " if SELECT else b"a "
        while not (await r.readline()).startswith(tag):
            pass
        keep.append(w)
    async def main():
        keep = []
        sem = asyncio.Semaphore(50)
        async def limited(i):
            async with sem:
                await one(i, keep)
        await asyncio.gather(*(limited(i) for i in range(N)))
        print("ready", len(keep), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    asyncio.run(main())
""")


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def measure(args: argparse.Namespace, data_dir: Path) -> None:
    listen = {name: "" for name in ("smtp", "submissions", "submission", "pop3s", "pop3",
                                     "https", "http")}
    listen |= {"imaps": "127.0.0.1:0", "imap": "127.0.0.1:0"}
    settings = from_dict({"data_dir": str(data_dir), "listen": listen,
                          "security": {"auth_failure_delay": 0}})
    server = Server(settings, announce=lambda line: None)
    await server.start()
    app = server.app
    await app.store.add_domain("example.test")
    account = await app.accounts.add_user(USER, PASSWORD)
    inbox = await app.store.get_mailbox(account.id, "INBOX")
    assert inbox is not None
    for n in range(MESSAGES):
        raw = b"Subject: message %d\r\nFrom: a@example.org\r\n\r\nHello.\r\n" % n
        ingested = await ingest_bytes(app.store, raw)
        await app.store.append(inbox.id, ingested.blob, ingested.parsed)
    _ = app.tls  # the TLS context is made once, not per connection
    # Warm up: one connection through the whole path so that one-off costs
    # (imports, caches, the auth cache entry) are not charged to the N.
    await run_clients(args, server, 1)
    gc.collect()
    tracemalloc.start()
    before_rss, before_heap = rss_kib(), tracemalloc.get_traced_memory()[0]
    child = await run_clients(args, server, args.connections, keep=True)
    gc.collect()
    await asyncio.sleep(0.5)
    after_rss, after_heap = rss_kib(), tracemalloc.get_traced_memory()[0]
    sessions = len(app.sessions)
    n = args.connections
    print(f"loop={args.loop} select={args.select} connections={n} "
          f"live sessions={sessions}")
    print(f"RSS growth:  {after_rss - before_rss:8d} KiB total, "
          f"{(after_rss - before_rss) / n:7.1f} KiB per connection")
    print(f"Python heap: {(after_heap - before_heap) // 1024:8d} KiB total, "
          f"{(after_heap - before_heap) / 1024 / n:7.1f} KiB per connection (tracemalloc)")
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    ours = snapshot.filter_traces([tracemalloc.Filter(True, "*/postbus/*")])
    ours_size = sum(stat.size for stat in ours.statistics("filename"))
    print(f"  of which allocated in postbus code: {ours_size / 1024 / n:7.1f} KiB per connection"
          " (the rest is mostly the event loop's 256 KiB TLS read buffer, malloc'd but")
    print("  untouched by uvloop, hence not resident; asyncio's own loop zero-fills it)")
    print("largest allocation sites:")
    for stat in snapshot.statistics("lineno")[:8]:
        print(f"  {stat.size / 1024 / n:6.2f} KiB/conn  {stat.traceback[0]}")
    assert child is not None and child.stdin is not None
    child.stdin.write(b"\n")
    await child.stdin.drain()
    await child.wait()
    await server.stop()


async def run_clients(args: argparse.Namespace, server: Server, n: int,
                      keep: bool = False) -> asyncio.subprocess.Process | None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLIENT, str(server.bound["imaps"][1]), str(n),
        "1", "1" if args.select else "0", USER, PASSWORD,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stdin is not None
    line = await child.stdout.readline()
    assert line.startswith(b"ready"), line
    if keep:
        return child
    child.stdin.write(b"\n")
    await child.stdin.drain()
    await child.wait()
    while len(server.app.sessions) > 0:
        await asyncio.sleep(0.05)
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--select", action="store_true")
    args = parser.parse_args()
    ssl.create_default_context()  # load OpenSSL before the baseline
    with tempfile.TemporaryDirectory() as tmp:
        coro = measure(args, Path(tmp) / "var")
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(coro)
        else:
            asyncio.run(coro)


if __name__ == "__main__":
    main()
