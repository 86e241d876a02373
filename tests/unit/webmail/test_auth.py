"""Login, logout, the session cookie, CSRF and the store-kept sessions."""

from __future__ import annotations

import hashlib
import logging
import re

import httpx
import pytest

from postbus.app import App
from tests.unit.webmail.conftest import ALICE, PASSWORD, client_for, csrf_of, login


def session_cookie(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("__Host-postbus="):
            return header
    raise AssertionError("no session cookie set")


async def test_login_sets_a_host_only_strict_cookie(app: App, client: httpx.AsyncClient) -> None:
    response = await login(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/webmail/"
    cookie = session_cookie(response)
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= attributes
    assert not any(a.startswith("domain") for a in attributes)
    # Only the hash of the id is stored.
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert await app.store.get_web_session(session_id) is None
    stored = await app.store.get_web_session(hashlib.sha256(session_id.encode()).hexdigest())
    assert stored is not None and stored.account_id == (await app.accounts.get_user(ALICE)).id  # type: ignore[union-attr]
    inbox = await client.get("/webmail/", follow_redirects=True)
    assert inbox.status_code == 200 and ALICE in inbox.text


async def test_a_wrong_password_is_refused_and_logged(
        app: App, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "postbus")
    response = await login(client, password="wrong password")
    assert response.status_code == 401
    assert "The user name or password is wrong." in response.text
    assert not any(h.startswith("__Host-postbus=") for h in response.headers.get_list("set-cookie"))
    lines = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert lines == ["proto=webmail listener=https ip=203.0.113.5 port=50000 login failed"
                     " user=alice@example.test method=webmail"]
    unknown = await login(client, user="nobody@example.test")
    assert unknown.status_code == 401
    assert "wrong password" not in caplog.text


async def test_the_login_form_needs_its_token(client: httpx.AsyncClient) -> None:
    await client.get("/webmail/login")
    response = await client.post("/webmail/login", data={
        "csrf": "forged", "username": ALICE, "password": PASSWORD})
    assert response.status_code == 403
    other = await client.post("/webmail/login", headers={"origin": "https://evil.example"},
                              data={"username": ALICE, "password": PASSWORD})
    assert other.status_code == 403


async def test_pages_need_a_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/webmail/mail?folder=INBOX")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/webmail/login?next=")
    post = await client.post("/webmail/mail/messages", data={"op": "read"})
    assert post.status_code == 401


async def test_every_action_needs_the_csrf_token(alice: httpx.AsyncClient) -> None:
    page = await alice.get("/webmail/mail?folder=INBOX")
    token = csrf_of(page.text)
    for path in ("/webmail/logout", "/webmail/mail/messages", "/webmail/mail/empty",
                 "/webmail/folders/create", "/webmail/folders/rename",
                 "/webmail/folders/delete", "/webmail/language"):
        missing = await alice.post(path, data={"folder": "INBOX"})
        assert missing.status_code == 403, path
        wrong = await alice.post(path, data={"csrf": token[:-1] + "x", "folder": "INBOX"})
        assert wrong.status_code == 403, path
        other_site = await alice.post(path, data={"csrf": token},
                                      headers={"origin": "https://evil.example"})
        assert other_site.status_code == 403, path
    still = await alice.get("/webmail/mail?folder=INBOX")
    assert still.status_code == 200


async def test_logout_ends_the_session_in_the_store(app: App, alice: httpx.AsyncClient) -> None:
    page = await alice.get("/webmail/mail?folder=INBOX")
    session_id = alice.cookies["__Host-postbus"]
    response = await alice.post("/webmail/logout", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    assert await app.store.get_web_session(hashlib.sha256(session_id.encode()).hexdigest()) is None
    # The old cookie, replayed, opens nothing.
    async with client_for(app) as replay:
        replay.cookies.set("__Host-postbus", session_id)
        assert (await replay.get("/webmail/mail")).status_code == 303


async def test_idle_sessions_end(app: App, client: httpx.AsyncClient) -> None:
    now = [1_000_000.0]
    app.web_sessions.clock = lambda: now[0]
    alice = client
    assert (await login(alice)).status_code == 303
    assert (await alice.get("/webmail/mail")).status_code == 200
    now[0] += app.web_sessions.idle_timeout - 1
    assert (await alice.get("/webmail/mail")).status_code == 200  # and last_seen moves on
    now[0] += app.web_sessions.idle_timeout - 1
    assert (await alice.get("/webmail/mail")).status_code == 200
    now[0] += app.web_sessions.idle_timeout + 1
    assert (await alice.get("/webmail/mail")).status_code == 303
    # A session abandoned without a logout is removed at the next login of anyone.
    abandoned = alice.cookies["__Host-postbus"]
    assert (await login(alice)).status_code == 303
    async with client_for(app) as bob:
        now[0] += app.web_sessions.idle_timeout + 1
        assert (await login(bob, user="bob@example.test")).status_code == 303
    key = hashlib.sha256(alice.cookies["__Host-postbus"].encode()).hexdigest()
    assert await app.store.get_web_session(key) is None
    assert abandoned != alice.cookies["__Host-postbus"]


async def test_sessions_outlive_the_process(app: App, alice: httpx.AsyncClient) -> None:
    """Another App on the same store (a restart, another worker) knows the session."""
    session_id = alice.cookies["__Host-postbus"]
    other = App(app.settings, store=app.store)
    async with client_for(other) as second:
        second.cookies.set("__Host-postbus", session_id)
        assert (await second.get("/webmail/mail")).status_code == 200
    other.accounts.close()
    other.executor.shutdown()


async def test_a_disabled_account_loses_its_sessions(app: App, alice: httpx.AsyncClient) -> None:
    await app.accounts.set_enabled(ALICE, False)
    assert (await alice.get("/webmail/mail")).status_code == 303
    assert (await login(alice)).status_code == 401


async def test_no_open_redirect(client: httpx.AsyncClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/webmail/../admin", "/elsewhere",
                   "/webmail/%2e%2e/admin", "/webmail/\\evil.example"):
        client.cookies.clear()
        response = await login(client, next=target)
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("/webmail/") and "evil" not in location, target


async def test_pages_have_a_strict_csp_and_no_inline_script(alice: httpx.AsyncClient) -> None:
    for path in ("/webmail/login", "/webmail/mail?folder=INBOX", "/webmail/folders"):
        response = await alice.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert not re.search(r"\sstyle\s*=", html), path
        assert "http://" not in html and "https://" not in html, path  # nothing from another host
