"""IMAPS load, Postbus against Dovecot: the same users, mailboxes and clients, in one run.

Run (as root, Debian's dovecot-imapd installed):

    .venv/bin/python bench/imap_load.py [--loads open,login,large] [--clients 10,50]
        [--seconds 20] [--users 10] [--inbox 200] [--large 50000] [--runs 3]
        [--only postbus|dovecot] [--workers N] [--backend sqlite|postgresql]
        [--data DIR] [--json FILE]

Both servers get the same seeded, distinct messages of about 2.5 KB:

- ``--users`` accounts ``load{n}@example.test`` with ``--inbox`` messages each
  in INBOX, for the mixed loads;
- one account ``large@example.test`` whose INBOX holds ``--large`` messages,
  for the large-folder commands.

Postbus gets them through the store (`ingest_bytes` + `store.deliver`, as an
MX delivery stores them) before ``postbus serve`` starts with only ``imaps``
listening; Dovecot (``dovecot -c CONF -F``, a config written here: imaps on a
loopback port, passwd-file users, static userdb as ``nobody``, Maildir) as
Maildir files. Both use the same self-signed certificate (Postbus's). With
``--data DIR`` the filled stores are kept and reused by later runs (one
directory per code version under test: the Postbus store is migrated, not
rebuilt).

Loads (``--loads``, comma separated):

- ``open``: each client logs in once and keeps its session, then repeats a
  cycle of 10 commands as fast as replies come: SELECT INBOX,
  FETCH 1:20 (FLAGS ENVELOPE), FETCH n BODY.PEEK[], STORE n +FLAGS (\\Flagged),
  STORE n -FLAGS (\\Flagged), APPEND, UID STORE (that message) +FLAGS (\\Deleted),
  UID EXPUNGE, LIST "" "*", STATUS INBOX (MESSAGES UNSEEN UIDNEXT).
  Commands/s over ``--seconds``, at each of ``--clients``.
- ``login``: the same, but each cycle opens a new connection and LOGINs first
  (a login every 10 commands, LOGIN counted as a command) and LOGOUTs after.
- ``large``: on the large folder, one session, each command once to warm up
  then ``--runs`` times: SEARCH SUBJECT (a word in every subject),
  SEARCH SINCE (matches every message), SORT (SUBJECT) ALL, SORT (DATE) ALL,
  FETCH 1:* (FLAGS ENVELOPE), SEARCH TEXT (a word in 1 % of messages).
  Median milliseconds of the timed runs (the untimed first run is printed
  too: it holds one-off work such as Dovecot's cache fields or Postbus's
  backfill of stored keys); the result counts of both servers are printed
  side by side (they must agree).

The clients run in ``--procs`` processes (default 2) so that the load
generator is not the bottleneck of a single core. Prints each figure for
both servers and Postbus/Dovecot (throughput ratio; for times, Dovecot's time
over Postbus's, so above 1 means Postbus is faster), with the load average,
and writes everything to ``--json`` (default imap_load.json).

``--backend postgresql`` stores Postbus's mail in a new PostgreSQL database
made as the test suite makes them (``tests/support/pg.py``: through
``POSTBUS_TEST_PG``, default postgresql://postgres@127.0.0.1:5432/postgres),
dropped at the end unless ``--data`` keeps it (its URL in ``DIR/postgresql_url``).

``--workers N`` writes ``[server] workers = N`` into Postbus's config (only
when given). ``--postbus-python`` runs ``postbus serve`` with another
interpreter/tree (PYTHONPATH), to compare code versions in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dovecot_setup

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support import pg

PASSWORD = "Tq7#mZ2v!pLx"
DOMAIN = "example.test"
LARGE_USER = f"large@{DOMAIN}"
RARE = "zanzibar"  # in 1 % of the large folder's messages
COMMON = "bench"  # in every subject
WORDS = ("quarterly numbers budget meeting agenda lunch report project deadline review invoice "
         "travel office coffee release notes summary draft figures plan sales team weekly update "
         "customer support ticket server backup holiday schedule training").split()
NAMES = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy "
         "Rupert Sybil Trent Victor Walter Zoe").split()
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()
LARGE_COMMANDS = (
    ("SEARCH SUBJECT (all)", f"SEARCH SUBJECT {COMMON}"),
    ("SEARCH SINCE (all)", "SEARCH SINCE 1-Jan-2000"),
    ("SORT (SUBJECT) ALL", "SORT (SUBJECT) UTF-8 ALL"),
    ("SORT (DATE) ALL", "SORT (DATE) UTF-8 ALL"),
    ("FETCH 1:* (FLAGS ENVELOPE)", "FETCH 1:* (FLAGS ENVELOPE)"),
    ("SEARCH TEXT (1 %)", f"SEARCH TEXT {RARE}"),
)


def users(n: int) -> list[str]:
    return [f"load{i}@{DOMAIN}" for i in range(n)]


# -- the messages ------------------------------------------------------------------------
def make_message(n: int, rng: random.Random, to: str, rare: bool = False) -> bytes:
    """A distinct message of about 2.5 KB."""
    sender = rng.choice(NAMES)
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
    if rng.random() < 0.3:
        subject = "Re: " + subject
    day = rng.randint(1, 28)
    date = (f"{DAYS[(n + day) % 7]}, {day} {rng.choice(MONTHS)} {rng.randint(2019, 2025)} "
            f"{rng.randint(0, 23):02}:{rng.randint(0, 59):02}:{rng.randint(0, 59):02} "
            f"{rng.choice(('+0000', '+0100', '-0500', '+0530'))}")
    words = [rng.choice(WORDS) for _ in range(rng.randint(300, 360))]
    if rare:
        words[rng.randrange(len(words))] = RARE
    lines, line = [], ""
    for w in words:
        if len(line) + len(w) > 70:
            lines.append(line)
            line = ""
        line = f"{line} {w}" if line else w
    lines.append(line)
    head = (f"From: {sender} {n % 97} <{sender.lower()}{n % 500}@remote.test>\r\n"
            f"To: {to}\r\nSubject: {COMMON} {subject} {n}\r\nDate: {date}\r\n"
            f"Message-ID: <load{n}.{rng.getrandbits(32)}@remote.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    return (head + "\r\n".join(lines) + "\r\n").encode()


def mailboxes(args: argparse.Namespace) -> dict[str, list[bytes]]:
    rng = random.Random(1939)
    out: dict[str, list[bytes]] = {}
    n = 0
    for user in users(args.users):
        out[user] = []
        for _ in range(args.inbox):
            out[user].append(make_message(n, rng, user))
            n += 1
    if "large" in args.loads:
        out[LARGE_USER] = [make_message(n + i, rng, LARGE_USER, rare=i % 100 == 0)
                           for i in range(args.large)]
    return out


def signature(args: argparse.Namespace) -> str:
    return (f"users={args.users} inbox={args.inbox} large={args.large if 'large' in args.loads else 0}"
            + (f" backend={args.backend}" if args.backend != "sqlite" else ""))


# -- Postbus -----------------------------------------------------------------------------
async def fill_postbus(data_dir: Path, boxes: dict[str, list[bytes]], url: str) -> None:
    from postbus.accounts.service import Accounts
    from postbus.delivery.ingest import ingest_bytes
    from postbus.store.contract import Store
    from postbus.store.model import INBOX
    from postbus.store.postgres.backend import PostgresStore
    from postbus.store.sqlite.backend import SqliteStore

    store: Store = PostgresStore(url, data_dir) if url else SqliteStore(data_dir)
    await store.open()
    try:
        await store.add_domain(DOMAIN)
        accounts = Accounts(store, default_quota=0)
        for user, messages in boxes.items():
            account = await accounts.add_user(user, PASSWORD)
            inbox = await store.get_mailbox(account.id, INBOX)
            assert inbox is not None

            async def one(raw: bytes, mailbox_id: int = inbox.id) -> None:
                ingested = await ingest_bytes(store, raw)
                (result,) = await store.deliver([mailbox_id], ingested.blob, ingested.parsed,
                                                check_quota=False)
                assert not isinstance(result, Exception), result

            for start in range(0, len(messages), 64):  # group commits, UIDs nearly in order
                await asyncio.gather(*(one(raw) for raw in messages[start:start + 64]))
            print(f"  postbus: {user} {len(messages)} messages", flush=True)
        accounts.close()
    finally:
        await store.close()


def start_postbus(root: Path, args: argparse.Namespace, boxes: dict[str, list[bytes]] | None,
                  url: str) -> tuple[subprocess.Popen[str], int]:
    data = root / "postbus"
    listen = {name: "" for name in ("smtp", "submissions", "submission", "imap", "pop3s",
                                    "pop3", "https", "http")}
    listen["imaps"] = "127.0.0.1:0"
    config = root / "postbus.toml"
    text = (f'hostname = "localhost"\ndata_dir = "{data}"\nlog_level = "WARNING"\n'
            "[listen]\n" + "".join(f'{k} = "{v}"\n' for k, v in listen.items()))
    # Every client comes from 127.0.0.1: no per-address limit, as for Dovecot here
    # (mail_max_userip_connections); with logins, closed connections and new ones overlap.
    text += "[limits]\nmax_connections_per_ip = 0\n"
    # The benchmark runs as root (for Dovecot): Postbus serves as root only when told to.
    text += "[server]\nallow_root = true\n"
    if args.workers is not None:
        text += f"workers = {args.workers}\n"
    if url:
        text += f'[storage]\nbackend = "postgresql"\nurl = "{url}"\n'
    config.write_text(text)
    if boxes is not None:
        asyncio.run(fill_postbus(data, boxes, url))
    env = {k: v for k, v in os.environ.items() if k != "POSTBUS_LOOP"}
    python = sys.executable
    if args.postbus_python:
        python, _, path = args.postbus_python.partition(":")
        if path:
            env["PYTHONPATH"] = path
    proc = subprocess.Popen([python, "-m", "postbus.cli", "--config", str(config), "serve"],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    port = 0
    for line in proc.stdout:
        m = re.match(r"postbus: imaps listening on [\d.]+:(\d+)", line)
        if m:
            port = int(m.group(1))
        if line.strip() == "postbus: ready":
            break
    if not port:
        proc.kill()
        raise SystemExit("postbus did not start")
    return proc, port


# -- Dovecot -----------------------------------------------------------------------------
def start_dovecot(root: Path, boxes: dict[str, list[bytes]] | None) -> tuple[subprocess.Popen[bytes], int]:
    base = root / "dovecot"
    if boxes is not None:
        dovecot_setup.fill(base, boxes, PASSWORD, quiet=False)
    tls = root / "postbus" / "tls"
    port = dovecot_setup.free_port()
    conf = dovecot_setup.config(base, "imap", port, tls / "selfsigned.crt", tls / "selfsigned.key", """
mail_max_userip_connections = 10000
service imap {
  process_limit = 2048
}
default_client_limit = 4096
""")
    return dovecot_setup.start(base, conf, port), port


# -- the client --------------------------------------------------------------------------
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


class Client:
    """A lean IMAP client: one command at a time, untagged data counted, not parsed."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.r, self.w = reader, writer
        self.n = 0

    @classmethod
    async def connect(cls, port: int, ctx: ssl.SSLContext) -> Client:
        r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, limit=2**22)
        c = cls(r, w)
        await r.readline()  # greeting
        return c

    async def _response(self, tag: bytes) -> tuple[bytes, list[bytes]]:
        lines: list[bytes] = []
        while True:
            line = await self.r.readline()
            if not line:
                raise ConnectionError("server closed the connection")
            while (m := _LITERAL.search(line)) is not None:
                line += await self.r.readexactly(int(m.group(1)))
                line += await self.r.readline()
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1:].startswith(b"OK"):
                    raise RuntimeError(line.decode(errors="replace"))
                return line, lines
            lines.append(line)

    async def command(self, text: str | bytes, literal: bytes | None = None) -> tuple[bytes, list[bytes]]:
        self.n += 1
        tag = b"t%d" % self.n
        data = text.encode() if isinstance(text, str) else text
        if literal is None:
            self.w.write(tag + b" " + data + b"\r\n")
        else:
            self.w.write(tag + b" " + data + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        return await self._response(tag)

    async def close(self) -> None:
        try:
            await self.command("LOGOUT")
        except (ConnectionError, RuntimeError):
            pass
        self.w.close()


def client_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
_EXISTS = re.compile(rb"^\* (\d+) EXISTS")


async def cycle(c: Client, rng: random.Random, message: bytes) -> int:
    """The 10 commands of the mixed load; returns 10."""
    _, untagged = await c.command("SELECT INBOX")
    exists = next((int(m.group(1)) for u in untagged if (m := _EXISTS.match(u))), 1)
    n = rng.randint(1, max(1, exists))
    await c.command(f"FETCH 1:{min(20, exists)} (FLAGS ENVELOPE)")
    await c.command(f"FETCH {n} BODY.PEEK[]")
    await c.command(f"STORE {n} +FLAGS (\\Flagged)")
    await c.command(f"STORE {n} -FLAGS (\\Flagged)")
    ok, _ = await c.command("APPEND INBOX", message)
    m = _APPENDUID.search(ok)
    uid = m.group(1).decode() if m else "*"
    await c.command(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)")
    await c.command(f"UID EXPUNGE {uid}")
    await c.command('LIST "" "*"')
    await c.command("STATUS INBOX (MESSAGES UNSEEN UIDNEXT)")
    return 10


async def run_clients(port: int, first: int, clients: int, user_names: list[str], seconds: float,
                      login_each: bool) -> int:
    ctx = client_context()
    start_at = time.monotonic() + 2.0  # every connection made before the clock starts
    count = 0

    errors = 0

    async def one(i: int) -> None:
        nonlocal count, errors
        rng = random.Random(i)
        user = user_names[i % len(user_names)]
        message = make_message(10**6 + i, rng, user)
        c = None
        if not login_each:
            c = await Client.connect(port, ctx)
            await c.command(f'LOGIN {user} "{PASSWORD}"')
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        end = start_at + seconds
        while time.monotonic() < end:
            try:
                if login_each or c is None:
                    c = await Client.connect(port, ctx)
                    await c.command(f'LOGIN {user} "{PASSWORD}"')
                    done = 1 + await cycle(c, rng, message)
                    if login_each:
                        await c.close()
                        c = None
                else:
                    done = await cycle(c, rng, message)
            except (ConnectionError, RuntimeError, OSError, asyncio.IncompleteReadError):
                errors += 1  # counted and reported; the client starts over
                c = None
                await asyncio.sleep(0.05)
                continue
            if time.monotonic() <= end:
                count += done
        if c is not None:
            await c.close()

    await asyncio.gather(*(one(first + i) for i in range(clients)))
    if errors:
        print(f"  {errors} failed cycles (connection refused/closed or NO/BAD)", flush=True)
    return count


def _client_process(port: int, first: int, clients: int, user_names: list[str], seconds: float,
                    login_each: bool, out: Any) -> None:
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(run_clients(port, first, clients, user_names, seconds, login_each)))


def mixed(port: int, args: argparse.Namespace, clients: int, login_each: bool) -> float:
    """Commands per second of `clients` clients over ``--seconds``."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = max(1, min(args.procs, clients))
    share = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    workers, first = [], 0
    for n in share:
        p = ctx.Process(target=_client_process, args=(port, first, n, users(args.users),
                                                      args.seconds, login_each, queue))
        p.start()
        workers.append(p)
        first += n
    total = 0
    for _ in workers:
        try:
            total += queue.get(timeout=args.seconds + 120)
        except Exception:  # a client process died: its share counts as nothing
            print("  a client process gave no count", flush=True)
    for p in workers:
        p.join()
    return total / args.seconds


async def large_folder(port: int, runs: int) -> dict[str, dict[str, Any]]:
    c = await Client.connect(port, client_context())
    await c.command(f'LOGIN {LARGE_USER} "{PASSWORD}"')
    await c.command("SELECT INBOX")
    out: dict[str, dict[str, Any]] = {}
    for name, command in LARGE_COMMANDS:
        times = []
        size = 0
        for _ in range(runs + 1):  # the first run warms caches up and is not counted
            started = time.perf_counter()
            _, untagged = await c.command(command)
            times.append(time.perf_counter() - started)
            if command.startswith("FETCH"):
                size = len(untagged)
            else:
                size = sum(len(u.split()) - 2 for u in untagged
                           if u.startswith((b"* SEARCH", b"* SORT")))
        out[name] = {"ms": statistics.median(times[1:]) * 1000, "results": size,
                     "first_ms": times[0] * 1000, "runs_ms": [t * 1000 for t in times[1:]]}
    await c.close()
    return out


# -- the run ------------------------------------------------------------------------------
def measure(name: str, port: int, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for load in args.loads:
        if load == "large":
            print(f"{name}: large folder ({args.large} messages), load {os.getloadavg()[0]:.1f}",
                  flush=True)
            out["large"] = asyncio.run(large_folder(port, args.runs))
            continue
        for clients in args.clients:
            key = f"{load}-{clients}"
            print(f"{name}: {key} load {os.getloadavg()[0]:.1f}", flush=True)
            out[key] = {"commands_per_s": mixed(port, args, clients, load == "login"),
                        "load_average": os.getloadavg()[0]}
    return out


def report(results: dict[str, dict[str, Any]]) -> None:
    p, d = results.get("postbus", {}), results.get("dovecot", {})
    print(f"\n{'figure':32} {'Postbus':>12} {'Dovecot':>12} {'ratio':>7}")
    for key in sorted(set(p) | set(d)):
        if key == "large":
            continue
        a = p.get(key, {}).get("commands_per_s")
        b = d.get(key, {}).get("commands_per_s")
        ratio = f"{a / b:.2f}" if a and b else "-"
        print(f"{key + ' (commands/s)':32} {a or 0:12.0f} {b or 0:12.0f} {ratio:>7}")
    large_p, large_d = p.get("large", {}), d.get("large", {})
    for name, _ in LARGE_COMMANDS if large_p or large_d else ():
        a = large_p.get(name, {}).get("ms")
        b = large_d.get(name, {}).get("ms")
        ratio = f"{b / a:.2f}" if a and b else "-"
        counts = f"{large_p.get(name, {}).get('results', '-')}/{large_d.get(name, {}).get('results', '-')}"
        first = (f"{large_p.get(name, {}).get('first_ms', 0):.0f}/"
                 f"{large_d.get(name, {}).get('first_ms', 0):.0f}")
        print(f"{name + ' (ms)':32} {a or 0:12.1f} {b or 0:12.1f} {ratio:>7}  results {counts}"
              f"  first run {first} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", default="open,login,large",
                        help="comma-separated: open, login, large")
    parser.add_argument("--clients", default="10,50", help="comma-separated client counts")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--inbox", type=int, default=200, help="messages per user's INBOX")
    parser.add_argument("--large", type=int, default=50000, help="messages in the large folder")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per large-folder command")
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--only", choices=("postbus", "dovecot"))
    parser.add_argument("--workers", type=int, default=None,
                        help="Postbus's [server] workers (left to its default when not given)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                        help="Postbus's store")
    parser.add_argument("--data", type=Path, default=None,
                        help="keep the filled stores here and reuse them in later runs")
    parser.add_argument("--postbus-python", default="",
                        help="PYTHON[:PYTHONPATH] to run postbus serve with")
    parser.add_argument("--json", type=Path, default=Path("imap_load.json"))
    args = parser.parse_args()
    args.loads = [x for x in args.loads.split(",") if x]
    args.clients = [int(x) for x in args.clients.split(",") if x]
    if args.only != "postbus" and os.geteuid() != 0:
        raise SystemExit("run as root (Dovecot drops to its own users), or --only postbus")
    tmp = None
    if args.data is None:
        tmp = tempfile.TemporaryDirectory(prefix="imap-load-")
        root = Path(tmp.name)
    else:
        root = args.data.resolve()
        root.mkdir(parents=True, exist_ok=True)
    started = {"load_average": os.getloadavg(), "cpus": os.cpu_count(), "time": time.time()}
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {signature(args)}", flush=True)
    stamp = root / "filled"
    fresh = not stamp.exists() or stamp.read_text() != signature(args)
    if fresh and (root / "postbus").exists():
        raise SystemExit(f"{root} holds stores of other sizes; use another --data")
    boxes = mailboxes(args) if fresh else None
    url = ""
    if args.backend == "postgresql":
        url_file = root / "postgresql_url"
        if fresh:
            url = pg.create_database()
            url_file.write_text(url)
        else:
            url = url_file.read_text()
    results: dict[str, dict[str, Any]] = {}
    procs: list[subprocess.Popen[Any]] = []
    try:
        postbus, postbus_port = start_postbus(root, args, boxes, url)
        procs.append(postbus)
        dovecot, dovecot_port = None, 0
        if args.only != "postbus":
            dovecot, dovecot_port = start_dovecot(root, boxes)
            procs.append(dovecot)
        if fresh:
            stamp.write_text(signature(args))
        if args.only != "dovecot":
            results["postbus"] = measure("postbus", postbus_port, args)
        if dovecot is not None:
            results["dovecot"] = measure("dovecot", dovecot_port, args)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        if tmp is not None:
            tmp.cleanup()
            if url:
                pg.drop_database(url)
    report(results)
    args.json.write_text(json.dumps({"started": started, "ended_load_average": os.getloadavg(),
                                     "options": {k: str(v) for k, v in vars(args).items()},
                                     "results": results}, indent=2))
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
