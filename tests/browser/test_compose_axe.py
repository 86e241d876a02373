"""Accessibility of the writing screens: axe-core (from npm, injected by
Playwright) finds no serious or critical violation on the compose, contacts
and settings screens, in English and in Dutch."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import AXE, Browsing, missing

SCREENS = ("/webmail/compose", "/webmail/contacts", "/webmail/settings")


def serious_violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:3])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.fixture
def axe_browsing(browser: Any, server: Any) -> Any:
    if not AXE.exists():
        missing(f"axe-core is not installed at {AXE}")
    from tests.browser.conftest import open_context

    b = open_context(browser, server, bypass_csp=True)  # axe is injected as a script
    try:
        yield b
    finally:
        b.context.close()


def test_writing_screens_have_no_serious_violations(axe_browsing: Browsing) -> None:
    page = axe_browsing.page
    axe_browsing.login()
    found = {}
    for path in SCREENS:
        page.goto(axe_browsing.base + path)
        found[path] = serious_violations(page)
    page.goto(axe_browsing.base + "/webmail/settings")
    page.get_by_label("Language", exact=True).last.select_option("nl")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/webmail/settings?saved=1")
    axe_browsing.shot("settings-nl")
    assert page.locator("html").get_attribute("lang") == "nl"
    found["settings (nl)"] = serious_violations(page)
    page.goto(axe_browsing.base + "/webmail/compose")
    found["compose (nl)"] = serious_violations(page)
    assert all(not v for v in found.values()), found
