"""`postbus migrate` carries bans, sending blocks, known login sources and the security
counters over to PostgreSQL (issue 15): a ban and a block made on the embedded store hold
on the new one, and a user's usual source stays known."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from postbus.security.throttle import known_key
from postbus.store.postgres.backend import PostgresStore
from postbus.store.security import SendLimit
from postbus.store.sqlite.backend import SqliteStore
from tests.support.pg import throwaway_database
from tests.support.server import postbus, write_config


async def _fill(data_dir: Path, now: float) -> None:
    store = SqliteStore(data_dir)
    await store.open()
    try:
        await store.add_ban("192.0.2.7", now + 3600, "10 failed logins", now)
        await store.block_sending("anna@example.test", "20 refusals", now)
        await store.remember_known_source(known_key("anna@example.test", "192.0.2.9"),
                                          now + 3600)
        await store.count_events(["src:192.0.2.8"], 600, now)
        await store.take_sending([SendLimit("mailbox:anna@example.test", 3600, 5, 0)], 2, now)
    finally:
        await store.close()


def test_migrate_copies_bans_blocks_known_sources_and_counters(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"storage": {"backend": "sqlite"}})
    now = time.time()
    asyncio.run(_fill(tmp_path / "var", now))
    with throwaway_database() as url:
        postbus(config, "migrate", "--to", url)

        async def check() -> None:
            store = PostgresStore(url, tmp_path / "pg")
            await store.open()
            try:
                bans = await store.list_bans(now)
                assert [(b.address, b.reason) for b in bans] == [("192.0.2.7", "10 failed logins")]
                block = await store.get_sending_block("anna@example.test")
                assert block is not None and block.reason == "20 refusals"
                assert await store.count_events(["src:192.0.2.8"], 600, now + 1) == [2]
                pair = known_key("anna@example.test", "192.0.2.9")
                assert await store.known_source(pair, now) == now + 3600
                limit = SendLimit("mailbox:anna@example.test", 3600, 2, 0)
                # one message counted before the migration: one more fits, then no more
                assert await store.take_sending([limit], 1, now) is None
                assert await store.take_sending([limit], 1, now) == limit
            finally:
                await store.close()

        asyncio.run(check())
