"""MX throughput: Postbus against Postfix, the same load from Postfix's smtp-source.

Run (as root, Debian's postfix installed): .venv/bin/python bench/smtp_bench.py
    [--messages 5000] [--sessions 20] [--size 5120] [--rounds 1] [--only postbus|postfix]

The load is `smtp-source -s SESSIONS -m MESSAGES -l SIZE -f sender -t rcpt`:
SESSIONS concurrent SMTP sessions, one message per connection (HELO, MAIL,
RCPT, DATA, QUIT), bodies of SIZE octets, all to one local mailbox. The figure
is end to end: from the first connection until every message is in the
mailbox.

- Postbus: a `postbus serve` child (uvloop, the default) with only the MX
  listening, on the embedded store in a temporary directory. A 250 is sent only
  once the message is durably stored (body and metadata in one group-committed
  SQLite transaction; bodies over 64 KB are fsync'd files), so the time until
  smtp-source exits is end to end; the message count in the store is checked
  afterwards. The MX path includes our Authentication-Results (SPF/DKIM/DMARC
  against a static DNS table, so no network) and the search text of every
  message: searchable at once, moved into the FTS5 index by the store's
  background indexer. The messages still waiting for the indexer when
  smtp-source exits, and how long it then took to index them, are printed
  too, with the rate counted until the index was complete.
- Postfix: a throwaway instance, `postfix -c DIR start` with its own
  config_directory, queue_directory and data_directory in a temporary
  directory, smtpd on 127.0.0.1 (no chroot), `mydestination` empty, one
  virtual mailbox domain delivered by virtual(8) to a Maildir. Postfix's
  master must start as root (it drops to the `postfix` user), so this
  benchmark runs as root. Its 250 comes after the queue file is fsync'd;
  delivery to the Maildir follows, so the clock stops when the Maildir holds
  every message.

Rounds alternate Postbus and Postfix so that both see the same machine load.
Prints messages/second for both, and the ratio Postbus / Postfix.
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

DOMAIN = "bench.test"
RCPT = f"rcpt@{DOMAIN}"
SENDER = "sender@remote.test"
PASSWORD = "Tq7#mZ2v!pLx"
SMTP_SOURCE = "/usr/sbin/smtp-source"
POSTFIX = "/usr/sbin/postfix"
START_TIMEOUT = 60.0
DELIVERY_TIMEOUT = 600.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smtp_source(port: int, messages: int, sessions: int, size: int) -> float:
    """Runs the load; returns its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([SMTP_SOURCE, "-s", str(sessions), "-m", str(messages), "-l", str(size),
                    "-f", SENDER, "-t", RCPT, f"127.0.0.1:{port}"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def wait_for(done: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


# -- Postbus -------------------------------------------------------------------------
def postbus_cli(config: Path, *args: str, stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "-m", "postbus.cli", "--config", str(config), *args],
                   input=stdin, text=True, check=True, stdout=subprocess.DEVNULL)


def setup_postbus(root: Path, port: int, workers: int | None = None) -> Path:
    listeners = ("smtp", "submissions", "submission", "imaps", "imap", "pop3s", "pop3",
                 "https", "http")
    lines = ['hostname = "bench.localhost"', 'data_dir = "var"', 'log_level = "WARNING"',
             "[listen]"]
    address = f"127.0.0.1:{port}"
    lines += [f'{name} = "{address if name == "smtp" else ""}"' for name in listeners]
    lines += ["[dns]", 'static = {"A localhost.invalid" = ["127.0.0.1"]}']
    # The benchmark runs as root (Postfix needs it); Postbus then serves as root
    # only when told to. [server] workers (worker processes) only when given.
    lines += ["[server]", "allow_root = true"] + ([] if workers is None else [f"workers = {workers}"])
    config = root / "postbus.toml"
    config.write_text("\n".join(lines) + "\n")
    postbus_cli(config, "domain", "add", DOMAIN)
    postbus_cli(config, "user", "add", RCPT, "--password-stdin", "--quota", "0",
                stdin=PASSWORD + "\n")
    return config


def _count(root: Path, query: str) -> int:
    conn = sqlite3.connect(f"file:{root / 'var' / 'postbus.sqlite3'}?mode=ro", uri=True)
    try:
        return int(conn.execute(query).fetchone()[0])
    except sqlite3.OperationalError:  # a store without deferred indexing (an older schema)
        return 0
    finally:
        conn.close()


def stored_messages(root: Path) -> int:
    return _count(root, "SELECT count(*) FROM messages")


def pending_index(root: Path) -> int:
    """Messages whose search text still waits for the background indexer."""
    return _count(root, "SELECT count(*) FROM search_pending p"
                        " WHERE EXISTS (SELECT 1 FROM messages m WHERE m.meta_id = p.meta_id)")


def run_postbus(root: Path, args: argparse.Namespace) -> tuple[float, int, float]:
    """(seconds until smtp-source finished, search rows then still pending, seconds
    more until the background indexer had indexed them all)."""
    port = free_port()
    config = setup_postbus(root, port, args.workers)
    proc = subprocess.Popen(
        [sys.executable, "-m", "postbus.cli", "--config", str(config), "serve"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "POSTBUS_LOOP": "uvloop"})
    ready = threading.Event()

    def watch() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "postbus: ready":
                ready.set()

    threading.Thread(target=watch, daemon=True).start()
    if not ready.wait(START_TIMEOUT):
        proc.kill()
        raise SystemExit("postbus did not start: " + (proc.stderr.read() if proc.stderr else ""))
    try:
        before = stored_messages(root)
        elapsed = smtp_source(port, args.messages, args.sessions, args.size)
        stored = stored_messages(root) - before
        if stored != args.messages:
            raise SystemExit(f"postbus stored {stored} of {args.messages} messages")
        backlog = pending_index(root)
        start = time.perf_counter()
        wait_for(lambda: pending_index(root) == 0, DELIVERY_TIMEOUT, "the search index")
        drained = time.perf_counter() - start
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    if proc.returncode != 0 or "Traceback" in err:
        raise SystemExit(f"postbus exited {proc.returncode}:\n{err[-3000:]}")
    return elapsed, backlog, drained


# -- Postfix -------------------------------------------------------------------------
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
virtual   unix - n n - - virtual
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def setup_postfix(root: Path, port: int) -> Path:
    conf, mail = root / "conf", root / "mail"
    root.chmod(0o755)  # the postfix and nobody users must reach the queue and the Maildir
    for d in (conf, root / "queue", root / "data", mail):
        d.mkdir(parents=True)
    nobody = pwd.getpwnam("nobody")
    postfix_user = pwd.getpwnam("postfix")
    os.chown(mail, nobody.pw_uid, nobody.pw_gid)
    os.chown(root / "data", postfix_user.pw_uid, postfix_user.pw_gid)
    (conf / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-bench.localhost
mydomain = localhost
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {mail}
virtual_mailbox_maps = static:rcpt/
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtputf8_enable = no
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
""")
    (conf / "master.cf").write_text(MASTER_CF.format(port=port))
    subprocess.run([POSTFIX, "-c", str(conf), "check"], check=True)  # makes the queue directories
    return conf


def maildir_count(root: Path) -> int:
    new = root / "mail" / "rcpt" / "new"
    return len(os.listdir(new)) if new.is_dir() else 0


def run_postfix(root: Path, args: argparse.Namespace) -> tuple[float, float]:
    """(seconds until smtp-source finished, seconds until every message was in the Maildir)."""
    port = free_port()
    conf = setup_postfix(root, port)
    subprocess.run([POSTFIX, "-c", str(conf), "start"], check=True, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: _accepts(port), START_TIMEOUT, "postfix to listen")
        start = time.perf_counter()
        accepted = smtp_source(port, args.messages, args.sessions, args.size)
        wait_for(lambda: maildir_count(root) >= args.messages, DELIVERY_TIMEOUT,
                 "postfix to deliver")
        delivered = time.perf_counter() - start
    finally:
        subprocess.run([POSTFIX, "-c", str(conf), "stop"], check=False, stdout=subprocess.DEVNULL)
        pid_file = root / "queue" / "pid" / "master.pid"
        wait_for(lambda: not _alive(pid_file), 30, "postfix to stop")
    return accepted, delivered


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            return s.recv(3) == b"220"
    except OSError:
        return False


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(re.sub(r"\s", "", pid_file.read_text()))
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--size", type=int, default=5120)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", choices=("postbus", "postfix"),
                        help="run one side only (while tuning)")
    parser.add_argument("--workers", type=int, default=None,
                        help="Postbus's [server] workers (left to its default when not given)")
    args = parser.parse_args()
    for tool in (SMTP_SOURCE, POSTFIX):
        if not Path(tool).exists():
            raise SystemExit(f"{tool} is missing: apt-get install postfix")
    if os.geteuid() != 0:
        raise SystemExit("run as root: Postfix's master starts as root")
    postbus_rates: list[float] = []
    indexed_rates: list[float] = []
    postfix_rates: list[float] = []
    print(f"{args.messages} messages of {args.size} octets, {args.sessions} sessions, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for n in range(args.rounds):
        if args.only != "postfix":
            load = os.getloadavg()[0]
            with tempfile.TemporaryDirectory(prefix="smtp-bench-") as tmp:
                elapsed, backlog, drained = run_postbus(Path(tmp), args)
            postbus_rates.append(args.messages / elapsed)
            indexed_rates.append(args.messages / (elapsed + drained))
            print(f"round {n + 1}: postbus {postbus_rates[-1]:7.0f} msg/s end to end "
                  f"({elapsed:.2f} s, load {load:.1f}; search index: {backlog} messages"
                  f" pending at the end, indexed {drained:.2f} s later:"
                  f" {indexed_rates[-1]:.0f} msg/s until then)")
        if args.only != "postbus":
            load = os.getloadavg()[0]
            with tempfile.TemporaryDirectory(prefix="smtp-bench-postfix-") as tmp:
                accepted, delivered = run_postfix(Path(tmp), args)
            postfix_rates.append(args.messages / delivered)
            print(f"round {n + 1}: postfix {postfix_rates[-1]:7.0f} msg/s end to end "
                  f"({delivered:.2f} s, load {load:.1f}; smtp-source done after {accepted:.2f} s,"
                  f" {args.messages / accepted:.0f} msg/s accepted)")
    rounds = f"median of {args.rounds} round{'s' if args.rounds > 1 else ''}"
    if not postfix_rates or not postbus_rates:
        rates = postbus_rates or postfix_rates
        print(f"{args.only} {statistics.median(rates):.0f} msg/s ({rounds})")
        return
    ours, theirs = statistics.median(postbus_rates), statistics.median(postfix_rates)
    indexed = statistics.median(indexed_rates)
    print(f"postbus {ours:.0f} msg/s, postfix {theirs:.0f} msg/s, ratio {ours / theirs:.2f}"
          f" ({rounds}); postbus until its search index was complete {indexed:.0f} msg/s,"
          f" ratio {indexed / theirs:.2f}")


if __name__ == "__main__":
    main()
