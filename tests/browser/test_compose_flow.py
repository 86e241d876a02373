"""Writing in Chromium: a message with an attachment to another local user, seen
in that user's INBOX over IMAP (imaplib) and in the sender's Sent folder; that
user replies from the webmail, and the reply is threaded (In-Reply-To) and the
original marked \\Answered. No script error, no request to another host.
Screenshots of the compose screen go to artifacts/."""

from __future__ import annotations

import email
import email.policy
import imaplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from tests.browser.conftest import ALICE, BOB, Browsing
from tests.support.mailstore import PASSWORD
from tests.support.server import ServerProcess

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 32


def imap_folder(port: int, user: str, folder: str) -> list[tuple[bytes, EmailMessage]]:
    """(FLAGS response, message) of every message in `folder`, over IMAPS."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=30) as imap:
        imap.login(user, PASSWORD)
        assert imap.select(folder, readonly=True)[0] == "OK"
        found = []
        for uid in imap.uid("SEARCH", "ALL")[1][0].split():
            typ, parts = imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
            assert typ == "OK" and isinstance(parts[0], tuple)
            msg = email.message_from_bytes(parts[0][1], policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            found.append((parts[0][0], msg))
        imap.logout()
        return found


def test_write_with_an_attachment_then_reply(browsing: Browsing, server: ServerProcess,
                                             tmp_path: Path) -> None:
    page, watch = browsing.page, browsing.watch
    imaps = server.port("imaps")
    browsing.login()
    page.get_by_role("link", name="Write").click()
    page.get_by_role("heading", name="Write a message").wait_for()
    page.get_by_label("To", exact=True).fill(BOB)
    page.get_by_label("Subject").fill("Plan for Friday")
    page.get_by_label("Message").fill("Hi Bob,\n\nthe plan is attached.\n")
    attachment = tmp_path / "plan.pdf"
    attachment.write_bytes(PDF)
    page.get_by_label("Add files").set_input_files(str(attachment))
    browsing.shot("compose")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url("**/webmail/mail?folder=Sent*")
    page.get_by_role("link", name="Plan for Friday").wait_for()

    [(unread, received)] = imap_folder(imaps, BOB, "INBOX")
    assert received["Subject"] == "Plan for Friday" and received["From"] == ALICE
    [part] = list(received.iter_attachments())
    assert (part.get_filename(), part.get_content()) == ("plan.pdf", PDF)
    assert b"\\Seen" not in unread
    assert imap_folder(imaps, ALICE, "Drafts") == []  # an autosaved draft goes with the send
    [(sent_flags, sent)] = imap_folder(imaps, ALICE, "Sent")
    assert b"\\Seen" in sent_flags and sent["Message-ID"] == received["Message-ID"]

    # Bob replies from the webmail.
    page.get_by_role("button", name="Log out").click()
    browsing.login(BOB)
    page.get_by_role("link", name="Plan for Friday").click()
    page.get_by_role("link", name="Reply", exact=True).click()
    page.get_by_role("heading", name="Write a message").wait_for()
    assert page.get_by_label("To", exact=True).input_value() == ALICE
    assert page.get_by_label("Subject").input_value() == "Re: Plan for Friday"
    body = page.get_by_label("Message")
    assert "> the plan is attached." in body.input_value()
    body.press("Control+Home")
    body.type("Sounds good.")
    browsing.shot("reply")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url("**/webmail/mail?folder=Sent*")

    replies = [m for _, m in imap_folder(imaps, ALICE, "INBOX")]
    [reply] = [m for m in replies if m["Subject"] == "Re: Plan for Friday"]
    assert reply["In-Reply-To"] == received["Message-ID"]
    assert reply.get_body(("plain",)).get_content().startswith("Sounds good.")
    [(answered, _)] = imap_folder(imaps, BOB, "INBOX")
    assert b"\\Answered" in answered
    assert watch.errors == [] and watch.foreign == []


def test_a_draft_is_autosaved(browsing: Browsing, server: ServerProcess) -> None:
    page, watch = browsing.page, browsing.watch
    watch.accept_dialogs = True  # "Delete this draft?"
    browsing.login()
    page.goto(browsing.base + "/webmail/compose")
    page.get_by_label("To", exact=True).fill(BOB)
    page.get_by_label("Subject").fill("Unfinished thoughts")
    page.get_by_label("Message").fill("To be continued")
    page.get_by_label("Subject").focus()  # leaving the body saves the draft (compose.js)
    page.locator("#compose-form[data-autosave-state=saved]").wait_for()
    assert page.locator("#autosave-status").inner_text() == "Draft saved"
    draft = page.locator("input[name=draft]").input_value()
    assert draft.isdigit()
    [(flags, saved)] = imap_folder(server.port("imaps"), ALICE, "Drafts")
    assert b"\\Draft" in flags and saved["Subject"] == "Unfinished thoughts"
    # Reopened from the Drafts folder, it is the same form.
    page.goto(browsing.base + "/webmail/mail?folder=Drafts")
    page.get_by_role("link", name="Unfinished thoughts").click()
    page.get_by_role("link", name="Edit draft").click()
    assert page.get_by_label("Message").input_value().strip() == "To be continued"
    page.get_by_role("button", name="Delete draft").click()
    page.wait_for_url("**/webmail/mail?folder=INBOX")
    assert imap_folder(server.port("imaps"), ALICE, "Drafts") == []
    assert watch.errors == [] and watch.foreign == []
