"""The webmail in Chromium: log in, read a message delivered by SMTP, see new
mail arrive without a reload, search, move, delete, empty Trash and watch the
quota bar drop, switch to Dutch, log out. Screenshots go to artifacts/."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import ALICE, Browsing
from tests.support.mail import smtp_deliver
from tests.support.server import ServerProcess


def mail(subject: str, body: str, sender: str = "Bob Remote <bob@remote.test>") -> bytes:
    return (f"From: {sender}\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
            "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"\r\n{body}\r\n").replace("\r\n", "\n").replace("\n", "\r\n").encode()


def row(page: Any, subject: str) -> Any:
    return page.locator("tr", has=page.get_by_role("link", name=subject, exact=True))


def quota_used(page: Any) -> int:
    return int(page.locator("#quota-meter").get_attribute("value"))


def test_a_day_with_the_webmail(browsing: Browsing, server: ServerProcess) -> None:
    page, watch = browsing.page, browsing.watch
    watch.accept_dialogs = True
    smtp = server.port("smtp")
    smtp_deliver(smtp, ALICE, [mail("Quarterly report", "The numbers are in.\n" + "x" * 20_000),
                               mail("Lunch plans", "Pizza at noon?")])

    browsing.login()
    assert page.get_by_role("heading", name="Inbox").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Lunch plans").wait_for()
    browsing.shot("inbox")

    # New mail appears without a reload (server-sent events).
    page.locator("html[data-live]").wait_for(state="attached")  # the event stream is open
    smtp_deliver(smtp, ALICE, [mail("Fresh news", "Delivered while the list was open.")])
    page.get_by_role("link", name="Fresh news").wait_for(timeout=20_000)

    # Read the message delivered by SMTP.
    page.get_by_role("link", name="Quarterly report").click()
    page.get_by_role("heading", name="Quarterly report").wait_for()
    assert "The numbers are in." in page.locator(".plain-body").inner_text()
    assert "Bob Remote <bob@remote.test>" in page.locator(".headers").inner_text()
    browsing.shot("message")
    page.get_by_role("link", name="Back to the list").click()
    page.wait_for_url("**/webmail/mail?folder=INBOX")

    # Search.
    page.get_by_label("Search mail").fill("pizza")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(re.compile(r".*q=pizza.*"))
    links = page.locator(".messages tbody .col-subject a")
    assert links.all_inner_texts() == ["Lunch plans"]
    browsing.shot("search")

    # Move to Archive.
    page.goto(browsing.base + "/webmail/mail?folder=INBOX")
    row(page, "Lunch plans").get_by_role("checkbox").check()
    page.locator("#move-target").select_option("Archive")
    page.get_by_role("button", name="Move", exact=True).click()
    page.get_by_role("link", name="Lunch plans").wait_for(state="detached")
    page.get_by_role("navigation", name="Folders").get_by_role("link", name="Archive").click()
    page.get_by_role("link", name="Lunch plans").wait_for()

    # Delete to Trash.
    page.get_by_role("navigation", name="Folders").get_by_role("link", name="Inbox").click()
    row(page, "Quarterly report").get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("link", name="Quarterly report").wait_for(state="detached")

    # Empty Trash: the quota bar drops.
    page.get_by_role("navigation", name="Folders").get_by_role("link", name="Trash").click()
    page.get_by_role("link", name="Quarterly report").wait_for()
    before = quota_used(page)
    # the confirmation is the page script's: click once its handlers are in place
    page.locator("html[data-ready]").wait_for(state="attached")
    page.get_by_role("button", name="Empty Trash").click()
    page.get_by_text("This folder is empty.").wait_for()
    after = quota_used(page)
    assert after < before - 20_000, (before, after)
    assert any(d.startswith("confirm:") for d in watch.dialogs)
    browsing.shot("trash-emptied")

    # Dutch.
    page.get_by_label("Language").select_option("nl")
    page.wait_for_url("**/webmail/mail?folder=Trash")
    page.get_by_role("button", name="Uitloggen").wait_for()
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("navigation", name="Mappen").get_by_text("Postvak IN").is_visible()
    browsing.shot("dutch")

    # Log out: the session is gone.
    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_url("**/webmail/login")
    page.goto(browsing.base + "/webmail/mail?folder=INBOX")
    assert "/webmail/login" in page.url
    browsing.shot("logged-out")

    assert watch.foreign == [] and watch.errors == []
    assert not [c for c in watch.console if "Content Security Policy" in c]
