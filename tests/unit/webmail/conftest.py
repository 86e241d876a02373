"""An in-process App with a mailbox user, and an httpx client on its HTTPS app
(same event loop, no sockets: `httpx.ASGITransport`)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from postbus.app import App
from postbus.config import from_dict
from postbus.mailbox.service import NewMessage
from postbus.web.server import build_app

PASSWORD = "Tq7#mZ2v!pLx"
ALICE = "alice@example.test"
BOB = "bob@example.test"
BASE = "https://mail.example.test"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    """With POSTBUS_TEST_STORAGE=postgresql, on a PostgreSQL database of its own."""
    config: dict[str, object] = {
        "data_dir": str(tmp_path / "var"), "hostname": "mail.example.test",
        "security": {"auth_failure_delay": 0}, "webmail": {"page_size": 10}}
    database = None
    if os.environ.get("POSTBUS_TEST_STORAGE") == "postgresql":
        from tests.support.pg import create_database, require_postgres

        require_postgres()
        database = create_database()
        config["storage"] = {"backend": "postgresql", "url": database}
    app = App(from_dict(config))
    await app.open()
    await app.accounts.add_domain("example.test")
    await app.accounts.add_user(ALICE, PASSWORD)
    await app.accounts.add_user(BOB, PASSWORD)
    try:
        yield app
    finally:
        await app.close()
        if database is not None:
            from tests.support.pg import drop_database

            drop_database(database)


def client_for(app: App) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(app), client=("203.0.113.5", 50000))
    return httpx.AsyncClient(transport=transport, base_url=BASE, follow_redirects=False)


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


async def login(client: httpx.AsyncClient, user: str = ALICE, password: str = PASSWORD,
                **extra: str) -> httpx.Response:
    page = await client.get("/webmail/login")
    assert page.status_code == 200
    form = {"csrf": csrf_of(page.text), "username": user, "password": password, **extra}
    return await client.post("/webmail/login", data=form)


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> httpx.AsyncClient:
    response = await login(client)
    assert response.status_code == 303, response.text
    return client


async def deliver(app: App, user: str, raw: bytes, folder: str = "INBOX",
                  flags: tuple[str, ...] = ()) -> int:
    account = await app.accounts.get_user(user)
    assert account is not None
    mailbox = await app.mailboxes.get(account.id, folder)
    appended = await app.mailboxes.append(mailbox, [NewMessage(raw, flags)])
    return appended[0].uid


def message(subject: str = "Hello", sender: str = "Carol <carol@example.net>",
            body: str = "Hi Alice,\nhow are you?\n", to: str = ALICE,
            date: str = "Thu, 03 Dec 2026 10:00:00 +0000") -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: <{abs(hash((subject, body)))}@example.net>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body.replace(chr(10), chr(13) + chr(10))}"
            ).encode()


async def page_of(client: httpx.AsyncClient, url: str) -> str:
    response = await client.get(url)
    assert response.status_code == 200, (response.status_code, response.text[:500])
    return response.text
