"""Worker processes: MX throughput with 1 and 2 workers, and how fast a change
crosses from one worker to another.

Run: .venv/bin/python bench/workers_bench.py [--workers 1 2] [--messages 2000]
    [--sessions 20] [--size 5120] [--rounds 3] [--idle-samples 20]
    [--backend sqlite|postgresql]

For each workers setting and round, a fresh `postbus serve` (uvloop, the
default; only smtp and imaps listening) on a temporary data_dir:
- MX: `smtp-source -s SESSIONS -m MESSAGES -l SIZE` (Debian's postfix package)
  to one mailbox; the clock runs from its start until the mailbox holds every
  message (each 250 already means stored and fsync'd); messages/second.
- IDLE (workers > 1): an IMAPS session in IDLE on one worker, then one message
  at a time delivered by SMTP through a connection that /proc shows is served
  by the other worker; the time from the 250 to the `* n EXISTS` line.
Prints the median of the rounds for each figure, and the load average.
"""

from __future__ import annotations

import argparse
import imaplib
import os
import shutil
import smtplib
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.mail import create_mailboxes_sync  # noqa: E402
from tests.support.server import ServerProcess, running_server, write_config  # noqa: E402
from tests.support.workers import serving_worker, wait_for_workers  # noqa: E402

PASSWORD = "Tq7#mZ2v!pLx"
USER = "bench@example.test"


def _tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _config(directory: Path, workers: int, backend: str) -> Path:
    os.environ["POSTBUS_TEST_STORAGE"] = backend if backend == "postgresql" else ""
    listen = {name: "" for name in ("submissions", "submission", "imap", "pop3s", "pop3", "https")}
    config = write_config(directory, {"server": {"workers": workers},
                                      "listen": {**listen, "smtp": "127.0.0.1:0", "imaps": "127.0.0.1:0"},
                                      "limits": {"max_connections_per_ip": 0},
                                      # no network: SPF and DKIM lookups answer from this table
                                      "dns": {"static": {"A localhost.invalid": ["127.0.0.1"]}}},
                          log_level="WARNING")
    create_mailboxes_sync(config, [USER], PASSWORD)
    return config


def _stored(server: ServerProcess) -> int:
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=_tls(), timeout=30)
    try:
        imap.login(USER, PASSWORD)
        _, data = imap.status("INBOX", "(MESSAGES)")
        return int(data[0].split(b"MESSAGES ")[1].rstrip(b")"))  # type: ignore[union-attr]
    finally:
        imap.logout()


def mx_rate(server: ServerProcess, messages: int, sessions: int, size: int) -> float:
    tool = shutil.which("smtp-source", path="/usr/sbin:/usr/bin")
    if tool is None:
        raise SystemExit("smtp-source is missing (apt-get install postfix)")
    before = _stored(server)
    started = time.monotonic()
    subprocess.run([tool, "-s", str(sessions), "-m", str(messages), "-l", str(size),
                    "-f", "sender@remote.test", "-t", USER, f"127.0.0.1:{server.port('smtp')}"],
                   check=True, timeout=600)
    while _stored(server) < before + messages:
        time.sleep(0.05)
    return messages / (time.monotonic() - started)


def idle_latencies(server: ServerProcess, samples: int) -> list[float]:
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=_tls(), timeout=30)
    imap.login(USER, PASSWORD)
    _, data = imap.select("INBOX")
    exists = int(data[0] or 0)
    idle_pid = serving_worker(server, imap.sock)
    imap.send(b"i IDLE\r\n")
    assert imap.readline().startswith(b"+ ")
    out = []
    for i in range(samples):
        while True:
            smtp = smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=30)
            if serving_worker(server, smtp.sock) != idle_pid:
                break
            smtp.close()
        with smtp:
            smtp.sendmail("bob@remote.test", [USER], f"Subject: idle {i}\r\n\r\nx\r\n".encode())
            accepted = time.monotonic()
        exists += 1
        while True:
            line = imap.readline()
            if line == f"* {exists} EXISTS\r\n".encode():
                break
        out.append((time.monotonic() - accepted) * 1000)
    imap.send(b"DONE\r\n")
    while not imap.readline().startswith(b"i "):
        pass
    imap.logout()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--size", type=int, default=5120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle-samples", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    rates: dict[int, list[float]] = {w: [] for w in args.workers}
    idle: dict[int, list[float]] = {w: [] for w in args.workers if w > 1}
    for _ in range(args.rounds):
        for workers in args.workers:  # alternate, so both see the same machine load
            with tempfile.TemporaryDirectory() as tmp:
                config = _config(Path(tmp), workers, args.backend)
                with running_server(config, env={"POSTBUS_LOOP": "uvloop"}) as server:
                    if workers > 1:
                        wait_for_workers(server, workers)
                    rates[workers].append(mx_rate(server, args.messages, args.sessions, args.size))
                    if workers > 1:
                        idle[workers].append(statistics.median(idle_latencies(server, args.idle_samples)))
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; "
          f"backend {args.backend}; {args.messages} x {args.size} B, {args.sessions} sessions")
    for workers in args.workers:
        line = f"workers={workers}: MX {statistics.median(rates[workers]):.0f} msg/s (rounds: " \
               + ", ".join(f"{r:.0f}" for r in rates[workers]) + ")"
        if workers in idle:
            line += f"; IDLE across workers {statistics.median(idle[workers]):.1f} ms median of round medians"
        print(line)


if __name__ == "__main__":
    main()
