"""Mixed IMAP load against Postbus on PostgreSQL: one node versus two nodes.

Run: .venv/bin/python bench/multinode_bench.py [--seconds 30] [--clients 16]
     [--accounts 8] [--messages 300] [--no-sqlite]
     [--dsn postgresql://postgres@127.0.0.1/postgres]

Creates a scratch database and fills the Inboxes of two sets of `--accounts`
accounts with `--messages` messages each (one set per PostgreSQL phase, so both
start from the same folders; the embedded store gets the first set too). Then
it starts `postbus serve` processes (uvloop, every listener on 127.0.0.1:0)
and runs, for `--seconds` each:

0. for reference, one node on the embedded store (SQLite), same load;
1. one node on PostgreSQL: `--clients` client tasks, all on node 1;
2. two nodes on PostgreSQL: the same clients split evenly between them.

Each client logs in over implicit TLS and repeats a mail client's round:
SELECT INBOX, a header FETCH of the newest 20 messages (what Thunderbird asks
for), a SEARCH (UNSEEN, SUBJECT word, TEXT rare word, in turn), an APPEND of a 2 KB message, a
flag STORE; after `ROUNDS_PER_LOGIN` rounds it logs out and logs in again.
Every tagged reply counts as one operation. Printed per phase: operations per
second, latency median and p95 per command, and the CPU the nodes, PostgreSQL
and the whole machine used (from /proc), which shows what limited the run.
The load generator runs in this process (asyncio, uvloop), on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

import asyncpg
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.server import ServerProcess, running_server, write_config

from postbus import config as config_mod
from postbus.app import App
from postbus.delivery.ingest import ingest_bytes

DOMAIN = "bench.test"
PASSWORD = "Tq7#mZ2v!pLx"
DISTINCT = 50  # distinct bodies in the prefilled folders
APPEND_CONCURRENCY = 64
ROUNDS_PER_LOGIN = 10
HEADER_FETCH = 20
RARE_WORD, RARE_EVERY = "zanzibar", 25  # what a TEXT search looks for: 1 message in 25
WORDS = "budget meeting agenda report deadline invoice travel release draft coffee".split()
FETCH_ITEMS = ("(UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date"
               " Message-ID References In-Reply-To Content-Type)])")
# A client's searches, in turn: the Unread view, a quick filter on the subject,
# a full-text search for a rare word.
SEARCHES = ("UNSEEN", "SUBJECT {word}", f"TEXT {RARE_WORD}")
_LITERAL = re.compile(rb"\{(\d+)\}\r\n$")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")


def make_message(n: int, rng: random.Random) -> bytes:
    body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 400)))
    if n % RARE_EVERY == 0:
        body += " " + RARE_WORD
    return (f"From: Sender {n} <s{n}@remote.test>\r\nTo: user@{DOMAIN}\r\n"
            f"Subject: {rng.choice(WORDS)} {rng.choice(WORDS)} {n}\r\n"
            f"Date: Tue, 1 Jul 2025 10:{n % 60:02d}:00 +0000\r\n"
            f"Message-ID: <{n}.{rng.random()}@remote.test>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


# -- set-up ------------------------------------------------------------------------
async def prefill(config: Path, users: list[str], messages: int) -> None:
    app = App(config_mod.load(config))
    await app.open()
    try:
        await app.accounts.add_domain(DOMAIN)
        rng = random.Random(1)
        store = app.store
        bodies = [await ingest_bytes(store, make_message(n, rng)) for n in range(DISTINCT)]
        jobs = []
        for user in users:
            account = await app.accounts.add_user(user, PASSWORD)
            inbox = await store.get_mailbox(account.id, "INBOX")
            assert inbox is not None
            for n in range(messages):
                flags = ["\\Seen"] if n % 3 else []
                jobs.append((inbox.id, bodies[n % DISTINCT], flags))
        for start in range(0, len(jobs), APPEND_CONCURRENCY):
            await asyncio.gather(*(store.append(box, b.blob, b.parsed, flags=f)
                                   for box, b, f in jobs[start:start + APPEND_CONCURRENCY]))
    finally:
        await app.close()


# -- the client ----------------------------------------------------------------------
class ImapClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.tag = 0

    @classmethod
    async def connect(cls, port: int, ctx: ssl.SSLContext) -> ImapClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                       limit=1 << 20)
        client = cls(reader, writer)
        await client.line()  # greeting
        return client

    async def line(self) -> bytes:
        """One response line with its literals."""
        fragment = await self.reader.readuntil(b"\r\n")
        line = fragment
        while m := _LITERAL.search(fragment):
            line += await self.reader.readexactly(int(m.group(1)))
            fragment = await self.reader.readuntil(b"\r\n")
            line += fragment
        return line

    async def command(self, text: str, literal: bytes | None = None) -> list[bytes]:
        self.tag += 1
        tag = f"t{self.tag}".encode()
        if literal is None:
            self.writer.write(tag + b" " + text.encode() + b"\r\n")
        else:  # LITERAL+ (RFC 7888): no round trip for the continuation
            self.writer.write(tag + b" " + text.encode() + b" {%d+}\r\n" % len(literal)
                              + literal + b"\r\n")
        lines: list[bytes] = []
        while True:
            line = await self.line()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(f"{text[:40]}: {line!r}")
                return lines
            lines.append(line)

    def close(self) -> None:
        self.writer.close()


class Results:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors = 0

    @property
    def operations(self) -> int:
        return sum(len(v) for v in self.latency.values())


async def timed(results: Results, name: str, client: ImapClient, text: str,
                literal: bytes | None = None) -> list[bytes]:
    started = time.perf_counter()
    lines = await client.command(text, literal)
    results.latency[name].append(time.perf_counter() - started)
    return lines


async def client_task(number: int, port: int, user: str, deadline: float,
                      results: Results) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    rng = random.Random(number)
    rounds = 0
    while time.monotonic() < deadline:
        client = await ImapClient.connect(port, ctx)
        try:
            await timed(results, "LOGIN", client, f'LOGIN "{user}" "{PASSWORD}"')
            for _ in range(ROUNDS_PER_LOGIN):
                if time.monotonic() >= deadline:
                    break
                selected = await timed(results, "SELECT", client, "SELECT INBOX")
                uid_next = next(int(m.group(1)) for line in selected
                                if (m := _UIDNEXT.search(line)))
                await timed(results, "FETCH", client,
                            f"UID FETCH {max(1, uid_next - HEADER_FETCH)}:* {FETCH_ITEMS}")
                query = SEARCHES[rounds % len(SEARCHES)].format(word=rng.choice(WORDS))
                await timed(results, "SEARCH", client, f"UID SEARCH {query}")
                raw = make_message(10_000 + number * 100_000 + rounds, rng)[:2048]
                await timed(results, "APPEND", client, "APPEND INBOX (\\Seen)", raw)
                change = "+" if rounds % 2 else "-"
                await timed(results, "STORE", client,
                            f"UID STORE {rng.randrange(1, uid_next)} {change}FLAGS.SILENT (\\Flagged)")
                rounds += 1
            await timed(results, "LOGOUT", client, "LOGOUT")
        except (RuntimeError, OSError, asyncio.IncompleteReadError) as exc:
            results.errors += 1
            print(f"client {number}: {exc}", file=sys.stderr)
        finally:
            client.close()


# -- CPU accounting ------------------------------------------------------------------
def cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


async def backend_pids(url: str | None) -> list[int]:
    """The PostgreSQL server processes serving the bench database (the nodes' pools)."""
    if url is None:
        return []
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()")
        return [r[0] for r in found]
    finally:
        await conn.close()


async def phase(label: str, url: str | None, nodes: list[ServerProcess], users: list[str],
                clients: int, seconds: float) -> None:
    results = Results()
    node_pids = [n.proc.pid for n in nodes]
    pg_pids = postgres_pids()
    ours = await backend_pids(url)
    cpu_nodes, cpu_pg, busy0 = cpu_seconds(node_pids), cpu_seconds(pg_pids), machine_busy()
    cpu_ours, cpu_client = cpu_seconds(ours), time.process_time()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(
        client_task(i, nodes[i % len(nodes)].port("imaps"), users[i % len(users)], deadline,
                    results)
        for i in range(clients)))
    elapsed = time.monotonic() - started
    busy1 = machine_busy()
    node_cpu = (cpu_seconds(node_pids) - cpu_nodes) / elapsed
    pg_cpu = (cpu_seconds(sorted(set(pg_pids + postgres_pids()))) - cpu_pg) / elapsed
    ours_cpu = (cpu_seconds(sorted(set(ours + await backend_pids(url)))) - cpu_ours) / elapsed
    client_cpu = (time.process_time() - cpu_client) / elapsed
    machine = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]) * (os.cpu_count() or 1)
    print(f"{label}: {results.operations / elapsed:8.0f} operations/s"
          f"  ({results.operations} in {elapsed:.1f}s, {results.errors} errors)")
    print(f"    CPU in cores: nodes {node_cpu:.2f}, their PostgreSQL backends {ours_cpu:.2f}"
          f" (all PostgreSQL processes {pg_cpu:.2f}), load generator {client_cpu:.2f},"
          f" whole machine {machine:.2f} of {os.cpu_count()}")
    for name, values in sorted(results.latency.items()):
        ordered = sorted(values)
        p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        print(f"    {name:<7} {len(values):7d}  median {statistics.median(ordered) * 1000:6.1f} ms"
              f"  p95 {p95 * 1000:6.1f} ms")


async def database(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def node_config(directory: Path, name: str, url: str | None) -> Path:
    directory.mkdir()
    storage = {"backend": "postgresql", "url": url} if url else {"backend": "sqlite"}
    return write_config(directory, {
        "storage": storage, "dns": {"static": {"A localhost.invalid": ["127.0.0.1"]}},
    }, node_name=name, log_level="WARNING")


def run_phase(label: str, url: str | None, configs: list[Path], users: list[str],
              args: argparse.Namespace) -> None:
    with ExitStack() as stack:
        nodes = [stack.enter_context(running_server(c, env={"POSTBUS_LOOP": "uvloop"}))
                 for c in configs]
        uvloop.run(phase(label, url, nodes, users, args.clients, args.seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--no-sqlite", action="store_true", help="skip the embedded-store run")
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    name = "postbus_bench_" + uuid.uuid4().hex[:8]
    url = args.dsn.rsplit("/", 1)[0] + "/" + name
    asyncio.run(database(args.dsn, f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as scratch:
            embedded = node_config(Path(scratch) / "embedded", "embedded", None)
            pg = [node_config(Path(scratch) / f"node{i}", f"node{i}", url) for i in (1, 2)]
            one = [f"a{i}@{DOMAIN}" for i in range(args.accounts)]
            two = [f"b{i}@{DOMAIN}" for i in range(args.accounts)]
            started = time.monotonic()
            asyncio.run(prefill(pg[0], one + two, args.messages))
            if not args.no_sqlite:
                asyncio.run(prefill(embedded, one, args.messages))
                gc.collect()  # the embedded store's reader connections
            print(f"prefilled the Inboxes ({args.messages} messages each)"
                  f" in {time.monotonic() - started:.1f}s")
            print(f"load average before: {os.getloadavg()[0]:.2f}")
            if not args.no_sqlite:
                run_phase("1 node, SQLite     ", None, [embedded], one, args)
            run_phase("1 node, PostgreSQL ", url, pg[:1], one, args)
            run_phase("2 nodes, PostgreSQL", url, pg, two, args)
            print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        asyncio.run(database(args.dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
