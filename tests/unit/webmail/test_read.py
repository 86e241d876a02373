"""Reading: headers, plain and HTML bodies (sanitised, in a sandboxed frame of
their own), remote content blocked until asked, cid: images, attachments, source."""

from __future__ import annotations

import base64
import html as htmllib
import re

import httpx

from postbus.app import App
from postbus.message import parse
from postbus.web.webmail.parts import body_parts, parse_path
from tests.unit.webmail.conftest import ALICE, csrf_of, deliver, message, page_of

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def rich_message() -> bytes:
    png = base64.b64encode(PNG).decode()
    return (
        "From: =?utf-8?q?Caf=C3=A9?= <cafe@example.net>\r\nTo: Alice <alice@example.test>\r\n"
        "Cc: bob@example.test\r\nSubject: =?utf-8?q?R=C3=A9union?=\r\n"
        "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
        "--outer\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
        "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain version\r\n"
        "--alt\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n"
        "--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p onclick=\"alert(1)\">Hello <b>there</b></p><script>alert(2)</script>"
        "<img src=\"cid:logo@example.net\" alt=\"logo\">"
        "<img src=\"https://tracker.example.com/pixel.gif\" alt=\"pixel\">"
        "<a href=\"javascript:alert(3)\">bad</a><a href=\"https://example.org/\">good</a>\r\n"
        "--rel\r\nContent-Type: image/png\r\nContent-ID: <logo@example.net>\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{png}\r\n--rel--\r\n"
        "--alt--\r\n"
        "--outer\r\nContent-Type: application/pdf; name=\"r\u00e9sum\u00e9.pdf\"\r\n"
        "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"%PDF-1.4 fake").decode() + "\r\n--outer--\r\n"
    ).encode()


async def test_plain_message(app: App, alice: httpx.AsyncClient) -> None:
    uid = await deliver(app, ALICE, message("Hi", body="Line 1\n<b>not bold</b>\n"))
    html = await page_of(alice, f"/webmail/message?folder=INBOX&uid={uid}")
    assert "<h1 id=\"subject\">Hi</h1>" in html
    assert "Carol &lt;carol@example.net&gt;" in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html  # text is text
    assert "<iframe" not in html
    account = await app.accounts.get_user(ALICE)
    assert account is not None
    mailbox = await app.mailboxes.get(account.id, "INBOX")
    assert "\\Seen" in (await app.mailboxes.messages(mailbox.id))[0].flags


async def test_rich_message(app: App, alice: httpx.AsyncClient) -> None:
    uid = await deliver(app, ALICE, rich_message())
    html = await page_of(alice, f"/webmail/message?folder=INBOX&uid={uid}")
    assert "Réunion" in html and "Café &lt;cafe@example.net&gt;" in html
    assert "bob@example.test" in html
    assert "Show remote content" in html
    frame = re.search(r'<iframe class="html-body" src="([^"]+)"[^>]*sandbox="([^"]*)"', html)
    assert frame is not None
    assert "allow-scripts" not in frame.group(2)
    body_url = htmllib.unescape(frame.group(1))
    assert "part=1.2.1" in body_url
    # the attachment, with its decoded name and size
    link = re.search(r'<a href="([^"]+)" download>résumé.pdf</a>', html)
    assert link is not None
    download = await alice.get(htmllib.unescape(link.group(1)))
    assert download.content == b"%PDF-1.4 fake"
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf" in download.headers["content-disposition"]

    body = await alice.get(body_url)
    csp = body.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "sandbox" in csp
    assert "img-src 'self' data:;" in csp  # nothing remote
    assert body.headers["x-remote-blocked"] == "1"
    doc = body.text
    assert "<script" not in doc and "onclick" not in doc and "javascript:" not in doc
    assert "tracker.example.com" not in doc
    assert '<a href="https://example.org/"' in doc and "<b>there</b>" in doc
    cid = re.search(r'<img src="([^"]+)" alt="logo">', doc)
    assert cid is not None
    image = await alice.get(htmllib.unescape(cid.group(1)))
    assert image.content == PNG and image.headers["content-type"] == "image/png"

    remote = await alice.get(body_url + "&remote=1")
    assert "tracker.example.com/pixel.gif" in remote.text
    assert "https:" in remote.headers["content-security-policy"]
    shown = await page_of(alice, f"/webmail/message?folder=INBOX&uid={uid}&remote=1")
    assert "Show remote content" not in shown and "remote=1" in shown


async def test_source(app: App, alice: httpx.AsyncClient) -> None:
    raw = message("Source", body="<script>alert(1)</script>")
    uid = await deliver(app, ALICE, raw)
    response = await alice.get(f"/webmail/message/source?folder=INBOX&uid={uid}")
    assert response.content == raw
    assert response.headers["content-type"].startswith("text/plain")
    assert "sandbox" in response.headers["content-security-policy"]


async def test_bad_references(app: App, alice: httpx.AsyncClient) -> None:
    uid = await deliver(app, ALICE, message())
    assert (await alice.get("/webmail/message?folder=INBOX&uid=999")).status_code == 404
    assert (await alice.get("/webmail/message?folder=INBOX&uid=x")).status_code == 400
    assert (await alice.get(f"/webmail/message/part?folder=INBOX&uid={uid}&part=9.9")).status_code == 404
    assert (await alice.get(f"/webmail/message/part?folder=INBOX&uid={uid}&part=a")).status_code == 400
    assert (await alice.get(f"/webmail/message/body?folder=INBOX&uid={uid}&part=1")).status_code == 404
    assert (await alice.get(f"/webmail/message/cid?folder=INBOX&uid={uid}&cid=nope")).status_code == 404


def test_part_numbers() -> None:
    meta = parse(rich_message())
    shown = body_parts(meta.body)
    assert [(s.path, s.html) for s in shown] == [((1, 2, 1), True)]
    single = parse(message())
    assert [(s.path, s.html) for s in body_parts(single.body)] == [((1,), False)]
    assert parse_path("1.2.3") == (1, 2, 3)
    assert parse_path("0") is None and parse_path("1..2") is None and parse_path("") is None
    assert parse_path(".".join(["1"] * 40)) is None
    assert parse_path("²") is None and parse_path("1.٣") is None


async def test_a_long_html_part_is_sanitised_off_the_loop(app: App, alice: httpx.AsyncClient) -> None:
    long_html = "<p onclick=x()>" + "word " * 30_000 + "</p><script>alert(1)</script>"
    raw = ("From: a@example.net\r\nSubject: long\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           + long_html + "\r\n").encode()
    uid = await deliver(app, ALICE, raw)
    body = await alice.get(f"/webmail/message/body?folder=INBOX&uid={uid}&part=1")
    assert body.status_code == 200 and "<script" not in body.text and "onclick" not in body.text
    assert body.text.count("word") == 30_000


async def test_remote_content_always_for_one_sender(app: App, alice: httpx.AsyncClient) -> None:
    """Issue 13: remote content is blocked until asked, per message and "always for
    this sender"; the sender comes from the message, and it can be forgotten again."""
    uid = await deliver(app, ALICE, rich_message())
    other = await deliver(app, ALICE, rich_message().replace(b"cafe@example.net", b"else@example.org"))
    url = f"/webmail/message?folder=INBOX&uid={uid}"
    html = await page_of(alice, url)
    assert "Always show remote content from cafe@example.net" in html
    allow = await alice.post("/webmail/message/remote-sender", data={
        "csrf": csrf_of(html), "folder": "INBOX", "uid": str(uid), "mode": "allow"})
    assert allow.status_code == 303
    shown = await page_of(alice, url)
    assert "Show remote content" not in shown and "remote=1" in frame_url(shown)
    assert "Remote content from cafe@example.net is always shown." in shown
    # another sender's message is still blocked
    assert "remote=1" not in frame_url(await page_of(alice, f"/webmail/message?folder=INBOX&uid={other}"))
    # a sender named in the form cannot be added, only forgotten (from the settings)
    forged = await alice.post("/webmail/message/remote-sender", data={
        "csrf": csrf_of(html), "sender": "evil@example.com", "mode": "allow"})
    assert forged.status_code == 400
    settings = await page_of(alice, "/webmail/settings")
    assert "cafe@example.net" in settings and "evil@example.com" not in settings
    forget = await alice.post("/webmail/message/remote-sender", data={
        "csrf": csrf_of(settings), "sender": "cafe@example.net", "mode": "forget"})
    assert forget.status_code == 303
    assert "remote=1" not in frame_url(await page_of(alice, url))


def frame_url(html: str) -> str:
    frame = re.search(r'<iframe class="html-body" src="([^"]+)"', html)
    assert frame is not None
    return htmllib.unescape(frame.group(1))
