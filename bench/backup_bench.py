"""`postbus backup`, `restore` and `check` on an embedded store of N messages.

Builds a store in a temporary directory through the store API (a tenth of
the bodies bigger than the inline limit, so body files; the rest in SQLite),
then times each command as the operator runs it (a subprocess, interpreter
start included), `--runs` times, and prints the median of each.

    .venv/bin/python bench/backup_bench.py [--messages 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from postbus import config as config_mod
from postbus.app import App
from postbus.delivery.ingest import ingest_bytes

DOMAIN = "example.test"


def message(n: int, rng: random.Random) -> bytes:
    big = n % 10 == 0
    body = rng.randbytes(rng.randint(80_000, 300_000) if big else rng.randint(500, 8000)).hex()
    return (f"From: s{n}@remote.test\r\nTo: anna@{DOMAIN}\r\nSubject: m {n}\r\n"
            f"Message-ID: <{n}@remote.test>\r\n\r\n{body}\r\n").encode()


async def build(config: Path, messages: int) -> int:
    app = App(config_mod.load(config))
    await app.open()
    try:
        await app.accounts.add_domain(DOMAIN)
        account = await app.accounts.add_user(f"anna@{DOMAIN}", "Tq7#mZ2v!pLx")
        inbox = await app.store.get_mailbox(account.id, "INBOX")
        assert inbox is not None
        rng = random.Random(16)
        total = 0
        for n in range(messages):
            raw = message(n, rng)
            total += len(raw)
            ingested = await ingest_bytes(app.store, raw)
            await app.store.deliver([inbox.id], ingested.blob, ingested.parsed)
        return total
    finally:
        await app.close()


def timed(config: Path, *args: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "postbus.cli", "--config", str(config), *args],
                   check=True, capture_output=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        config = base / "postbus.toml"
        config.write_text('data_dir = "var"\n[storage]\nbackend = "sqlite"\n')
        size = asyncio.run(build(config, args.messages))
        print(f"{args.messages} messages, {size / 2**20:.1f} MiB; load average {os.getloadavg()[0]:.2f}")
        (base / "r").mkdir()
        restored = base / "r" / "postbus.toml"
        restored.write_text('data_dir = "var"\n[storage]\nbackend = "sqlite"\n')
        results: dict[str, list[float]] = {"backup": [], "restore": [], "check": []}
        for _ in range(args.runs):
            dest = base / "backup"
            results["backup"].append(timed(config, "backup", str(dest)))
            results["restore"].append(timed(restored, "restore", str(dest)))
            results["check"].append(timed(config, "check"))
            shutil.rmtree(dest)
            shutil.rmtree(base / "r" / "var")
        for name, values in results.items():
            print(f"{name}: median {statistics.median(values):.2f}s of {args.runs}"
                  f" ({', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
