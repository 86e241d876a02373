"""The compose screen over HTTP (httpx on the ASGI app): send with an attachment,
a forged From refused even when posted directly, the CSRF token, reply and
forward forms, drafts and autosave, address completion."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

import httpx

from postbus.app import App
from tests.unit.webmail.conftest import ALICE, BOB, csrf_of, deliver, message, page_of

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 16


async def folder(app: App, user: str, name: str) -> list[EmailMessage]:
    account = await app.accounts.get_user(user)
    assert account is not None
    box = await app.mailboxes.get(account.id, name)
    infos = await app.mailboxes.fetch_info(box.id, [e.uid for e in await app.mailboxes.messages(box.id)])
    found = []
    for info in infos:
        msg = email.message_from_bytes(await app.mailboxes.read_body(info.blob_id),
                                       policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        found.append(msg)
    return found


async def compose_form(client: httpx.AsyncClient, url: str = "/webmail/compose") -> tuple[str, str]:
    html = await page_of(client, url)
    return html, csrf_of(html)


async def test_send_with_an_attachment(app: App, alice: httpx.AsyncClient) -> None:
    html, csrf = await compose_form(alice)
    assert 'enctype="multipart/form-data"' in html and "compose.js" in html
    response = await alice.post("/webmail/compose", data={
        "csrf": csrf, "op": "send", "from": ALICE, "to": BOB, "subject": "Verslag",
        "body": "Zie bijlage."}, files={"attachment": ("verslag.pdf", PDF, "application/pdf")})
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/webmail/mail?folder=Sent")
    [received] = await folder(app, BOB, "INBOX")
    assert received["Subject"] == "Verslag"
    [part] = list(received.iter_attachments())
    assert (part.get_filename(), part.get_content()) == ("verslag.pdf", PDF)
    [sent] = await folder(app, ALICE, "Sent")
    assert sent["Message-ID"] == received["Message-ID"]


async def test_a_forged_from_posted_directly_is_refused(app: App, alice: httpx.AsyncClient) -> None:
    html, csrf = await compose_form(alice)
    assert f'value="{BOB}"' not in html  # not offered
    response = await alice.post("/webmail/compose", data={
        "csrf": csrf, "op": "send", "from": BOB, "to": BOB, "subject": "I am Bob"},
        files={"attachment": ("", b"", "application/octet-stream")})
    assert response.status_code == 400
    assert "not one of your addresses" in response.text
    assert await folder(app, BOB, "INBOX") == [] and await folder(app, ALICE, "Sent") == []
    autosave = await alice.post("/webmail/compose/autosave", data={"from": BOB, "to": BOB},
                                files={"x": ("", b"")}, headers={"x-csrf-token": csrf})
    assert autosave.status_code == 400 and "error" in autosave.json()
    assert await folder(app, ALICE, "Drafts") == []


async def test_the_compose_post_needs_the_csrf_token(app: App, alice: httpx.AsyncClient) -> None:
    response = await alice.post("/webmail/compose", data={"op": "send", "to": BOB, "csrf": "x"},
                                files={"attachment": ("a.txt", b"a", "text/plain")})
    assert response.status_code == 403
    response = await alice.post("/webmail/compose", data={"op": "send", "to": BOB})
    assert response.status_code in (403, 415)
    assert await folder(app, BOB, "INBOX") == []


async def test_over_the_size_limit_is_said_clearly(app: App, alice: httpx.AsyncClient) -> None:
    _, csrf = await compose_form(alice)
    big = b"\0" * (app.settings.max_message_size - 1000)  # fits as a file, not base64-encoded
    response = await alice.post("/webmail/compose", data={"csrf": csrf, "op": "send", "to": BOB},
                                files={"attachment": ("big.bin", big, "application/octet-stream")})
    assert response.status_code == 413
    assert "the most that can be sent" in response.text
    assert await folder(app, BOB, "INBOX") == []


async def test_reply_forward_and_drafts(app: App, alice: httpx.AsyncClient) -> None:
    uid = await deliver(app, ALICE, message(subject="Lunch?", sender=f"Bob <{BOB}>"))
    html = await page_of(alice, f"/webmail/message?folder=INBOX&uid={uid}")
    assert f"/webmail/compose?reply={uid}&amp;folder=INBOX" in html
    html, csrf = await compose_form(alice, f"/webmail/compose?reply={uid}&folder=INBOX")
    assert 'value="Re: Lunch?"' in html and f'value="Bob &lt;{BOB}&gt;"' in html
    assert "Bob wrote:" in html and "&gt; Hi Alice," in html
    in_reply_to = re.search(r'name="in_reply_to" value="([^"]*)"', html)
    assert in_reply_to and in_reply_to.group(1).startswith("&lt;")
    saved = await alice.post("/webmail/compose/autosave", headers={"x-csrf-token": csrf}, data={
        "from": ALICE, "to": BOB, "subject": "Re: Lunch?", "body": "Yes!",
        "replied_folder": "INBOX", "replied_uid": str(uid)}, files={"x": ("", b"")})
    assert saved.status_code == 200, saved.text
    draft = saved.json()["draft"]
    [kept] = await folder(app, ALICE, "Drafts")
    assert kept["Subject"] == "Re: Lunch?"
    html, csrf = await compose_form(alice, f"/webmail/compose?draft={draft}")
    assert "Yes!" in html
    response = await alice.post("/webmail/compose", data={
        "csrf": csrf, "op": "send", "from": ALICE, "to": BOB, "subject": "Re: Lunch?",
        "body": "Yes!", "draft": str(draft), "replied_folder": "INBOX", "replied_uid": str(uid)},
        files={"x": ("", b"")})
    assert response.status_code == 303, response.text
    assert await folder(app, ALICE, "Drafts") == []
    html, _ = await compose_form(alice, f"/webmail/compose?forward={uid}&folder=INBOX&mode=attachment")
    assert 'value="Fwd: Lunch?"' in html and 'name="forward_mode" value="attachment"' in html


async def test_address_completion(app: App, alice: httpx.AsyncClient) -> None:
    _, csrf = await compose_form(alice)
    await alice.post("/webmail/compose", data={"csrf": csrf, "op": "send", "to": f"Bob B <{BOB}>"},
                     files={"x": ("", b"")})
    found = (await alice.get("/webmail/complete?q=bob")).json()
    assert found == [{"name": "Bob B", "address": BOB, "display": f"Bob B <{BOB}>"}]
    assert (await alice.get("/webmail/complete?q=zzz")).json() == []


async def test_a_refused_send_keeps_the_form_and_its_files_as_a_draft(
        app: App, alice: httpx.AsyncClient) -> None:
    _, csrf = await compose_form(alice)
    response = await alice.post("/webmail/compose", data={
        "csrf": csrf, "op": "send", "to": "nobody@example.test", "subject": "Kept"},
        files={"attachment": ("notes.txt", b"my notes", "text/plain")})
    assert response.status_code == 400
    assert "This address cannot receive mail: nobody@example.test" in response.text
    assert "notes.txt" in response.text  # listed as the draft's attachment, not lost
    [kept] = await folder(app, ALICE, "Drafts")
    assert kept["Subject"] == "Kept"
    draft = re.search(r'name="draft" value="(\d+)"', response.text)
    assert draft is not None
    sent = await alice.post("/webmail/compose", data={
        "csrf": csrf, "op": "send", "to": BOB, "subject": "Kept", "draft": draft.group(1)},
        files={"x": ("", b"")})
    assert sent.status_code == 303
    [received] = await folder(app, BOB, "INBOX")
    assert [p.get_filename() for p in received.iter_attachments()] == ["notes.txt"]
    assert await folder(app, ALICE, "Drafts") == []
