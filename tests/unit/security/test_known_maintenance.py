"""The hourly maintenance of `postbus serve` removes expired known login sources."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from postbus import config, server


async def test_the_maintenance_removes_expired_known_sources(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "MAINTENANCE_INTERVAL", 0.0)
    srv = server.Server(config.from_dict({"data_dir": str(tmp_path)}))
    store = srv.app.store
    await srv.app.open()
    try:
        now = time.time()
        await store.remember_known_source("a" * 64, now - 1)  # ended
        await store.remember_known_source("b" * 64, now + 3600)
        task = asyncio.ensure_future(srv._maintenance())
        try:
            # asked as of before its end, the record answers until the row is gone
            while await store.known_source("a" * 64, now - 2) is not None:
                await asyncio.sleep(0.01)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert await store.known_source("b" * 64, now) == now + 3600
    finally:
        await srv.app.close()
