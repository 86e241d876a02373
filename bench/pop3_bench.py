"""POP3 download-and-delete: Postbus against Dovecot, same messages, same client.

Run (as root, Dovecot installed): .venv/bin/python bench/pop3_bench.py [--messages 2000]

Builds `--messages` messages of mixed size (log-uniform between 2 KB and
200 KB, seeded, some lines starting with "." so dot-stuffing has work to do),
loads the same messages into both servers, then downloads all of them with
one client over POP3S (implicit TLS, the same certificate for both servers):
USER/PASS, then RETR n and DELE n for every message, one command at a time as
fetchmail does, then QUIT, which is when both servers really delete. The
timed part runs from the first RETR to QUIT's reply. Prints MB/s (MB = 2^20
octets of message content) for both and the ratio, and the same split into
the RETR+DELE phase and QUIT (the UPDATE state, where messages are removed).
`--rounds` rounds (3 by default), each with fresh stores, the server that goes
first alternating; the median ratio is printed with each round's load average.

- Postbus: a `postbus serve` child with only pop3s listening (uvloop, the
  default event loop), its store in a temporary directory, loaded through the
  store API before it starts; the download starts once its background
  indexer has indexed them (`wait_for_index`), as a mailbox at rest is.
- Dovecot: a throwaway `dovecot -c CONF -F` with its own base_dir, a
  passwd-file passdb, a static userdb (uid nobody), Maildir files written
  directly (LF line ends, as Dovecot's own LDA stores them, with S= and W=
  sizes in the names so it needs no scan to answer LIST).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import re
import signal
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dovecot_setup

USER = "bench@example.test"
PASSWORD = "Tq7#mZ2v!pLx"
MIN_SIZE, MAX_SIZE = 2 * 1024, 200 * 1024
READ_SIZE = 256 * 1024
MB = 2**20


# -- the messages --------------------------------------------------------------------
def make_messages(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    words = [w.encode() for w in "the quick brown fox jumps over a lazy dog mail server "
             "download delete message inbox quota folder".split()]
    out = []
    for n in range(count):
        size = int(math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE))))
        head = (f"From: Sender {n} <sender{n}@remote.test>\r\nTo: {USER}\r\n"
                f"Subject: bench message {n}\r\nDate: Tue, 1 Jul 2025 10:52:37 +0200\r\n"
                f"Message-ID: <bench{n}.{seed}@remote.test>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=us-ascii\r\n\r\n").encode()
        lines = []
        length = len(head)
        while length < size:
            line = b" ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))
            if rng.random() < 0.02:
                line = b"." + line  # needs dot-stuffing on the wire
            lines.append(line + b"\r\n")
            length += len(line) + 2
        out.append(head + b"".join(lines))
    return out


# -- Postbus ----------------------------------------------------------------------------
async def load_postbus(data_dir: Path, messages: list[bytes]) -> None:
    from postbus.accounts.service import Accounts
    from postbus.delivery.ingest import ingest_bytes
    from postbus.store.model import INBOX
    from postbus.store.sqlite.backend import SqliteStore

    store = SqliteStore(data_dir)
    await store.open()
    try:
        await store.add_domain("example.test")
        accounts = Accounts(store, default_quota=0)
        account = await accounts.add_user(USER, PASSWORD)
        accounts.close()
        inbox = await store.get_mailbox(account.id, INBOX)
        assert inbox is not None

        async def one(raw: bytes) -> None:
            ingested = await ingest_bytes(store, raw)
            (result,) = await store.deliver([inbox.id], ingested.blob, ingested.parsed,
                                            check_quota=False)
            assert not isinstance(result, Exception), result

        for start in range(0, len(messages), 64):  # batches keep the UIDs in order-ish
            for raw in messages[start:start + 64]:
                await one(raw)
    finally:
        await store.close()


def start_postbus(root: Path, messages: list[bytes], workers: int | None = None
                  ) -> tuple[subprocess.Popen[str], int, Path]:
    data = root / "postbus"
    listen = {name: "" for name in ("smtp", "submissions", "submission", "imaps", "imap", "pop3",
                                    "https", "http")}
    listen["pop3s"] = "127.0.0.1:0"
    config = root / "postbus.toml"
    config.write_text(f'hostname = "localhost"\ndata_dir = "{data}"\nlog_level = "WARNING"\n'
                      "[listen]\n" + "".join(f'{k} = "{v}"\n' for k, v in listen.items())
                      # as root only when told to (the benchmark runs as root for Dovecot);
                      # Postbus's [server] workers key (worker processes), only when given
                      + "[server]\nallow_root = true\n"
                      + ("" if workers is None else f"workers = {workers}\n"))
    asyncio.run(load_postbus(data, messages))
    env = {k: v for k, v in os.environ.items() if k != "POSTBUS_LOOP"}
    proc = subprocess.Popen([sys.executable, "-m", "postbus.cli", "--config", str(config), "serve"],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    port = 0
    for line in proc.stdout:
        m = re.match(r"postbus: pop3s listening on [\d.]+:(\d+)", line)
        if m:
            port = int(m.group(1))
        if line.strip() == "postbus: ready":
            break
    if not port:
        proc.kill()
        raise SystemExit("postbus did not start")
    return proc, port, data / "tls"


# -- Dovecot ----------------------------------------------------------------------------
def start_dovecot(root: Path, messages: list[bytes], tls_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    base = root / "dovecot"
    dovecot_setup.fill(base, {USER: messages}, PASSWORD)
    port = dovecot_setup.free_port()
    conf = dovecot_setup.config(base, "pop3", port, tls_dir / "selfsigned.crt", tls_dir / "selfsigned.key")
    return dovecot_setup.start(base, conf, port), port


# -- the client ---------------------------------------------------------------------------
@dataclass
class Result:
    messages: int
    octets: int
    transfer: float  # first RETR to the last DELE's reply
    quit: float  # QUIT to its reply: the UPDATE state, where the deleting happens

    @property
    def seconds(self) -> float:
        return self.transfer + self.quit

    @property
    def mb_per_s(self) -> float:
        return self.octets / MB / self.seconds


class Pop3Client:
    """A lean POP3S client: big reads, no unstuffing, so the servers are what is measured."""

    def __init__(self, port: int) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                                    server_hostname="localhost")
        self.buf = b""

    def _fill(self) -> None:
        data = self.sock.recv(READ_SIZE)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def line(self) -> bytes:
        while (i := self.buf.find(b"\r\n")) < 0:
            self._fill()
        line, self.buf = self.buf[:i], self.buf[i + 2:]
        return line

    def command(self, text: str) -> bytes:
        self.sock.sendall(text.encode() + b"\r\n")
        reply = self.line()
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"{text.split()[0]}: {reply!r}")
        return reply

    def multiline_body(self) -> int:
        """Reads up to the terminating dot line; returns the octets received."""
        start = 0
        while (i := self.buf.find(b"\r\n.\r\n", start)) < 0 and not self.buf.startswith(b".\r\n"):
            start = max(0, len(self.buf) - 4)
            self._fill()
        if i < 0:  # an empty body
            self.buf = self.buf[3:]
            return 0
        self.buf = self.buf[i + 5:]
        return i + 2


def download_all(port: int) -> Result:
    client = Pop3Client(port)
    client.line()  # greeting
    client.command(f"USER {USER}")
    client.command(f"PASS {PASSWORD}")
    count = int(client.command("STAT").split()[1])
    octets = 0
    started = time.perf_counter()
    for n in range(1, count + 1):
        octets += int(client.command(f"RETR {n}").split()[1])
        client.multiline_body()
        client.command(f"DELE {n}")
    transferred = time.perf_counter()
    client.command("QUIT")
    done = time.perf_counter()
    client.sock.close()
    check = Pop3Client(port)  # both servers must really have deleted everything
    check.line()
    check.command(f"USER {USER}")
    check.command(f"PASS {PASSWORD}")
    left = int(check.command("STAT").split()[1])
    check.command("QUIT")
    check.sock.close()
    if left:
        raise RuntimeError(f"{left} messages left after QUIT")
    return Result(count, octets, transferred - started, done - transferred)


def wait_for_index(data: Path, timeout: float = 600.0) -> float:
    """Seconds until Postbus's background indexer has indexed every loaded message.

    The messages are loaded through the store API just before the server starts,
    so its indexer would otherwise still be indexing them (tens of MB) while the
    download is timed, taking a core from the client and the server alike. A
    mailbox being downloaded is at rest in real use: its messages were indexed
    when they arrived. Dovecot builds its own index at the (untimed) login."""
    started = time.perf_counter()
    while True:
        conn = sqlite3.connect(f"file:{data / 'postbus.sqlite3'}?mode=ro", uri=True)
        try:
            left = int(conn.execute("SELECT count(*) FROM search_pending").fetchone()[0])
        finally:
            conn.close()
        waited = time.perf_counter() - started
        if not left:
            return waited
        if waited > timeout:
            raise SystemExit(f"the search index still had {left} messages to do after {timeout:.0f} s")
        time.sleep(0.1)


def one_round(messages: list[bytes], workers: int | None, postbus_first: bool,
              index_wait: bool = True) -> dict[str, Result]:
    with tempfile.TemporaryDirectory(prefix="pop3-bench-") as tmp:
        root = Path(tmp)
        postbus, postbus_port, tls_dir = start_postbus(root, messages, workers)
        dovecot = None
        try:
            indexed = wait_for_index(root / "postbus") if index_wait else 0.0
            dovecot, dovecot_port = start_dovecot(root, messages, tls_dir)
            order = [("Postbus", postbus_port), ("Dovecot", dovecot_port)]
            results = {name: download_all(port) for name, port in
                       (order if postbus_first else order[::-1])}
        finally:
            postbus.send_signal(signal.SIGTERM)
            postbus.wait(30)
            if dovecot is not None:
                dovecot.send_signal(signal.SIGTERM)
                dovecot.wait(30)
    total = sum(len(m) for m in messages)
    for name in ("Postbus", "Dovecot"):
        r = results[name]
        assert r.messages == len(messages) and r.octets in (total, sum(
            len(m.replace(b"\r\n", b"\n")) + m.count(b"\r\n") for m in messages)), (name, r)
        print(f"  {name:8} {r.messages} messages, {r.octets / MB:.1f} MB in {r.seconds:.2f} s: "
              f"{r.mb_per_s:.1f} MB/s, {r.messages / r.seconds:.0f} messages/s "
              f"(RETR+DELE {r.transfer:.2f} s = {r.octets / MB / r.transfer:.1f} MB/s; "
              f"QUIT {r.quit:.2f} s)")
    p, d = results["Postbus"], results["Dovecot"]
    print(f"  ratio {p.mb_per_s / d.mb_per_s:.2f} (RETR+DELE alone {d.transfer / p.transfer:.2f});"
          + (f" Postbus's search index was complete {indexed:.1f} s after it started;"
             if indexed else " downloaded while Postbus's indexer worked;")
          + f" load {os.getloadavg()[0]:.2f}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1939)
    parser.add_argument("--workers", type=int, default=None,
                        help="Postbus's [server] workers (left to its default when not given)")
    parser.add_argument("--no-index-wait", action="store_true",
                        help="download at once, while Postbus's indexer still works on the messages")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds, each with fresh stores; which server goes first alternates")
    args = parser.parse_args()
    messages = make_messages(args.messages, args.seed)
    total = sum(len(m) for m in messages)
    print(f"{len(messages)} messages, {total / MB:.1f} MB, sizes {min(map(len, messages))}"
          f"-{max(map(len, messages))} octets, median {sorted(map(len, messages))[len(messages) // 2]}")
    ratios, transfer_ratios = [], []
    for n in range(args.rounds):
        print(f"round {n + 1} ({'Postbus' if n % 2 == 0 else 'Dovecot'} first):")
        results = one_round(messages, args.workers, postbus_first=n % 2 == 0,
                            index_wait=not args.no_index_wait)
        p, d = results["Postbus"], results["Dovecot"]
        ratios.append(p.mb_per_s / d.mb_per_s)
        transfer_ratios.append(d.transfer / p.transfer)
    print(f"Postbus/Dovecot throughput ratio, median of {args.rounds}: {statistics.median(ratios):.2f}"
          f" ({', '.join(f'{r:.2f}' for r in ratios)}); RETR+DELE alone"
          f" {statistics.median(transfer_ratios):.2f}")


if __name__ == "__main__":
    main()
