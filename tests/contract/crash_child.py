"""Child process for the crash test: appends messages forever, printing each
append only after the store acknowledged it. The parent kills it with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from postbus.store.contract import Store
from postbus.store.model import Parsed


async def main(kind: str, target: str) -> None:
    store: Store
    if kind == "sqlite":
        from postbus.store.sqlite.backend import SqliteStore

        store = SqliteStore(Path(target))
    else:
        from postbus.store.postgres.backend import PostgresStore  # type: ignore[import-not-found,unused-ignore]

        url, data = target.split("|", 1)
        store = PostgresStore(url, Path(data))
    await store.open()
    account = await store.get_account("crash@example.test")
    assert account is not None
    inbox = await store.get_mailbox(account.id, "INBOX")
    assert inbox is not None
    out = sys.stdout

    async def worker(w: int) -> None:
        n = 0
        while True:
            n += 1
            body = f"Subject: {w}-{n}\r\n\r\n".encode() + os.urandom(2000 + (n % 7) * 3000)
            w_ = store.blob_writer()
            w_.write(body)
            blob = await w_.finish()
            meta = Parsed(meta=b"m", header_text=f"Subject: {w}-{n}", body_text="")
            appended = await store.append(inbox.id, blob, meta, flags=["\\Seen"])
            out.write(f"{appended.uid} {blob.id}\n")
            out.flush()

    await asyncio.gather(*(worker(w) for w in range(4)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
