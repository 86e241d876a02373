"""A correct IMAP login while 200 parallel wrong-password attempts run (issue 15 item 3).

Run: .venv/bin/python bench/login_flood_bench.py [--attackers 200] [--sources 50]
     [--logins 20] [--rounds 3] [--warmup 5.0] [--workers 1|N|auto]

A real `postbus serve` (uvloop, only imaps listening, failure delay 0 and bans
off, so the flood is as heavy as the CPU allows) and real TLS clients over
loopback, each bound to its own 127.0.x.y address. `--attackers` tasks spread
over `--sources` addresses send LOGIN with a new wrong password each time for
one account, reconnecting after the server's BYE (3 failures a connection).
Once the server has answered as many wrong attempts as there are attackers,
and at least `--warmup` seconds have passed, one client times LOGIN round trips (TLS
handshake excluded), one login per new connection, of three kinds:

* cache hit: the same user again from its usual address (auth cache: no Argon2);
* known source: a user whose password hash changed since it logged in from this
  address (so the auth cache misses and Argon2 runs), admitted first by the
  hash gate because the address is known-good for that account;
* new source: a user's first login, from an address never seen; it waits its
  turn with the attackers' lines (per source), no priority.

A login refused with "NO [UNAVAILABLE]" (the hash gate's queue is full) is
retried at once, and its time counts until the OK. Printed per round: p50 and
p95 of each kind, the wrong attempts per second the server answered, the time
one Argon2 verification takes in the bench process just before the round (the
machine's speed at that moment: its floor for the two cache-miss kinds), and
the load average; then the medians over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.server import LISTENERS, running_server, write_config

from postbus.accounts.passwords import hash_password, verify_password
from postbus.store.sqlite.backend import SqliteStore

PASSWORD = "Tq7#mZ2v!pLx"
NEW_PASSWORD = "Vx4$nR8k!qWe"
VICTIM = "victim@example.test"
TIMEOUT = 60.0


def _tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def _connect(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(
        "127.0.0.1", port, local_addr=(source, 0), ssl=_tls(), server_hostname="localhost"),
        TIMEOUT)
    await asyncio.wait_for(reader.readline(), TIMEOUT)  # greeting
    return reader, writer


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 5)
    except (ConnectionError, ssl.SSLError, TimeoutError):
        pass


async def _login(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, user: str,
                 password: str) -> bytes:
    writer.write(f'a LOGIN {user} "{password}"\r\n'.encode())
    while True:
        line = await asyncio.wait_for(reader.readline(), TIMEOUT)
        if not line or line.startswith((b"a ", b"* BYE")):
            return line


async def attacker(port: int, source: str, stop: Any, counter: Any, n: int, salt: str) -> None:
    guess = 0
    while not stop.is_set():
        try:
            reader, writer = await _connect(port, source)
        except (OSError, TimeoutError, ssl.SSLError):
            await asyncio.sleep(0.05)
            continue
        try:
            while not stop.is_set():
                guess += 1
                # new in every round too: a password the server saw fail before
                # is answered from memory without hashing (no flood at all)
                reply = await _login(reader, writer, VICTIM, f"wrong-{salt}-{n}-{guess}")
                with counter.get_lock():
                    counter.value += 1
                if not reply.startswith(b"a NO"):
                    break
        except (OSError, TimeoutError, ssl.SSLError):
            pass
        finally:
            await _close(writer)


def run_attack(port: int, attackers: int, sources: int, stop: Any, counter: Any) -> None:
    async def attack() -> None:
        salt = os.urandom(4).hex()
        tasks = [asyncio.create_task(attacker(port, f"127.0.1.{n % sources + 1}", stop,
                                              counter, n, salt)) for n in range(attackers)]
        while not stop.is_set():
            await asyncio.sleep(0.1)
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, BaseException):
                print(f"attacker failed: {result!r}", file=sys.stderr)

    asyncio.run(attack())


async def timed_login(port: int, source: str, user: str, password: str) -> float:
    """Seconds from LOGIN to its OK; a "NO [UNAVAILABLE]" (the server is busy) is
    retried at once on a new connection, and the time until the OK counts."""
    elapsed = 0.0
    while True:
        reader, writer = await _connect(port, source)
        try:
            started = time.perf_counter()
            reply = await _login(reader, writer, user, password)
            elapsed += time.perf_counter() - started
        finally:
            await _close(writer)
        if reply.startswith(b"a OK"):
            return elapsed
        if not reply.startswith(b"a NO [UNAVAILABLE]"):
            raise RuntimeError(f"login of {user} failed: {reply!r}")


def argon2_alone(samples: int = 5) -> float:
    """The median time of one verification in this process, now: the machine's speed."""
    stored = hash_password(PASSWORD)
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        verify_password(stored, "wrong")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


async def one_round(port: int, config_dir: Path, r: int, args: argparse.Namespace,
                    ) -> dict[str, float]:
    known_users = [f"known{r}-{i}@example.test" for i in range(args.logins)]
    new_users = [f"new{r}-{i}@example.test" for i in range(args.logins)]
    # the known users log in once from their usual address, then their hash changes
    for user in known_users:
        await timed_login(port, "127.0.0.201", user, PASSWORD)
    await set_hash(config_dir, known_users, hash_password(NEW_PASSWORD))
    await timed_login(port, "127.0.0.200", "owner@example.test", PASSWORD)  # cache it

    # the attackers run in a process of their own, so that their TLS work does not
    # slow down the measuring client's event loop
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, no inherited loop
    stop = spawn.Event()
    counter = spawn.Value("l", 0)
    attack = spawn.Process(target=run_attack, args=(port, args.attackers,
                                                               args.sources, stop, counter))
    attack.start()
    try:
        # the flood is running once the server has answered every attacker about once
        warmup_end = time.monotonic() + args.warmup
        while counter.value < args.attackers or time.monotonic() < warmup_end:
            await asyncio.sleep(0.2)
        counted, started = counter.value, time.monotonic()
        hits = [await timed_login(port, "127.0.0.200", "owner@example.test", PASSWORD)
                for _ in range(args.logins)]
        known = [await timed_login(port, "127.0.0.201", u, NEW_PASSWORD) for u in known_users]
        new = [await timed_login(port, "127.0.0.202", u, PASSWORD) for u in new_users]
        rate = (counter.value - counted) / (time.monotonic() - started)
        print(f"  answers to the attackers: {counted} in the warm-up, {counter.value} in all",
              flush=True)
    finally:
        stop.set()
        attack.join(TIMEOUT)
    return {"hit_p50": pct(hits, 0.5), "hit_p95": pct(hits, 0.95),
            "known_p50": pct(known, 0.5), "known_p95": pct(known, 0.95),
            "new_p50": pct(new, 0.5), "new_p95": pct(new, 0.95), "wrong_per_s": rate}


async def set_hash(config_dir: Path, users: list[str], password_hash: str) -> None:
    store = SqliteStore(config_dir / "var")
    await store.open()
    try:
        for user in users:
            await store.update_account(user, password_hash=password_hash)
    finally:
        await store.close()


async def create_users(config_dir: Path, users: list[str]) -> None:
    store = SqliteStore(config_dir / "var")
    await store.open()
    try:
        await store.add_domain("example.test")
        password_hash = hash_password(PASSWORD)
        for user in users:
            await store.add_account(user, password_hash, quota_bytes=1 << 30)
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attackers", type=int, default=200)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--workers", default="1",
                        help='Postbus\'s [server] workers: a number or "auto" (one per core)')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = Path(tmp)
        config = write_config(config_dir, {
            "listen": {name: "" for name in LISTENERS} | {"imaps": "127.0.0.1:0"},
            "security": {"auth_failure_delay": 0, "ban_after": 0, "account_slow_after": 0},
            "limits": {"max_connections_per_ip": 0},
            "server": {"workers": args.workers if args.workers == "auto" else int(args.workers)}})
        users = [VICTIM, "owner@example.test"] + [
            f"{kind}{r}-{i}@example.test" for r in range(args.rounds) for kind in ("known", "new")
            for i in range(args.logins)]
        asyncio.run(create_users(config_dir, users))
        results = []
        with running_server(config, env={"POSTBUS_LOOP": "uvloop"}) as server:
            port = server.port("imaps")
            for r in range(args.rounds):
                before = os.getloadavg()[0]
                argon2 = argon2_alone()
                result = asyncio.run(one_round(port, config_dir, r, args))
                result["argon2_alone_p50"] = argon2
                result["load"] = os.getloadavg()[0]
                results.append(result)
                print(f"round {r + 1}: " + "  ".join(
                    f"{k} {v * 1000:.0f} ms" if k.endswith(("p50", "p95")) else f"{k} {v:.1f}"
                    for k, v in result.items()) + f"  (load before {before:.2f})", flush=True)
        print(f"medians of {args.rounds} rounds, {args.attackers} attackers over"
              f" {args.sources} addresses, {os.cpu_count()} cores, workers = {args.workers}:")
        for key in results[0]:
            value = statistics.median(r[key] for r in results)
            shown = f"{value * 1000:.0f} ms" if key.endswith(("p50", "p95")) else f"{value:.1f}"
            print(f"  {key}: {shown}")


if __name__ == "__main__":
    main()
