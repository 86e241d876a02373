"""Child process for the crash test: appends messages forever, printing each
append ("uid blob_id size") only after the store acknowledged it, and "- uid"
before it expunges a message again, while a
collector runs garbage collection with no grace period. The parent kills it
with SIGKILL.

Bodies come in three sizes: small (stored with the transaction in the embedded
store), bigger than the inline limit (a file written from memory), and bigger
than the spill threshold (streamed to a temporary file first). A few bodies
repeat, so a body is often expunged, collected and put again."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from postbus.store import NotFound, blobs
from postbus.store.contract import Store
from postbus.store.model import Parsed

SIZES = (2000, 9000, blobs.INLINE_LIMIT + 4000, blobs.SPILL_THRESHOLD + 20_000)
CHUNK = 16 * 1024  # what a session hands the blob writer at a time
REPEATED = 4  # bodies that keep coming back


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
    repeated = [f"Subject: again {n}\r\n\r\n".encode() + os.urandom(SIZES[n % len(SIZES)])
                for n in range(REPEATED)]

    async def worker(w: int) -> None:
        n = 0
        while True:
            n += 1
            if n % 3 == 0:
                body = repeated[(w + n) % REPEATED]
            else:
                body = f"Subject: {w}-{n}\r\n\r\n".encode() + os.urandom(SIZES[(w + n) % len(SIZES)])
            writer = store.blob_writer()
            for start in range(0, len(body), CHUNK):
                writer.write(body[start:start + CHUNK])
            blob = await writer.finish()
            meta = Parsed(meta=b"m", header_text=f"Subject: {w}-{n}", body_text="")
            try:
                appended = await store.append(inbox.id, blob, meta, flags=["\\Seen"])
            except NotFound:
                continue  # collected between put and append (no grace period here)
            out.write(f"{appended.uid} {blob.id} {blob.size}\n")
            out.flush()
            if n % 3 == 0:  # unreferenced again, until the next round puts it back
                out.write(f"- {appended.uid}\n")  # said before: the kill may come mid-expunge
                out.flush()
                await store.expunge(inbox.id, [appended.uid])

    async def collector() -> None:
        while True:
            await store.collect_garbage(grace_seconds=0)
            await asyncio.sleep(0.01)

    await asyncio.gather(collector(), *(worker(w) for w in range(4)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
