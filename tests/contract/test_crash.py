"""Crash safety: a process appending messages is killed with SIGKILL at random
points; every append it reported as committed must be there afterwards, the
store must open cleanly, and no referenced body file may be missing."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from postbus.store.model import Parsed
from postbus.store.sqlite.backend import SqliteStore

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = 5


async def test_sigkill_during_appends_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = SqliteStore(data)
    await store.open()
    await store.add_domain("example.test")
    account = await store.add_account("crash@example.test", "h", quota_bytes=0)
    await store.close()

    acknowledged: dict[int, str] = {}
    rng = random.Random(20261126)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.contract.crash_child", "sqlite", str(data)],
            stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2], env=env,
        )
        time.sleep(0.6 + rng.random() * 1.2)
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        lines = out.decode().splitlines()
        if lines and not lines[-1].count(" "):
            lines.pop()  # a line cut by the kill
        for line in lines:
            uid, blob_id = line.split()
            acknowledged[int(uid)] = blob_id

    assert len(acknowledged) > 20, "the child made too little progress to test anything"
    store = SqliteStore(data)
    await store.open()
    try:
        inbox = await store.get_mailbox(account.id, "INBOX")
        assert inbox is not None
        entries = await store.list_messages(inbox.id)
        present = {e.uid for e in entries}
        missing = set(acknowledged) - present
        assert not missing, f"acknowledged appends lost: {sorted(missing)[:10]}"
        infos = await store.fetch_info(inbox.id, sorted(present))
        for info in infos:
            assert store.blobs.exists(info.blob_id), f"uid {info.uid} references a missing body"
            if info.uid in acknowledged:
                assert info.blob_id == acknowledged[info.uid]
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
