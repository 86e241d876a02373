"""Accessibility of the writing screens: axe-core (from npm, injected by
Playwright as in test_accessibility.py) finds no serious or critical violation
on the compose, contacts and settings screens, in a wide and a phone-sized
window, in English and, for compose and settings, in Dutch."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import AXE, Browsing, missing, open_context
from tests.browser.test_accessibility import violations
from tests.support.server import ServerProcess

SCREENS = ("/webmail/compose", "/webmail/contacts", "/webmail/settings")


@pytest.mark.parametrize("viewport", [(1200, 800), (390, 844)], ids=["desktop", "phone"])
def test_writing_screens_have_no_serious_violations(browser: Any, server: ServerProcess,
                                                    viewport: tuple[int, int]) -> None:
    if not AXE.exists():
        missing(f"axe-core is not installed at {AXE}")
    b: Browsing = open_context(browser, server, bypass_csp=True)  # axe's script is inline
    try:
        page = b.page
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        b.login()
        found: dict[str, list[dict[str, Any]]] = {}
        for path in SCREENS:
            page.goto(b.base + path)
            found[path] = violations(page)
        page.goto(b.base + "/webmail/settings")
        page.locator("#language").select_option("nl")
        page.get_by_role("button", name="Save").click()
        page.wait_for_url("**/webmail/settings?saved=1")
        assert page.locator("html").get_attribute("lang") == "nl"
        if viewport[0] < 500:
            b.shot("phone-settings-nl")
        found["settings (nl)"] = violations(page)
        page.goto(b.base + "/webmail/compose")
        found["compose (nl)"] = violations(page)
        if viewport[0] < 500:
            b.shot("phone-compose-nl")
        page.goto(b.base + "/webmail/settings")
        page.locator("#language").select_option("en")
        page.get_by_role("button", name="Opslaan").click()
        page.wait_for_url("**/webmail/settings?saved=1")
        bad = {screen: v for screen, v in found.items() if v}
        assert not bad, json.dumps(bad, indent=1)
    finally:
        b.context.close()
