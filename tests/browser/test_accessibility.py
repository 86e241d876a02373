"""axe-core (from npm, pinned in .ci/run) finds no serious or critical
violation on the login, list, message, folder and search screens, in a wide and a
phone-sized window. axe is injected with the page's CSP bypassed (its script
is inline); the pages themselves are unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import ALICE, AXE, Browsing, missing, open_context
from tests.support.mail import smtp_deliver
from tests.support.server import ServerProcess

SERIOUS = ("serious", "critical")


def violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(" "))}));
    }""")
    return [v for v in result if v["impact"] in SERIOUS]


@pytest.mark.parametrize("viewport", [(1200, 800), (390, 844)], ids=["desktop", "phone"])
def test_no_serious_violations(browser: Any, server: ServerProcess,
                               viewport: tuple[int, int]) -> None:
    if not AXE.exists():
        missing(f"axe-core is not installed at {AXE}")
    smtp_deliver(server.port("smtp"), ALICE, [
        b"From: Bob <bob@remote.test>\r\nTo: alice@example.test\r\nSubject: Accessible\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello <b>world</b></p>\r\n"
        b"--b\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: attachment;"
        b" filename=notes.txt\r\n\r\nnotes\r\n--b--\r\n"])
    b: Browsing = open_context(browser, server, bypass_csp=True)
    try:
        page = b.page
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        found: dict[str, list[dict[str, Any]]] = {}
        page.goto(b.base + "/webmail/login")
        found["login"] = violations(page)
        b.login()
        found["list"] = violations(page)
        page.get_by_role("link", name="Accessible").first.click()
        page.get_by_role("heading", name="Accessible").wait_for()
        found["message"] = violations(page)
        if viewport[0] < 500:
            b.shot("phone-message")
        page.goto(b.base + "/webmail/folders")
        found["folders"] = violations(page)
        page.goto(b.base + "/webmail/search?q=Accessible")
        found["search"] = violations(page)
        bad = {screen: v for screen, v in found.items() if v}
        assert not bad, json.dumps(bad, indent=1)
        # The check can fail: an image without a text alternative is critical.
        page.set_content("<html lang=en><title>t</title><main><img src='data:,'></main></html>")
        assert "image-alt" in {v["id"] for v in violations(page)}
    finally:
        b.context.close()
