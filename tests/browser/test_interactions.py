"""Drag-and-drop to a folder, keyboard shortcuts and the phone-sized layout."""

from __future__ import annotations

from tests.browser.conftest import ALICE, Browsing
from tests.support.mail import smtp_deliver
from tests.support.server import ServerProcess


def mail(subject: str) -> bytes:
    return (f"From: Bob <bob@remote.test>\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
            "Content-Type: text/plain\r\n\r\nhello\r\n").encode()


def test_drag_a_message_to_a_folder_and_use_the_keyboard(browsing: Browsing,
                                                        server: ServerProcess) -> None:
    smtp_deliver(server.port("smtp"), ALICE, [mail("Drag me"), mail("Key me")])
    page = browsing.page
    browsing.login()
    page.locator("html[data-ready]").wait_for(state="attached")
    row = page.locator("tr", has=page.get_by_role("link", name="Drag me", exact=True))
    target = page.get_by_role("navigation", name="Folders").get_by_role("link", name="Archive")
    row.drag_to(target)
    # the drop submits the list form: the page reloads without the message
    page.get_by_role("link", name="Drag me", exact=True).wait_for(state="detached")
    page.get_by_role("link", name="Key me").wait_for()
    target.click()
    page.get_by_role("link", name="Drag me", exact=True).wait_for()

    page.get_by_role("navigation", name="Folders").get_by_role("link", name="Inbox").click()
    page.get_by_role("link", name="Key me").wait_for()
    page.locator("html[data-ready]").wait_for(state="attached")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 600, "y": 700})
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.textContent") == "Key me"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Key me").wait_for()

    page.set_viewport_size({"width": 390, "height": 844})
    page.go_back()
    page.get_by_role("link", name="Key me").wait_for()
    browsing.shot("phone-inbox")
    assert browsing.watch.errors == [] and browsing.watch.foreign == []


def html_mail(subject: str, html: str) -> bytes:
    return (f"From: Bob <bob@remote.test>\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
            f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n").encode()


def test_the_remote_content_note_only_when_something_was_blocked(
        browsing: Browsing, server: ServerProcess) -> None:
    smtp_deliver(server.port("smtp"), ALICE, [
        html_mail("Plain html", "<p>nothing remote</p>"),
        html_mail("Tracked html", '<p>pixel</p><img src="https://tracker.example/p.gif" alt="">')])
    page = browsing.page
    browsing.login()
    page.get_by_role("link", name="Plain html").click()
    page.frame_locator("iframe.html-body").get_by_text("nothing remote").wait_for()
    page.locator("[data-remote-note]").wait_for(state="hidden")
    # the frame fits its content once it has loaded (the page script's load handler);
    # a function, not an expression: Playwright polls an expression with eval(),
    # which the page's CSP (script-src 'self') refuses
    page.wait_for_function(
        "() => document.querySelector('iframe.html-body').getBoundingClientRect().height < 200")
    # our own stylesheet and script pass our CSP, in the page and in the frame
    assert not [c for c in browsing.watch.console if "Content Security Policy" in c]
    assert page.frame_locator("iframe.html-body").locator("body").evaluate(
        "b => getComputedStyle(b).fontSize") == "15px"  # body.css applied
    page.goto(browsing.base + "/webmail/mail?folder=INBOX")
    page.get_by_role("link", name="Tracked html").click()
    page.frame_locator("iframe.html-body").get_by_text("pixel").wait_for()
    page.locator("[data-remote-note]").wait_for(state="visible")
    assert browsing.watch.foreign == []
    with page.expect_request(lambda r: "tracker.example" in r.url) as asked:
        page.get_by_role("link", name="Show remote content").click()
    assert asked.value.url == "https://tracker.example/p.gif"  # asked for: loaded (here aborted)
