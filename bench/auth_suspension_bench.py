"""What the domain-suspension check costs each login: `Accounts.authenticate`
on the auth-cache hit path (no Argon2), with the check and with it stubbed
out, in process, on the embedded store or PostgreSQL. Prints the median of
the rounds in microseconds per login."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from typing import Any

import asyncpg

from postbus.admin import CLI
from postbus.app import App
from postbus.config import from_dict

PASSWORD = "Qm7#vL2x!pRt9z"


async def main(args: argparse.Namespace) -> None:
    """On PostgreSQL: in a database of its own, made from --dsn and dropped after."""
    if not args.dsn:
        await run(args, None)
        return
    name = "postbus_bench_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(args.dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await run(args, args.dsn.rsplit("/", 1)[0] + "/" + name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(args: argparse.Namespace, url: str | None) -> None:
    config: dict[str, Any] = {"data_dir": tempfile.mkdtemp(), "hostname": "mail.example.test"}
    if url:
        config["storage"] = {"backend": "postgresql", "url": url}
    app = App(from_dict(config))
    await app.open()
    try:
        await app.admin.add_domain(CLI, "a.test")
        await app.admin.create_mailbox(CLI, "alice@a.test", PASSWORD)
        assert await app.accounts.authenticate("alice@a.test", PASSWORD)
        real = app.accounts._suspended

        async def never(address: str) -> bool:
            return False

        results: dict[str, list[float]] = {"with the check": [], "without": []}
        for _ in range(args.rounds):
            for label, check in (("with the check", real), ("without", never)):
                app.accounts._suspended = check  # type: ignore[method-assign]
                started = time.perf_counter()
                for _ in range(args.logins):
                    await app.accounts.authenticate("alice@a.test", PASSWORD)
                results[label].append((time.perf_counter() - started) / args.logins * 1e6)
        for label, values in results.items():
            print(f"{label}: median {statistics.median(values):.1f} µs/login"
                  f" (rounds: {', '.join(f'{v:.1f}' for v in values)})")
    finally:
        await app.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logins", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dsn", default="",
                        help="a PostgreSQL server to make a scratch database on (empty: embedded store)")
    asyncio.run(main(parser.parse_args()))
