"""An App on a fresh embedded store with example.test (anna, bob, carl; info -> anna,
sales -> bob) and the compose service over it. No listener runs: the service is
called in process, as the webmail calls it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from postbus.app import App
from postbus.compose import Compose
from postbus.config import from_dict
from postbus.store.model import INBOX, Account

PASSWORD = "Tq7#mZ2v!pLx"
DOMAIN = "example.test"


@dataclass
class World:
    app: App
    compose: Compose
    anna: Account
    bob: Account
    carl: Account

    async def folder(self, account: Account, name: str) -> list[tuple[bytes, frozenset[str]]]:
        store = self.app.store
        box = await store.get_mailbox(account.id, name)
        assert box is not None
        infos = await store.fetch_info(box.id, [e.uid for e in await store.list_messages(box.id)])
        return [(await store.read_blob(i.blob_id), i.flags) for i in infos]

    async def inbox(self, account: Account) -> list[bytes]:
        return [raw for raw, _ in await self.folder(account, INBOX)]


async def make_world(tmp_path: Path, **limits: Any) -> AsyncIterator[World]:
    config: dict[str, Any] = {"hostname": "mail.example.test", "data_dir": str(tmp_path / "var"),
                              "security": {"auth_failure_delay": 0}}
    if limits:
        config["limits"] = limits
    app = App(from_dict(config))
    await app.open()
    try:
        await app.store.add_domain(DOMAIN)
        users = [await app.accounts.add_user(f"{u}@{DOMAIN}", PASSWORD)
                 for u in ("anna", "bob", "carl")]
        await app.accounts.add_alias(f"info@{DOMAIN}", [f"anna@{DOMAIN}"])
        await app.accounts.add_alias(f"sales@{DOMAIN}", [f"bob@{DOMAIN}"])
        yield World(app, Compose(app), *users)
    finally:
        await app.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(tmp_path):
        yield w
