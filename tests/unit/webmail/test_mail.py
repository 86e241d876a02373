"""The message list and what can be done to a selection, through the mailbox
service: what the webmail changes is what IMAP sees."""

from __future__ import annotations

import re

import httpx
import pytest

from postbus.app import App
from postbus.web.webmail.listing import ListQuery, page_bounds
from tests.unit.webmail.conftest import ALICE, csrf_of, deliver, message, page_of


def subjects(html: str) -> list[str]:
    return re.findall(r'<td class="col-subject"><a href="[^"]*">([^<]*)</a>', html)


async def uids_in(app: App, folder: str) -> list[int]:
    account = await app.accounts.get_user(ALICE)
    assert account is not None
    mailbox = await app.mailboxes.get(account.id, folder)
    return [e.uid for e in await app.mailboxes.messages(mailbox.id)]


async def flags_of(app: App, folder: str, uid: int) -> frozenset[str]:
    account = await app.accounts.get_user(ALICE)
    assert account is not None
    mailbox = await app.mailboxes.get(account.id, folder)
    return next(e.flags for e in await app.mailboxes.messages(mailbox.id) if e.uid == uid)


async def post(client: httpx.AsyncClient, path: str, **form: object) -> httpx.Response:
    page = await client.get("/webmail/folders")
    data = {"csrf": csrf_of(page.text), **form}
    return await client.post(path, data=data)  # type: ignore[arg-type]


async def test_list_newest_first_with_markers(app: App, alice: httpx.AsyncClient) -> None:
    await deliver(app, ALICE, message("first"), flags=("\\Seen",))
    await deliver(app, ALICE, message("second"), flags=("\\Flagged",))
    att = (b"From: a@example.net\r\nSubject: with file\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
           b"see file\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;"
           b" filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n")
    await deliver(app, ALICE, att)
    html = await page_of(alice, "/webmail/mail?folder=INBOX")
    assert subjects(html) == ["with file", "second", "first"]
    rows = re.findall(r'<tr class="([^"]*)" draggable="true" data-uid="(\d+)">(.*?)</tr>', html, re.S)
    by_uid = {int(uid): (cls, body) for cls, uid, body in rows}
    assert "unread" not in by_uid[1][0] and "flagged" in by_uid[2][0] and "unread" in by_uid[2][0]
    assert "mark-attachment" in by_uid[3][1] and "mark-attachment" not in by_uid[1][1]
    assert 'data-unread="INBOX">' in html and ">2</span>" in html  # two unread
    assert "3 messages" in html


@pytest.mark.parametrize(("sort", "order", "expected"), [
    ("subject", "asc", ["alpha", "bravo", "charlie"]),
    ("subject", "desc", ["charlie", "bravo", "alpha"]),
    ("from", "asc", ["charlie", "alpha", "bravo"]),  # display names: Ann, Bart, Bea
    ("size", "desc", ["bravo", "alpha", "charlie"]),
    ("received", "asc", ["bravo", "charlie", "alpha"]),
    ("date", "asc", ["alpha", "bravo", "charlie"]),
])
async def test_sorted_on_the_server(app: App, alice: httpx.AsyncClient, sort: str, order: str,
                                    expected: list[str]) -> None:
    await deliver(app, ALICE, message("bravo", sender="Bea <b@example.net>", body="x" * 500,
                                      date="Tue, 01 Dec 2026 10:00:00 +0000"))
    await deliver(app, ALICE, message("charlie", sender="Ann <a@example.net>", body="y",
                                      date="Wed, 02 Dec 2026 10:00:00 +0000"))
    await deliver(app, ALICE, message("alpha", sender="Bart <b2@example.net>", body="z" * 100,
                                      date="Mon, 30 Nov 2026 10:00:00 +0000"))
    html = await page_of(alice, f"/webmail/mail?folder=INBOX&sort={sort}&order={order}")
    assert subjects(html) == expected


async def test_pages(app: App, alice: httpx.AsyncClient) -> None:
    for n in range(23):
        await deliver(app, ALICE, message(f"m{n:02d}"))
    first = await page_of(alice, "/webmail/mail?folder=INBOX")
    assert subjects(first) == [f"m{n:02d}" for n in range(22, 12, -1)]  # page_size 10
    assert "Page 1 of 3" in first and 'rel="next"' in first and 'rel="prev"' not in first
    last = await page_of(alice, "/webmail/mail?folder=INBOX&page=3")
    assert subjects(last) == ["m02", "m01", "m00"]
    beyond = await page_of(alice, "/webmail/mail?folder=INBOX&page=99")
    assert subjects(beyond) == ["m02", "m01", "m00"]
    assert "Page 3 of 3" in beyond
    junk = await page_of(alice, "/webmail/mail?folder=INBOX&page=abc&sort=nonsense")
    assert subjects(junk) == subjects(first)


def test_page_bounds_and_query_parsing() -> None:
    assert page_bounds(0, 1, 10) == (0, 0, 1)
    assert page_bounds(25, 3, 10) == (20, 25, 3)
    assert page_bounds(25, 9, 10) == (20, 25, 3)
    q = ListQuery.parse({"folder": "Work", "page": "-5", "sort": "subject", "q": " x "})
    assert (q.folder, q.page, q.sort, q.descending, q.search) == ("Work", 1, "subject", False, "x")


async def test_quick_search_is_imap_search(app: App, alice: httpx.AsyncClient) -> None:
    await deliver(app, ALICE, message("Invoice 42", body="please pay"))
    await deliver(app, ALICE, message("Lunch", sender="Dave <dave@example.net>", body="noon?"))
    await deliver(app, ALICE, message("Other", body="the invoice is attached"))
    assert sorted(subjects(await page_of(alice, "/webmail/mail?folder=INBOX&q=invoice"))) == [
        "Invoice 42", "Other"]
    assert subjects(await page_of(alice, "/webmail/mail?folder=INBOX&q=dave")) == ["Lunch"]
    assert subjects(await page_of(alice, "/webmail/mail?folder=INBOX&q=invoice+pay")) == [
        "Invoice 42"]
    none = await page_of(alice, "/webmail/mail?folder=INBOX&q=zebra")
    assert "No messages match your search." in none
    too_long = await alice.get("/webmail/mail?folder=INBOX&q=" + "a" * 300)
    assert too_long.status_code == 400


async def test_mark_flag_move_delete(app: App, alice: httpx.AsyncClient) -> None:
    one = await deliver(app, ALICE, message("one"))
    two = await deliver(app, ALICE, message("two"))
    r = await post(alice, "/webmail/mail/messages", folder="INBOX", op="read", uid=[one, two])
    assert r.status_code == 303
    assert "\\Seen" in await flags_of(app, "INBOX", one)
    await post(alice, "/webmail/mail/messages", folder="INBOX", op="unread", uid=[one])
    assert "\\Seen" not in await flags_of(app, "INBOX", one)
    await post(alice, "/webmail/mail/messages", folder="INBOX", op="flag", uid=[two])
    assert "\\Flagged" in await flags_of(app, "INBOX", two)
    await post(alice, "/webmail/mail/messages", folder="INBOX", op="unflag", uid=[two])
    assert "\\Flagged" not in await flags_of(app, "INBOX", two)
    await post(alice, "/webmail/mail/messages", folder="INBOX", op="move", target="Archive",
               uid=[one])
    assert await uids_in(app, "INBOX") == [two] and len(await uids_in(app, "Archive")) == 1
    await post(alice, "/webmail/mail/messages", folder="INBOX", op="delete", uid=[two])
    assert await uids_in(app, "INBOX") == [] and len(await uids_in(app, "Trash")) == 1
    trash_uid = (await uids_in(app, "Trash"))[0]
    await post(alice, "/webmail/mail/messages", folder="Trash", op="delete", uid=[trash_uid])
    assert await uids_in(app, "Trash") == []  # in Trash: for good
    bad = await post(alice, "/webmail/mail/messages", folder="INBOX", op="explode", uid=[1])
    assert bad.status_code == 400
    nowhere = await post(alice, "/webmail/mail/messages", folder="Nope", op="read", uid=[1])
    assert nowhere.status_code == 404 and "There is no such folder." in nowhere.text
    many = await post(alice, "/webmail/mail/messages", folder="INBOX", op="read",
                      uid=list(range(1, 502)))
    assert many.status_code == 400


async def test_empty_trash_and_junk_and_the_quota_drops(app: App, alice: httpx.AsyncClient) -> None:
    big = message("big", body="b" * 50_000)
    for _ in range(3):
        await deliver(app, ALICE, big, folder="Trash")
    await deliver(app, ALICE, message("spam"), folder="Junk")
    before = await page_of(alice, "/webmail/mail?folder=Trash")
    assert "Empty Trash" in before
    used_before = int(re.search(r'<meter[^>]*value="(\d+)"', before).group(1))  # type: ignore[union-attr]
    assert used_before > 150_000
    r = await post(alice, "/webmail/mail/empty", folder="Trash")
    assert r.status_code == 303
    after = await page_of(alice, "/webmail/mail?folder=Trash")
    used_after = int(re.search(r'<meter[^>]*value="(\d+)"', after).group(1))  # type: ignore[union-attr]
    assert used_after < 1_000
    assert (await app.mailboxes.quota((await app.accounts.get_user(ALICE)).id)).used_bytes == used_after  # type: ignore[union-attr]
    await post(alice, "/webmail/mail/empty", folder="Junk")
    assert await uids_in(app, "Junk") == []
    await deliver(app, ALICE, message("keep"))
    refused = await post(alice, "/webmail/mail/empty", folder="INBOX")
    assert refused.status_code == 400 and len(await uids_in(app, "INBOX")) == 1


async def test_folders_create_rename_delete(app: App, alice: httpx.AsyncClient) -> None:
    assert (await post(alice, "/webmail/folders/create", name="Work")).status_code == 303
    assert (await post(alice, "/webmail/folders/create", name="Projects", parent="Work")
            ).status_code == 303
    account = await app.accounts.get_user(ALICE)
    assert account is not None
    names = [f.name for f in await app.mailboxes.tree(account.id)]
    assert "Work/Projects" in names
    dup = await post(alice, "/webmail/folders/create", name="Work")
    assert dup.status_code == 409 and "already exists" in dup.text
    slash = await post(alice, "/webmail/folders/create", name="a/b")
    assert slash.status_code == 400
    await post(alice, "/webmail/folders/rename", folder="Work/Projects", name="Plans")
    names = [f.name for f in await app.mailboxes.tree(account.id)]
    assert "Work/Plans" in names and "Work/Projects" not in names
    assert (await post(alice, "/webmail/folders/rename", folder="INBOX", name="X")).status_code == 400
    await post(alice, "/webmail/folders/delete", folder="Work/Plans")
    names = [f.name for f in await app.mailboxes.tree(account.id)]
    assert "Work/Plans" not in names
    assert (await post(alice, "/webmail/folders/delete", folder="INBOX")).status_code == 409
    page = await page_of(alice, "/webmail/folders")
    assert "Manage folders" in page


async def test_one_user_cannot_reach_another_users_folder(app: App, alice: httpx.AsyncClient) -> None:
    from tests.unit.webmail.conftest import BOB

    uid = await deliver(app, BOB, message("bob's secret"))
    html = await page_of(alice, "/webmail/mail?folder=INBOX")
    assert "bob&#39;s secret" not in html
    r = await alice.get(f"/webmail/message?folder=INBOX&uid={uid}")
    assert r.status_code == 404


async def test_the_next_page_of_a_sorted_list_sorts_nothing(
        app: App, alice: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(15):
        await deliver(app, ALICE, message(f"s{n:02d}"))
    calls = []
    original = app.mailboxes.sort

    async def counting(*args: object, **kwargs: object) -> list[int]:
        calls.append(args)
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(app.mailboxes, "sort", counting)
    first = await page_of(alice, "/webmail/mail?folder=INBOX&sort=subject&order=asc")
    second = await page_of(alice, "/webmail/mail?folder=INBOX&sort=subject&order=asc&page=2")
    assert subjects(first) + subjects(second) == [f"s{n:02d}" for n in range(15)]
    assert len(calls) == 1
    # reading a message (a flag change) keeps the order; a new message does not
    await page_of(alice, "/webmail/message?folder=INBOX&uid=3")
    await page_of(alice, "/webmail/mail?folder=INBOX&sort=subject&order=asc")
    assert len(calls) == 1
    await deliver(app, ALICE, message("a-new-one"))
    fresh = await page_of(alice, "/webmail/mail?folder=INBOX&sort=subject&order=asc")
    assert subjects(fresh)[0] == "a-new-one" and len(calls) == 2


async def test_the_first_inbox_load_is_small_and_local(app: App, alice: httpx.AsyncClient) -> None:
    """Issue 13: the first load of the Inbox transfers at most 150 KB, all from this host."""
    for n in range(10):
        await deliver(app, ALICE, message(f"size check {n}", body="text " * 200))
    html = await page_of(alice, "/webmail/mail?folder=INBOX")
    assets = re.findall(r'(?:href|src)="(/webmail/static/[^"]+)"', html)
    assert {a.split("?")[0] for a in assets} == {"/webmail/static/webmail.css",
                                                  "/webmail/static/webmail.js"}
    total = len(html.encode())
    for asset in assets:
        response = await alice.get(asset.replace("&amp;", "&"))
        assert response.status_code == 200
        assert response.headers["cache-control"] == "private, max-age=86400"
        total += len(response.content)
    assert total < 150 * 1024, total


async def test_the_quota_bar_warns_near_the_limit(app: App, alice: httpx.AsyncClient) -> None:
    await app.accounts.set_quota(ALICE, 10_000)
    await deliver(app, ALICE, message("fills", body="f" * 8_500), folder="Trash")
    html = await page_of(alice, "/webmail/mail?folder=INBOX")
    assert 'class="quota-warn"' in html or 'class="quota-full"' in html
    assert "Nearly full: empty the Trash" in html and "/webmail/mail?folder=Trash" in html
    await post(alice, "/webmail/mail/empty", folder="Trash")
    calm = await page_of(alice, "/webmail/mail?folder=INBOX")
    assert 'class="quota-ok"' in calm and "Nearly full" not in calm
