"""Append latency and throughput of the PostgreSQL store.

Run: .venv/bin/python bench/pg_append_bench.py [--appenders 20] [--messages 50]
     [--size 8192] [--spread folder|account] [--dsn postgresql://postgres@127.0.0.1/postgres]

Creates a scratch database, opens one `PostgresStore` (pool of 8), and lets
`--appenders` tasks append `--messages` distinct messages each: to one folder
(`--spread folder`, the worst case, every append queues on the folder and
account rows) or each to its own account (`--spread account`). Prints the
latency of the body write (`put_blob`) and of `append` (median, p95, max) and
the total appends per second, then drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from postbus.store.model import Parsed
from postbus.store.postgres import PostgresStore


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (f"median {statistics.median(ordered) * 1000:6.2f} ms  p95 {p95 * 1000:6.2f} ms"
            f"  max {ordered[-1] * 1000:6.2f} ms")


async def run(dsn: str, appenders: int, messages: int, size: int, spread: str) -> None:
    name = "postbus_bench_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    store = PostgresStore(dsn.rsplit("/", 1)[0] + "/" + name, Path(tempfile.mkdtemp()))
    try:
        await store.open()
        await store.add_domain("bench.test")
        boxes: list[int] = []
        for i in range(appenders if spread == "account" else 1):
            account = await store.add_account(f"u{i}@bench.test", "h", quota_bytes=1 << 40)
            box = await store.get_mailbox(account.id, "INBOX")
            assert box is not None
            boxes.append(box.id)
        blob_times: list[float] = []
        append_times: list[float] = []

        async def appender(w: int) -> None:
            box = boxes[w % len(boxes)]
            for n in range(messages):
                body = f"Subject: {w}-{n}\r\n\r\n".encode() + os.urandom(size // 2).hex().encode()
                t0 = time.perf_counter()
                blob = await store.put_blob(body[:size])
                t1 = time.perf_counter()
                await store.append(box, blob, Parsed(b"m", f"Subject: {w}-{n}", "bench body"))
                t2 = time.perf_counter()
                blob_times.append(t1 - t0)
                append_times.append(t2 - t1)

        started = time.perf_counter()
        await asyncio.gather(*(appender(w) for w in range(appenders)))
        elapsed = time.perf_counter() - started
        total = appenders * messages
        print(f"{appenders} appenders x {messages} messages of {size} bytes, spread={spread}")
        print(f"  put_blob  {_ms(blob_times)}")
        print(f"  append    {_ms(append_times)}")
        print(f"  {total} messages (body + append) in {elapsed:.2f} s: {total / elapsed:,.0f}/s")
    finally:
        await store.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--appenders", type=int, default=20)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--spread", choices=("folder", "account"), default="folder")
    args = parser.parse_args()
    asyncio.run(run(args.dsn, args.appenders, args.messages, args.size, args.spread))


if __name__ == "__main__":
    main()
