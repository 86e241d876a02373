"""`postbus migrate` copies the webmail's per-user records (issue 13): contacts with
their ids, preferences and the addresses written to; new contacts get new ids."""

from __future__ import annotations

import gc
from pathlib import Path

from postbus import config as config_mod
from postbus.app import App
from postbus.store.postgres.backend import PostgresStore
from postbus.store.sqlite.backend import SqliteStore
from postbus.store.userdata import NewContact
from tests.support.pg import throwaway_database
from tests.support.server import postbus, write_config

PASSWORD = "Tq7#mZ2v!pLx"


async def test_migrate_copies_contacts_settings_and_written_to(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"storage": {"backend": "sqlite"}})
    app = App(config_mod.load(config))
    await app.open()
    try:
        await app.accounts.add_domain("example.test")
        anna = await app.accounts.add_user("anna@example.test", PASSWORD)
        await app.store.add_contacts(anna.id, [NewContact("Bob", "bob@x.test", "notes ✓"),
                                               NewContact("", "carl@x.test")])
        await app.store.set_user_settings(anna.id, '{"language": "nl"}')
        await app.store.record_written_to(anna.id, [("dora@x.test", "Dora")], 5.0, 100)
    finally:
        await app.close()
    gc.collect()  # the reader threads' connections would hold the store
    with throwaway_database() as url:
        result = postbus(config, "migrate", "--to", url)
        assert "row counts verified" in result.stdout, result.stdout
        old, new = SqliteStore(tmp_path / "var"), PostgresStore(url, tmp_path / "pg")
        await old.open()
        await new.open()
        try:
            assert await new.list_contacts(anna.id) == await old.list_contacts(anna.id)
            assert len(await new.list_contacts(anna.id)) == 2
            assert await new.get_user_settings(anna.id) == '{"language": "nl"}'
            assert await new.list_written_to(anna.id) == await old.list_written_to(anna.id)
            top = max(c.id for c in await old.list_contacts(anna.id))
            [made] = await new.add_contacts(anna.id, [NewContact("", "new@x.test")])
            assert made.id > top
        finally:
            await old.close()
            await new.close()
            gc.collect()
