"""/me changes of one's own credentials carry the current password: without it
422, with a wrong one 403 (a JSON error, nothing changed, a failed login to the
login throttle), and once the address is banned 429 with Retry-After, even
with the right one. Listing and revoking tokens ask nothing more."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from postbus.admin import CLI
from postbus.admin.service import generate_password
from postbus.app import App
from postbus.config import from_dict
from postbus.web.server import build_app

BASE = "https://mail.example.test/api/v1"
PASSWORD = generate_password()
BAN_AFTER = 3


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = App(from_dict({"data_dir": str(tmp_path / "var"), "hostname": "mail.example.test",
                         "security": {"auth_failure_delay": 0, "ban_after": BAN_AFTER}}))
    await app.open()
    await app.admin.add_domain(CLI, "a.test")
    await app.admin.add_admin(CLI, "web-a", PASSWORD, operator=False, domains=["a.test"])
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    token = (await app.admin.create_token(CLI, "web-a")).secret
    transport = httpx.ASGITransport(app=build_app(app), client=("203.0.113.5", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE,
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


# (method, path, body without the current password, status on success)
CHANGES = [
    ("PUT", "/me/password", {"password": generate_password()}, 204),
    ("POST", "/me/tokens", {"label": "ci"}, 201),
    ("POST", "/me/totp", {}, 201),
    ("DELETE", "/me/totp", {}, 204),
]


async def credentials(app: App) -> tuple[Any, ...]:
    return (await app.store.get_admin("web-a"), await app.store.get_totp_secret("web-a"),
            await app.store.list_api_tokens("web-a"))


@pytest.mark.parametrize(("method", "path", "body", "success"), CHANGES,
                         ids=[f"{m} {p}" for m, p, _, _ in CHANGES])
async def test_a_change_needs_the_right_current_password(
        app: App, client: httpx.AsyncClient, method: str, path: str, body: dict[str, str],
        success: int) -> None:
    await app.store.set_totp_secret("web-a", "A" * 32)
    before = await credentials(app)
    missing = await client.request(method, path, json=body)
    assert missing.status_code == 422 and "current_password" in missing.json()["error"]
    wrong = await client.request(method, path, json={**body, "current_password": "not it"})
    assert wrong.status_code == 403
    assert wrong.json() == {"error": "the current password is wrong"}
    assert await credentials(app) == before
    # counted as a failed administrator login from the client's address
    assert await app.store.count_events(["src:203.0.113.5", "acct:admin:web-a"], 600,
                                        time.time()) == [2, 2]  # this call adds one
    done = await client.request(method, path, json={**body, "current_password": PASSWORD})
    assert done.status_code == success, done.text
    assert await credentials(app) != before


async def test_guessing_is_banned_as_logins_are(app: App, client: httpx.AsyncClient) -> None:
    for n in range(BAN_AFTER - 1):
        r = await client.put("/me/password", json={"current_password": f"guess {n}",
                                                   "password": generate_password()})
        assert r.status_code == 403
    last = await client.post("/me/tokens", json={"current_password": "last guess"})
    assert last.status_code == 429 and set(last.json()) == {"error"}
    assert int(last.headers["retry-after"]) >= 1
    before = await credentials(app)
    for method, path, body, _ in CHANGES:
        r = await client.request(method, path, json={**body, "current_password": PASSWORD})
        assert r.status_code == 429, (method, path)
    assert await credentials(app) == before
    # reading and revoking need no password and are not throttled
    assert (await client.get("/me/tokens")).status_code == 200


async def test_listing_and_revoking_ask_no_password(app: App, client: httpx.AsyncClient) -> None:
    spare = await app.admin.create_token(CLI, "web-a", "spare")
    assert (await client.get("/me/tokens")).status_code == 200
    assert (await client.delete(f"/me/tokens/{spare.token.id}")).status_code == 204
