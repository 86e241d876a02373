"""The contacts and settings screens over HTTP: add (also a message's sender),
edit, delete, import, export; identities checked on the server, the language
and page size applied."""

from __future__ import annotations

import re

import httpx

from postbus.app import App
from tests.unit.webmail.conftest import ALICE, BOB, csrf_of, deliver, message, page_of

VCARD = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Piet Jansen\r\nEMAIL:piet@werk.nl\r\nEND:VCARD\r\n"
         "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Élise\r\nEMAIL:elise@exemple.fr\r\nEND:VCARD\r\n")


async def test_contacts_add_edit_import_export_delete(app: App, alice: httpx.AsyncClient) -> None:
    csrf = csrf_of(await page_of(alice, "/webmail/contacts"))
    added = await alice.post("/webmail/contacts/add", data={
        "csrf": csrf, "name": "Bob", "email": BOB, "notes": "neighbour"})
    assert added.status_code == 303
    bad = await alice.post("/webmail/contacts/add", data={"csrf": csrf, "email": "nope"})
    assert bad.status_code == 400 and "not an e-mail address" in bad.text
    imported = await alice.post("/webmail/contacts/import", data={"csrf": csrf},
                                files={"file": ("book.vcf", VCARD.encode(), "text/vcard")})
    assert imported.status_code == 200 and "2 contacts imported." in imported.text
    html = await page_of(alice, "/webmail/contacts?q=jans")
    assert "piet@werk.nl" in html and BOB not in html
    csv = await alice.get("/webmail/contacts/export?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "Name,E-mail,Notes" and "Élise,elise@exemple.fr," in csv.text
    vcf = (await alice.get("/webmail/contacts/export")).text
    assert vcf.count("BEGIN:VCARD") == 3
    html = await page_of(alice, "/webmail/contacts")
    ids = sorted(set(re.findall(r'name="id" value="(\d+)"', html)))
    assert len(ids) == 3
    edit = await alice.post("/webmail/contacts/edit", data={
        "csrf": csrf, "id": ids[0], "name": "Robert", "email": BOB, "notes": ""})
    assert edit.status_code == 303
    assert "Robert" in await page_of(alice, "/webmail/contacts")
    gone = await alice.post("/webmail/contacts/delete", data={"csrf": csrf, "id": ids})
    assert gone.status_code == 303
    assert "No contacts yet." in await page_of(alice, "/webmail/contacts")


async def test_add_the_sender_of_a_message(app: App, alice: httpx.AsyncClient) -> None:
    uid = await deliver(app, ALICE, message(sender="Carol Smith <carol@example.net>"))
    html = await page_of(alice, f"/webmail/message?folder=INBOX&uid={uid}")
    assert "/webmail/contacts/from-message" in html
    response = await alice.post("/webmail/contacts/from-message", data={
        "csrf": csrf_of(html), "folder": "INBOX", "uid": str(uid)})
    assert response.status_code == 303 and "/webmail/contacts/edit?id=" in response.headers["location"]
    edit = await page_of(alice, response.headers["location"])
    assert 'value="Carol Smith"' in edit and 'value="carol@example.net"' in edit


async def test_settings_identities_language_page_size(app: App, alice: httpx.AsyncClient) -> None:
    await app.accounts.add_alias("info@example.test", [ALICE])
    html = await page_of(alice, "/webmail/settings")
    csrf = csrf_of(html)
    forged = await alice.post("/webmail/settings", data={
        "csrf": csrf, "identity_name": "Bob", "identity_address": BOB, "signature": "",
        "language": "en", "page_size": "50", "timezone": "UTC"})
    assert forged.status_code == 400 and "is not one of your addresses" in forged.text
    saved = await alice.post("/webmail/settings", data={
        "csrf": csrf, "identity_name": ["Info", "Alice"],
        "identity_address": ["info@example.test", ALICE],
        "signature": "Groeten,\nAlice", "language": "nl", "page_size": "20",
        "timezone": "Europe/Amsterdam"})
    assert saved.status_code == 303, saved.text
    html = await page_of(alice, "/webmail/settings")
    assert 'lang="nl"' in html and "Instellingen" in html  # the interface is Dutch now
    compose = await page_of(alice, "/webmail/compose")
    assert "Groeten,\nAlice" in compose
    assert '<option value="info@example.test" selected>Info &lt;info@example.test&gt;</option>' in compose


async def test_dates_are_shown_in_the_chosen_time_zone(app: App, alice: httpx.AsyncClient) -> None:
    uid = await deliver(app, ALICE, message(date="Thu, 03 Dec 2026 10:00:00 +0000"))
    assert "10:00:00" in await page_of(alice, f"/webmail/message?folder=INBOX&uid={uid}")
    csrf = csrf_of(await page_of(alice, "/webmail/settings"))
    saved = await alice.post("/webmail/settings", data={
        "csrf": csrf, "identity_name": "", "identity_address": ALICE, "signature": "",
        "language": "en", "page_size": "50", "timezone": "Europe/Amsterdam"})
    assert saved.status_code == 303
    html = await page_of(alice, f"/webmail/message?folder=INBOX&uid={uid}")
    assert "11:00:00" in html and "Europe/Amsterdam" in html  # CET, UTC+1 in December
