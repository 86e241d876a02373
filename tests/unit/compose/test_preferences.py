"""Preferences: identities only with owned addresses (checked on the server),
bounded values, stored per user, and a damaged document read back as defaults."""

from __future__ import annotations

import pytest

from postbus.preferences import Identity, InvalidPreference, Preferences, PreferencesService
from tests.unit.compose.conftest import DOMAIN, World


async def test_defaults_then_saved_values(world: World) -> None:
    service = PreferencesService(world.app.store)
    prefs = await service.get(world.anna)
    assert prefs == Preferences(identities=(Identity("", f"anna@{DOMAIN}"),))
    saved = await service.save(world.anna, Preferences(
        identities=(Identity("Anna\n Jansen", f"Info@{DOMAIN}"),), signature="Groet,\r\nAnna",
        language="nl", page_size=100, timezone="Europe/Amsterdam"))
    assert saved.identities == (Identity("Anna  Jansen", f"info@{DOMAIN}"),)
    assert await service.get(world.anna) == saved
    assert saved.signature == "Groet,\nAnna"
    assert (await service.get(world.bob)).language == "en"
    assert await service.owned(world.anna) == [f"anna@{DOMAIN}", f"info@{DOMAIN}"]


@pytest.mark.parametrize(("prefs", "field"), [
    (Preferences(identities=(Identity("", f"bob@{DOMAIN}"),)), "identity"),
    (Preferences(identities=(Identity("", f"sales@{DOMAIN}"),)), "identity"),
    (Preferences(identities=(Identity("", "not-an-address"),)), "identity"),
    (Preferences(language="de"), "language"),
    (Preferences(page_size=5), "page_size"),
    (Preferences(page_size=10_000), "page_size"),
    (Preferences(timezone="Mars/Olympus"), "timezone"),
    (Preferences(signature="x" * 10_001), "signature"),
])
async def test_refusals(world: World, prefs: Preferences, field: str) -> None:
    service = PreferencesService(world.app.store)
    with pytest.raises(InvalidPreference) as refused:
        await service.save(world.anna, prefs)
    assert refused.value.field == field


async def test_a_damaged_document_reads_as_defaults(world: World) -> None:
    store = world.app.store
    await store.set_user_settings(world.anna.id, '{"language": "xx", "page_size": "many",'
                                                 ' "timezone": "Nowhere", "future": 1}')
    prefs = await PreferencesService(store).get(world.anna)
    assert (prefs.language, prefs.page_size, prefs.timezone) == ("en", 50, "UTC")
    assert prefs.extra == {"future": 1}
    await store.set_user_settings(world.anna.id, "not json")
    assert (await PreferencesService(store).get(world.anna)).language == "en"
