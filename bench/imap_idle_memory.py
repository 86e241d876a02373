"""What an idle, logged-in IMAP connection costs the server in memory.

Run: .venv/bin/python bench/imap_idle_memory.py [--connections 1000] [--messages 10000]
         [--accounts 4] [--loop uvloop|asyncio] [--no-select] [--no-idle] [--dovecot]
         [--workers N] [--no-postbus]

The issue 11 figure is the default: 1,000 connections over TLS (``imaps``),
spread over ``--accounts`` accounts, each with a ``--messages``-message INBOX
selected and the connection in IDLE.

- Postbus: a server (IMAP listeners only, a temporary data_dir) runs in a
  fresh process for each of ``--runs``; a child process opens the connections, logs each in, SELECTs INBOX
  and enters IDLE, then leaves them.  The server reports the growth of its
  resident set (RSS) and of the Python heap traced by tracemalloc (which does
  not see OpenSSL's own allocations), each divided by N, and the largest
  allocation sites.  One connection per account is opened and closed first,
  so that what a process keeps once per folder (the shared entry cache,
  ``mailbox/entries.py``) is not charged to the N.  The child's memory is not
  counted.
- ``--workers N``: the same clients against ``postbus serve`` with N worker
  processes (the store filled before it starts; warmed up with connections
  enough to reach every worker); its cost is the growth of the summed PSS of
  the supervisor and every worker, divided by N, as for Dovecot.
- ``--dovecot``: the same clients against a throwaway Dovecot 2.3 (Debian's
  ``dovecot-imapd``, run as ``dovecot -c CONF -F`` on a loopback port with a
  config and Maildirs written here), twice: default settings, and hibernating
  (``imap_hibernate_timeout`` and a login process shared by all connections,
  as Dovecot's docs tune it).  Its cost is the growth of the summed PSS of
  every Dovecot process (PSS shares a common page among the processes that
  map it), divided by N.  Needs root (Dovecot drops to its own users).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import dovecot_setup

from postbus.config import from_dict
from postbus.delivery.ingest import ingest_bytes
from postbus.mailbox.flags import flag_update
from postbus.server import Server

PASSWORD = "Tq7#mZ2v!pLx"

CLIENT = textwrap.dedent("""
    import asyncio, ssl, sys
    PORT, N, SELECT, IDLE = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
    USERS, PASSWORD = sys.argv[5].split(","), sys.argv[6]
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    async def until(r, prefix):
        while not (line := await r.readline()).startswith(prefix):
            if not line:
                raise SystemExit("connection closed after " + repr(prefix))
    async def one(i, keep):
        r, w = await asyncio.open_connection("127.0.0.1", PORT, ssl=ctx)
        await r.readline()
        w.write(b'a LOGIN %s "%s"\\r\\n' % (USERS[i % len(USERS)].encode(), PASSWORD.encode()))
        await until(r, b"a ")
        if SELECT:
            w.write(b"b SELECT INBOX\\r\\n")
            await until(r, b"b OK")
        if IDLE:
            w.write(b"c IDLE\\r\\n")
            await until(r, b"+ ")
        keep.append((r, w))
    async def main():
        keep = []
        sem = asyncio.Semaphore(20)
        async def limited(i):
            async with sem:
                await one(i, keep)
        await asyncio.gather(*(limited(i) for i in range(N)))
        print("ready", len(keep), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    asyncio.run(main())
""")


def users(accounts: int) -> list[str]:
    return [f"bench{n}@example.test" for n in range(accounts)]


def message(n: int) -> bytes:
    return (b"Subject: message %d\r\nFrom: a@example.org\r\nTo: b@example.test\r\n"
            b"Message-ID: <%d@bench.example.org>\r\n\r\nHello, number %d.\r\n" % (n, n, n))


def seen(n: int, messages: int) -> bool:
    """Most of a real INBOX is read; the newest tenth is not."""
    return n < messages * 9 // 10


def rss_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


# -- the clients --------------------------------------------------------------------------
async def open_clients(port: int, n: int, args: argparse.Namespace
                       ) -> asyncio.subprocess.Process:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLIENT, str(port), str(n), "1" if args.select else "0",
        "1" if args.idle else "0", ",".join(users(args.accounts)), PASSWORD,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    line = await child.stdout.readline()
    if not line.startswith(b"ready"):
        child.kill()
        raise SystemExit(f"clients failed: {line!r}")
    return child


async def close_clients(child: asyncio.subprocess.Process) -> None:
    assert child.stdin is not None
    child.stdin.write(b"\n")
    await child.stdin.drain()
    await child.wait()


# -- Postbus ------------------------------------------------------------------------------
async def measure_postbus(args: argparse.Namespace, data_dir: Path) -> float:
    listen = {name: "" for name in ("smtp", "submissions", "submission", "pop3s", "pop3",
                                     "https", "http")}
    listen |= {"imaps": "127.0.0.1:0", "imap": "127.0.0.1:0"}
    settings = from_dict({"data_dir": str(data_dir), "listen": listen,
                          "security": {"auth_failure_delay": 0},
                          "limits": {"max_connections_per_ip": 0}})
    server = Server(settings, announce=lambda line: None)
    await server.start()
    app = server.app
    await app.store.add_domain("example.test")
    inboxes = []
    for address in users(args.accounts):
        account = await app.accounts.add_user(address, PASSWORD)
        inbox = await app.store.get_mailbox(account.id, "INBOX")
        assert inbox is not None
        inboxes.append(inbox.id)
    loaded = time.monotonic()
    for n in range(args.messages):  # one transaction per message, into every INBOX
        ingested = await ingest_bytes(app.store, message(n))
        await app.store.deliver(inboxes, ingested.blob, ingested.parsed)
    read = flag_update("add", ["\\Seen"])
    for mailbox_id in inboxes:
        await app.store.store_flags(mailbox_id, [u for u in range(1, args.messages + 1)
                                                 if seen(u - 1, args.messages)], read)
    print(f"postbus: {args.accounts} INBOXes of {args.messages} messages loaded in "
          f"{time.monotonic() - loaded:.0f} s", flush=True)
    port = server.bound["imaps"][1]
    # Warm up: one connection per account through the whole path, so that one-off
    # costs (imports, the auth cache, the folder's shared entries) are not charged to N.
    await close_clients(await open_clients(port, args.accounts, args))
    while len(app.sessions) > 0:
        await asyncio.sleep(0.05)
    gc.collect()
    tracemalloc.start()
    before_rss, before_heap = rss_kib(), tracemalloc.get_traced_memory()[0]
    child = await open_clients(port, args.connections, args)
    gc.collect()
    await asyncio.sleep(0.5)
    after_rss, after_heap = rss_kib(), tracemalloc.get_traced_memory()[0]
    n = args.connections
    per_conn = (after_rss - before_rss) / n
    print(f"postbus: loop={args.loop} select={args.select} idle={args.idle} connections={n} "
          f"live sessions={len(app.sessions)}")
    print(f"  RSS growth:  {after_rss - before_rss:8d} KiB total, {per_conn:7.1f} KiB per connection")
    print(f"  Python heap: {(after_heap - before_heap) // 1024:8d} KiB total, "
          f"{(after_heap - before_heap) / 1024 / n:7.1f} KiB per connection (tracemalloc)")
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    ours = snapshot.filter_traces([tracemalloc.Filter(True, "*/postbus/*")])
    ours_size = sum(stat.size for stat in ours.statistics("filename"))
    print(f"  of which allocated in postbus code: {ours_size / 1024 / n:7.1f} KiB per connection")
    print("  largest allocation sites:")
    for stat in snapshot.statistics("lineno")[:args.sites]:
        print(f"    {stat.size / 1024 / n:6.2f} KiB/conn  {stat.traceback[0]}")
    await close_clients(child)
    await server.stop()
    return per_conn


def postbus_run(args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory(prefix="idle-mem-") as tmp:
        coro = measure_postbus(args, Path(tmp) / "var")
        if args.loop == "uvloop":
            import uvloop

            return uvloop.run(coro)
        return asyncio.run(coro)


# -- Postbus as served: every process counted -------------------------------------------
async def fill_store(data_dir: Path, args: argparse.Namespace) -> None:
    """The same accounts and INBOXes as `measure_postbus`, in a store made before
    `postbus serve` starts."""
    from postbus.accounts.service import Accounts
    from postbus.store.sqlite.backend import SqliteStore

    store = SqliteStore(data_dir)
    await store.open()
    try:
        await store.add_domain("example.test")
        accounts = Accounts(store, default_quota=0)
        inboxes = []
        for address in users(args.accounts):
            account = await accounts.add_user(address, PASSWORD)
            inbox = await store.get_mailbox(account.id, "INBOX")
            assert inbox is not None
            inboxes.append(inbox.id)
        for n in range(args.messages):
            ingested = await ingest_bytes(store, message(n))
            await store.deliver(inboxes, ingested.blob, ingested.parsed)
        read = flag_update("add", ["\\Seen"])
        for mailbox_id in inboxes:
            await store.store_flags(mailbox_id, [u for u in range(1, args.messages + 1)
                                                 if seen(u - 1, args.messages)], read)
        accounts.close()
    finally:
        await store.close()


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


async def measure_served(args: argparse.Namespace, root: Path) -> float:
    """`postbus serve` with `--workers` worker processes: the growth of the summed
    PSS of the supervisor and every worker, divided by N (as for Dovecot)."""
    data = root / "var"
    await fill_store(data, args)
    config = root / "postbus.toml"
    listen = {name: "" for name in ("smtp", "submissions", "submission", "imap", "pop3s",
                                     "pop3", "https", "http")} | {"imaps": "127.0.0.1:0"}
    config.write_text(
        f'hostname = "localhost"\ndata_dir = "{data}"\nlog_level = "WARNING"\n[listen]\n'
        + "".join(f'{k} = "{v}"\n' for k, v in listen.items())
        + "[limits]\nmax_connections_per_ip = 0\n[security]\nauth_failure_delay = 0\n"
        + f"[server]\nallow_root = true\nworkers = {args.workers}\n")
    env = {k: v for k, v in os.environ.items() if k != "POSTBUS_LOOP"}
    if args.loop == "asyncio":
        env["POSTBUS_LOOP"] = "asyncio"
    proc = subprocess.Popen([sys.executable, "-m", "postbus.cli", "--config", str(config), "serve"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        port = 0
        for line in proc.stdout:
            if line.startswith("postbus: imaps listening on"):
                port = int(line.split(":")[2].split()[0])
            if line.strip() == "postbus: ready":
                break
        if not port:
            raise SystemExit("postbus did not start")
        pids = [proc.pid, *children(proc.pid)]
        # Warm up every worker (connections land on either): one-off costs are not N's.
        await close_clients(await open_clients(port, 4 * args.accounts * args.workers, args))
        await asyncio.sleep(1)
        before = pss_kib(pids)
        child = await open_clients(port, args.connections, args)
        await asyncio.sleep(1)
        after = pss_kib(pids)
        per_conn = (after - before) / args.connections
        print(f"postbus serve ({args.workers} workers): connections={args.connections} "
              f"processes={len(pids)}")
        print(f"  PSS growth:  {after - before:8d} KiB total, {per_conn:7.1f} KiB per connection")
        await close_clients(child)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    return per_conn


def served_run(args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory(prefix="idle-mem-served-") as tmp:
        return asyncio.run(measure_served(args, Path(tmp)))


# -- Dovecot ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dovecot_pids(base: Path) -> list[int]:
    """Every process of the Dovecot instance under `base` (its master and children)."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            exe = os.readlink(proc / "exe")
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if "dovecot" in exe or str(base).encode() in environ or b"DOVECOT" in environ:
            cmdline = (proc / "cmdline").read_bytes()
            if b"dovecot" in cmdline or exe.startswith("/usr/lib/dovecot"):
                out.append(int(proc.name))
    return out


def pss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total


def dovecot_extra(hibernate: bool, limit: int) -> str:
    """Room for `limit` connections, and with `hibernate` the processes tuned to
    park idle sessions (Dovecot's imap-hibernate)."""
    tuned = f"""
imap_hibernate_timeout = 2s
service imap-login {{
  service_count = 0
  process_min_avail = 1
  client_limit = {limit}
}}
service imap-hibernate {{
  client_limit = {limit}
  unix_listener imap-hibernate {{
    mode = 0666
  }}
}}
service imap {{
  unix_listener imap-master {{
    user = nobody
  }}
}}
""" if hibernate else ""
    return f"""
default_process_limit = {limit + 50}
default_client_limit = {2 * limit + 100}
default_vsz_limit = 0
protocol imap {{
  mail_max_userip_connections = {limit}
}}
{tuned}"""


def make_cert(tls: Path) -> None:
    tls.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(tls / "key.pem"),
                    "-out", str(tls / "cert.pem")], check=True, capture_output=True)


async def measure_dovecot(args: argparse.Namespace, root: Path, hibernate: bool) -> float:
    base = root / ("dovecot-hibernate" if hibernate else "dovecot-default")
    base.mkdir()
    messages = [message(n) for n in range(args.messages)]
    dovecot_setup.fill(base, dict.fromkeys(users(args.accounts), messages), PASSWORD,
                       seen=lambda n: seen(n, args.messages))
    if not (root / "tls").exists():
        make_cert(root / "tls")
    port = dovecot_setup.free_port()
    conf = dovecot_setup.config(base, "imap", port, root / "tls" / "cert.pem", root / "tls" / "key.pem",
                                dovecot_extra(hibernate, args.connections))
    proc = dovecot_setup.start(base, conf, port)
    try:
        # Warm up: index each Maildir once (Dovecot's index files), as Postbus's cache.
        await close_clients(await open_clients(port, args.accounts, args))
        await asyncio.sleep(1)
        before = pss_kib(dovecot_pids(base))
        child = await open_clients(port, args.connections, args)
        await asyncio.sleep(10 if hibernate else 1)  # well past imap_hibernate_timeout
        pids = dovecot_pids(base)
        after = pss_kib(pids)
        per_conn = (after - before) / args.connections
        mode = "hibernating" if hibernate else "default"
        print(f"dovecot ({mode}): connections={args.connections} processes={len(pids)}")
        print(f"  PSS growth:  {after - before:8d} KiB total, {per_conn:7.1f} KiB per connection")
        errors = [line for line in (base / "dovecot.log").read_text(errors="replace").splitlines()
                  if "rror" in line]
        for line in errors[:3]:
            print(f"  dovecot.log: {line}")
        await close_clients(child)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return per_conn


def dovecot_run(args: argparse.Namespace, hibernate: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="idle-mem-dovecot-") as tmp:
        return asyncio.run(measure_dovecot(args, Path(tmp), hibernate))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--no-select", dest="select", action="store_false")
    parser.add_argument("--no-idle", dest="idle", action="store_false")
    parser.add_argument("--runs", type=int, default=1, help="median of this many runs")
    parser.add_argument("--sites", type=int, default=8, help="allocation sites to print")
    parser.add_argument("--dovecot", action="store_true", help="measure Dovecot as well")
    parser.add_argument("--no-postbus", dest="postbus", action="store_false")
    parser.add_argument("--workers", type=int, default=0,
                        help="also measure `postbus serve` with this many worker processes "
                             "(summed PSS of every process)")
    args = parser.parse_args()
    ssl.create_default_context()  # load OpenSSL before the baseline
    figures: dict[str, list[float]] = {}
    for _ in range(args.runs):
        if args.postbus:
            # A fresh process per run: a second run in the same process would
            # start from the first one's arenas and caches, and measure less.
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                figures.setdefault("Postbus", []).append(pool.submit(postbus_run, args).result())
        if args.workers:
            figures.setdefault(f"postbus serve, {args.workers} workers", []).append(served_run(args))
        if args.dovecot:
            figures.setdefault("Dovecot (default)", []).append(dovecot_run(args, False))
            figures.setdefault("Dovecot (hibernating)", []).append(dovecot_run(args, True))
    what = (f"{args.connections} IDLE TLS connections" if args.idle else
            f"{args.connections} TLS connections") + (
        f", {args.messages}-message INBOX selected ({args.accounts} accounts)"
        if args.select else ", logged in")
    print(f"\nper-connection memory, {what}, median of {args.runs}:")
    for name, xs in figures.items():
        print(f"  {name:22} {median(xs):7.1f} KiB   (runs: {', '.join(f'{x:.1f}' for x in xs)})")
    print("  loadavg:", Path("/proc/loadavg").read_text().strip())


if __name__ == "__main__":
    main()
