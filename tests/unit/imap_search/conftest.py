import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from postbus.store.contract import Store
from tests.contract.conftest import _backends, _pg_drop, open_backend
from tests.unit.imap_fetch.support import folder

__all__ = ["folder"]


@pytest.fixture(scope="module", params=_backends())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Any, Store, int]]:
    """One store per backend (both must search and sort alike) and its own event
    loop, with an account to add folders to: (loop, store, account id)."""
    loop = asyncio.new_event_loop()

    async def start() -> tuple[Store, str | None, int]:
        store, db = await open_backend(request.param, tmp_path_factory.mktemp("store"))
        await store.add_domain("example.org")
        account = await store.add_account("user@example.org", "x", quota_bytes=0)
        return store, db, account.id

    store, db, account_id = loop.run_until_complete(start())
    try:
        yield loop, store, account_id
    finally:
        loop.run_until_complete(store.close())
        if db is not None:
            loop.run_until_complete(_pg_drop(db))
        loop.close()
