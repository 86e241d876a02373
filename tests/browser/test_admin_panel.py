"""The admin panel in Chromium (issue 14): a domain administrator logs in,
creates a mailbox, sets its vacation reply and its forwarding, and both take
effect on mail delivered by SMTP to the running server: the sender gets one
auto-reply, the forward target gets the message, and a copy stays."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.browser.conftest import ALICE, BOB, Browsing
from tests.support.mail import smtp_deliver
from tests.support.mailstore import inbox
from tests.support.server import ServerProcess, postbus

ADMIN_PASSWORD = "Hv4$nP9x@Tc2-panel"
CAROL = "carol@example.test"
CAROL_PASSWORD = "Qm7#vL2x!pRt9z"
WAIT_SECONDS = 30.0


def eventually(check: Callable[[], bool]) -> None:
    """Waits for mail that is delivered after the SMTP reply (vacation, forwarding)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, "mail did not arrive"
        time.sleep(0.2)


def test_panel_sets_vacation_and_forwarding_that_take_effect(
        browsing: Browsing, server: ServerProcess) -> None:
    postbus(server.config, "admin", "add", "webmaster", "--domain", "example.test",
            "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    page = browsing.page
    page.goto(browsing.base + "/admin/login")
    page.get_by_label("Name").fill("webmaster")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    page.get_by_role("link", name="example.test").click()
    page.get_by_role("heading", name="Mailboxes").wait_for()
    browsing.shot("admin-domain")

    page.get_by_label("Address (before @example.test)").fill("carol")
    page.get_by_label("Password (leave empty to generate a strong one)").fill(CAROL_PASSWORD)
    page.get_by_role("button", name="Add mailbox").click()
    page.get_by_role("heading", name=CAROL).wait_for()

    page.get_by_label("Forward to (one address a line; empty: no forwarding)").fill(BOB)
    page.get_by_label("Keep a copy in the mailbox").check()
    page.get_by_role("button", name="Save forwarding").click()
    page.get_by_role("heading", name=CAROL).wait_for()

    page.get_by_label("Send a vacation reply").check()
    page.get_by_label("Subject").fill("Out of office {{ 7*7 }}")
    page.get_by_label("Text").fill("Back on Monday.")
    page.get_by_role("button", name="Save vacation reply").click()
    page.get_by_role("heading", name=CAROL).wait_for()
    assert page.get_by_label("Subject").input_value() == "Out of office {{ 7*7 }}"
    browsing.shot("admin-mailbox")

    message = (f"From: Alice <{ALICE}>\r\nTo: Carol <{CAROL}>\r\nSubject: Meeting\r\n"
               "Message-ID: <meeting-1@example.test>\r\n"
               "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\nAre you in?\r\n").encode()
    smtp_deliver(server.port("smtp"), CAROL, [message], sender=ALICE)
    eventually(lambda: any(b"Subject: Meeting" in m for m in inbox(server.config, BOB)))
    eventually(lambda: any(b"Out of office {{ 7*7 }}" in m for m in inbox(server.config, ALICE)))
    assert any(b"Subject: Meeting" in m for m in inbox(server.config, CAROL))  # the kept copy
    reply = next(m for m in inbox(server.config, ALICE) if b"Out of office" in m)
    assert b"Auto-Submitted: auto-replied" in reply and b"Back on Monday." in reply

    smtp_deliver(server.port("smtp"), CAROL, [message.replace(b"meeting-1", b"meeting-2")],
                 sender=ALICE)  # the same sender again: forwarded, not answered twice
    eventually(lambda: sum(b"Subject: Meeting" in m for m in inbox(server.config, BOB)) == 2)
    assert sum(b"Out of office" in m for m in inbox(server.config, ALICE)) == 1
    assert not browsing.watch.errors and not browsing.watch.foreign
