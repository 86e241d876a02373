"""Crash safety: a process appending messages (small bodies, and bodies kept as
files by the embedded store), expunging some and collecting garbage is killed
with SIGKILL at random points; every append it reported as committed must be
there afterwards (unless it was about to expunge it), the store must open
cleanly, and every stored message's body must be there with the right SHA-256.
Runs against both backends."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from postbus.store.blobs import INLINE_LIMIT
from postbus.store.model import Parsed
from postbus.store.sqlite.backend import SqliteStore

from .conftest import PG_DSN, _backends, _pg_database, _pg_drop, require_server

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = 5


class Backend(NamedTuple):
    kind: str
    target: str  # the child's argument naming the store
    make: Callable[[], Any]  # a new, unopened store on that place
    settle: Callable[[], Awaitable[None]]  # waits until the killed children's work is over


async def _nothing_to_settle() -> None:
    return None


@pytest.fixture(params=_backends())
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    data = tmp_path / "data"
    if request.param == "sqlite":
        yield Backend("sqlite", str(data), lambda: SqliteStore(data), _nothing_to_settle)
        return
    import asyncpg

    from postbus.store.postgres.backend import PostgresStore  # type: ignore[import-not-found,unused-ignore]


    await require_server()
    db = await _pg_database()
    url = PG_DSN.rsplit("/", 1)[0] + "/" + db

    async def settle() -> None:
        # A transaction whose COMMIT reached the server before the kill still
        # commits; wait for the dead child's sessions to end before counting.
        conn = await asyncpg.connect(url)
        try:
            deadline = time.monotonic() + 10
            while await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            ):
                assert time.monotonic() < deadline, "the killed child's sessions did not end"
                await asyncio.sleep(0.05)
        finally:
            await conn.close()

    try:
        yield Backend("postgresql", f"{url}|{data}", lambda: PostgresStore(url, data), settle)
    finally:
        await _pg_drop(db)


async def _body_exists(store: Any, blob_id: str) -> bool:
    if isinstance(store, SqliteStore):
        return store.blobs.exists(blob_id)
    return bool(await store.blob_exists(blob_id))


async def test_sigkill_during_appends_loses_nothing_acknowledged(backend: Backend) -> None:
    store = backend.make()
    await store.open()
    await store.add_domain("example.test")
    account = await store.add_account("crash@example.test", "h", quota_bytes=0)
    await store.close()

    acknowledged: dict[int, tuple[str, int]] = {}  # uid: (blob id, size)
    expunging: set[int] = set()
    rng = random.Random(20261126)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.contract.crash_child", backend.kind, backend.target],
            stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2], env=env,
        )
        time.sleep(0.6 + rng.random() * 1.2)
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        lines = out.decode().split("\n")
        lines.pop()  # "" after the last complete line, or a line cut by the kill
        for line in lines:
            if m := re.fullmatch(r"(\d+) ([0-9a-f]{64}) (\d+)", line):
                acknowledged[int(m[1])] = (m[2], int(m[3]))
            elif m := re.fullmatch(r"- (\d+)", line):
                expunging.add(int(m[1]))
            else:
                raise AssertionError(f"the child wrote {line!r}")

    kept = set(acknowledged) - expunging
    assert len(kept) > 20, "the child made too little progress to test anything"
    assert any(acknowledged[uid][1] > INLINE_LIMIT for uid in kept), "no body file to test"
    await backend.settle()
    store = backend.make()
    await store.open()
    try:
        inbox = await store.get_mailbox(account.id, "INBOX")
        assert inbox is not None
        entries = await store.list_messages(inbox.id)
        present = {e.uid for e in entries}
        missing = kept - present
        assert not missing, f"acknowledged appends lost: {sorted(missing)[:10]}"
        infos = await store.fetch_info(inbox.id, sorted(present))
        for info in infos:
            assert await _body_exists(store, info.blob_id), f"uid {info.uid} references a missing body"
            if info.uid in acknowledged:
                assert (info.blob_id, info.size) == acknowledged[info.uid]
            body = await store.read_blob(info.blob_id)
            assert hashlib.sha256(body).hexdigest() == info.blob_id
        acc = await store.get_account_by_id(account.id)
        assert acc is not None
        assert acc.used_messages == len(infos)
        assert acc.used_bytes == sum(i.size for i in infos)
        # the store still works after the crashes
        blob = await store.put_blob(b"Subject: after\r\n\r\n")
        appended = await store.append(inbox.id, blob, Parsed(b"m", "", ""))
        assert appended.uid > max(present)
    finally:
        await store.close()
