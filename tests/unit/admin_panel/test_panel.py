"""The admin panel in-process (httpx on the HTTPS app): administrator logins only
(mailbox credentials refused, TOTP when enrolled), CSRF on every change, the
authorisation of the service (nothing of domain B for A's administrator), the
flows of the issue (mailbox with a generated password shown once, forwarding,
vacation), and the traps (text is data, links never from the Host header)."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from postbus.admin import CLI, totp
from postbus.admin.service import generate_password
from postbus.app import App
from postbus.config import from_dict
from postbus.mailauth.resolver import StaticResolver
from postbus.security.throttle import Banned
from postbus.web.server import build_app

BASE = "https://mail.example.test"
PASSWORD = generate_password()
USER_PASSWORD = generate_password()


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = App(from_dict({"data_dir": str(tmp_path / "var"), "hostname": "mail.example.test",
                         "security": {"auth_failure_delay": 0}}))
    await app.open()
    for d in ("a.test", "b.test"):
        await app.admin.add_domain(CLI, d)
    await app.admin.create_mailbox(CLI, "alice@a.test", USER_PASSWORD)
    await app.admin.create_mailbox(CLI, "bob@b.test", USER_PASSWORD)
    await app.admin.add_admin(CLI, "root", PASSWORD, operator=True)
    await app.admin.add_admin(CLI, "web-a", PASSWORD, operator=False, domains=["a.test"])
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(app), client=("203.0.113.5", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        yield c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


async def login(client: httpx.AsyncClient, name: str, password: str,
                code: str = "") -> httpx.Response:
    page = await client.get("/admin/login")
    assert page.status_code == 200
    return await client.post("/admin/login", data={"csrf": csrf_of(page.text), "name": name,
                                                    "password": password, "code": code})


async def post(client: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    page = await client.get("/admin/")
    return await client.post(path, data={"csrf": csrf_of(page.text), **form})


async def test_only_administrator_credentials_log_in(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/")).headers["location"] == "/admin/login"
    for name, password in (("alice@a.test", USER_PASSWORD), ("root", USER_PASSWORD),
                           ("alice", USER_PASSWORD)):
        response = await login(client, name, password)
        assert response.status_code == 401
        assert "__Host-postbus-admin=" not in response.headers.get("set-cookie", "")
    # a webmail session is no panel session
    client.cookies.set("__Host-postbus", "anything", domain="mail.example.test")
    assert (await client.get("/admin/")).status_code == 303
    response = await login(client, "root", PASSWORD)
    assert response.status_code == 303
    assert "__Host-postbus-admin=" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]
    assert "samesite=strict" in response.headers["set-cookie"].lower()
    page = await client.get("/admin/")
    assert page.status_code == 200 and "a.test" in page.text and "b.test" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]


async def test_totp_is_asked_when_enrolled(app: App, client: httpx.AsyncClient) -> None:
    enrolment = await app.admin.enrol_totp(CLI, "root")
    assert (await login(client, "root", PASSWORD)).status_code == 401
    key = base64.b32decode(enrolment.secret)
    code = totp.hotp(key, totp.step_at(app.admin.clock()))
    assert (await login(client, "root", PASSWORD, code)).status_code == 303


async def test_a_domain_administrator_reaches_nothing_of_another_domain(
        app: App, client: httpx.AsyncClient) -> None:
    assert (await login(client, "web-a", PASSWORD)).status_code == 303
    home = await client.get("/admin/")
    assert "a.test" in home.text and "b.test" not in home.text
    assert "Administrators" not in home.text
    assert (await client.get("/admin/domain?name=b.test")).status_code == 404
    assert (await client.get("/admin/mailbox?address=bob@b.test")).status_code == 404
    ghost = await client.get("/admin/mailbox?address=ghost@b.test")
    real = await client.get("/admin/mailbox?address=bob@b.test")
    assert (ghost.status_code, ghost.text.replace("ghost", "bob")) == (real.status_code, real.text)
    for path, form in (("/admin/mailbox/create", {"domain": "b.test", "local_part": "x"}),
                       ("/admin/mailbox/forwarding", {"address": "bob@b.test",
                                                      "targets": "spy@a.test"}),
                       ("/admin/mailbox/vacation", {"address": "bob@b.test", "enabled": "1",
                                                    "subject": "x"}),
                       ("/admin/mailbox/password", {"address": "bob@b.test"}),
                       ("/admin/mailbox/delete", {"address": "bob@b.test",
                                                  "confirm": "bob@b.test"}),
                       ("/admin/alias/add", {"domain": "b.test", "source": "x",
                                             "targets": "spy@a.test"})):
        assert (await post(client, path, **form)).status_code == 404, path
    for path, form in (("/admin/domain/add", {"name": "c.test"}),
                       ("/admin/domain/suspend", {"name": "a.test", "suspended": "1"}),
                       ("/admin/admins/add", {"name": "web-a2", "password": PASSWORD,
                                              "operator": "1"})):
        assert (await post(client, path, **form)).status_code == 403, path
    assert (await client.get("/admin/admins")).status_code == 403
    assert await app.admin.get_forward(CLI, "bob@b.test") is None
    assert await app.admin.get_vacation(CLI, "bob@b.test") is None
    assert await app.accounts.get_user("x@b.test") is None
    assert await app.accounts.get_user("bob@b.test") is not None


async def test_every_change_needs_the_csrf_token(app: App, client: httpx.AsyncClient) -> None:
    await login(client, "root", PASSWORD)
    for form in ({}, {"csrf": "forged"}):
        response = await client.post("/admin/domain/add", data={"name": "c.test", **form})
        assert response.status_code == 403
    page = await client.get("/admin/")
    response = await client.post("/admin/domain/add", headers={"Origin": "https://evil.example"},
                                 data={"csrf": csrf_of(page.text), "name": "c.test"})
    assert response.status_code == 403
    assert await app.accounts.get_domain("c.test") is None
    login_page = await client.get("/admin/login")
    assert (await client.post("/admin/login", data={"csrf": "x", "name": "root",
                                                    "password": PASSWORD})).status_code == 403
    assert login_page.status_code == 303  # already logged in


async def test_mailbox_forwarding_and_vacation_flow(app: App, client: httpx.AsyncClient) -> None:
    await login(client, "web-a", PASSWORD)
    created = await post(client, "/admin/mailbox/create", domain="a.test", local_part="carol",
                         quota_mib="50")
    assert created.status_code == 200
    password = re.search(r'<p class="secret" id="secret">([^<]+)</p>', created.text)
    assert password is not None
    assert await app.accounts.authenticate("carol@a.test", password.group(1)) is not None
    assert (await app.admin.get_mailbox(CLI, "carol@a.test")).quota_bytes == 50 << 20
    assert (await post(client, "/admin/mailbox/forwarding", address="carol@a.test",
                       targets="far@away.test\nnear@a.test", keep_copy="1")).status_code == 303
    rule = await app.admin.get_forward(CLI, "carol@a.test")
    assert rule is not None and rule.targets == ("far@away.test", "near@a.test") and rule.keep_copy
    text = "{{ 7*7 }} <script>alert(1)</script>"
    assert (await post(client, "/admin/mailbox/vacation", address="carol@a.test", enabled="1",
                       subject="Away {{ 7*7 }}", body=text, start="2026-12-24",
                       end="2027-01-02", interval_days="3")).status_code == 303
    vacation = await app.admin.get_vacation(CLI, "carol@a.test")
    assert vacation is not None and (vacation.subject, vacation.body) == ("Away {{ 7*7 }}", text)
    assert vacation.interval_days == 3 and vacation.end is not None
    page = await client.get("/admin/mailbox?address=carol@a.test")
    # never evaluated; not merely "49" absent: the CSRF token and the last login's
    # time can contain those digits
    assert "{{ 7*7 }} &lt;script&gt;" in page.text
    assert "Away 49" not in page.text and "49 &lt;script" not in page.text
    assert 'value="2026-12-24"' in page.text
    assert (await post(client, "/admin/mailbox/update", address="carol@a.test",
                       quota_mib="0")).status_code == 303  # enabled unticked: disabled
    found = await app.admin.get_mailbox(CLI, "carol@a.test")
    assert (found.quota_bytes, found.enabled) == (0, False)
    assert (await post(client, "/admin/mailbox/delete", address="carol@a.test",
                       confirm="wrong")).status_code == 422
    assert (await post(client, "/admin/mailbox/delete", address="carol@a.test",
                       confirm="carol@a.test")).status_code == 303
    assert await app.accounts.get_user("carol@a.test") is None
    audit = await client.get("/admin/audit")
    assert "web-a" in audit.text and "203.0.113.5" in audit.text and "mailbox.delete" in audit.text


async def test_aliases_tokens_and_administrators(app: App, client: httpx.AsyncClient) -> None:
    await login(client, "root", PASSWORD)
    assert (await post(client, "/admin/alias/add", domain="a.test", source="*",
                       targets="alice@a.test")).status_code == 303
    assert [a.source for a in await app.admin.list_aliases(CLI, "a.test")] == ["@a.test"]
    assert "(catch-all)" in (await client.get("/admin/domain?name=a.test")).text
    assert (await post(client, "/admin/alias/remove", source="@a.test")).status_code == 303
    made = await post(client, "/admin/tokens/create", label="ci", current_password=PASSWORD)
    token = re.search(r'id="secret">([^<]+)<', made.text)
    assert token is not None
    actor = await app.admin.actor_for_token(token.group(1), "x")
    assert actor.name == "root"
    listed = await client.get("/admin/tokens")
    assert "ci" in listed.text and token.group(1) not in listed.text
    assert (await post(client, "/admin/admins/add", name="web-b", password=PASSWORD,
                       domains="b.test")).status_code == 303
    assert "web-b" in (await client.get("/admin/admins")).text
    assert (await post(client, "/admin/admins/remove", name="web-b")).status_code == 303
    assert await app.store.get_admin("web-b") is None


async def test_pages_never_use_the_host_header(client: httpx.AsyncClient) -> None:
    await login(client, "root", PASSWORD)
    for path in ("/admin/", "/admin/domain?name=a.test", "/admin/mailbox?address=alice@a.test",
                 "/admin/audit", "/admin/tokens", "/admin/admins"):
        page = await client.get(path, headers={"Host": "evil.example"})
        assert page.status_code == 200 and "evil" not in page.text, path
        location = (await client.post("/admin/logout", headers={"Host": "evil.example"},
                                      data={"csrf": "x"})).headers.get("location", "")
        assert "evil" not in location


async def test_the_panel_speaks_dutch_and_french(client: httpx.AsyncClient) -> None:
    page = await client.get("/admin/login", headers={"Accept-Language": "fr-BE, nl;q=0.5"})
    assert '<html lang="fr">' in page.text and "Connexion administrateur" in page.text
    page = await client.get("/admin/login?lang=nl")
    assert '<html lang="nl">' in page.text and "Aanmelden als beheerder" in page.text
    assert "__Host-postbus-admin-lang=nl" in page.headers["set-cookie"]
    await login(client, "root", PASSWORD)
    home = await client.get("/admin/domain?name=a.test", headers={"Accept-Language": "fr"})
    assert "Mailboxen" in home.text  # the cookie wins over the browser's language
    assert 'href="/admin/domain?name=a.test&amp;lang=fr"' in home.text


async def test_the_dns_page_checks_the_records(app: App, client: httpx.AsyncClient) -> None:
    app.services["resolver"] = StaticResolver(
        {"MX a.test": ["10 mail.example.test"], "TXT a.test": ["v=spf1 a -all"]})
    await login(client, "web-a", PASSWORD)
    page = await client.get("/admin/domain/dns?name=a.test")
    assert page.status_code == 200
    assert "a.test. IN MX 10 mail.example.test." in page.text
    assert page.text.count('class="dns-ok"') == 1 and 'class="dns-wrong"' in page.text
    assert 'class="dns-missing"' in page.text and "_domainkey.a.test." in page.text
    assert (await client.get("/admin/domain/dns?name=b.test")).status_code == 404


async def test_an_administrator_changes_their_password(app: App,
                                                       client: httpx.AsyncClient) -> None:
    await login(client, "web-a", PASSWORD)
    new = generate_password()
    differ = await post(client, "/admin/password", current_password=PASSWORD, password=new,
                        again=new + "x")
    assert differ.status_code == 422 and 'id="own-current"' in differ.text
    assert (await post(client, "/admin/password", current_password=PASSWORD, password=new,
                       again=new)).status_code == 303
    assert (await app.admin.login("web-a", new, None, "x")).name == "web-a"


@pytest.mark.parametrize(("lang", "refusal"), [
    ("en", "Your current password is wrong."),
    ("nl", "Uw huidige wachtwoord is onjuist."),
    ("fr", "Votre mot de passe actuel est incorrect."),
])
async def test_a_wrong_current_password_shows_the_form_again(
        app: App, client: httpx.AsyncClient, lang: str, refusal: str) -> None:
    """A stolen session cookie alone changes neither the password nor makes a
    token: the form comes back with the reason, in the administrator's language,
    and the try is a failed login to the throttle."""
    await login(client, "web-a", PASSWORD)
    before = (await app.store.get_admin("web-a"), await app.store.list_api_tokens("web-a"))
    new = generate_password()
    for path, form in (("/admin/password", {"password": new, "again": new}),
                       ("/admin/tokens/create", {"label": "stolen"})):
        page = await client.get(f"/admin/tokens?lang={lang}")
        refused = await client.post(path, data={"csrf": csrf_of(page.text), **form,
                                                "current_password": "not " + path})
        assert refused.status_code == 403
        assert f'<p class="error" role="alert">{refusal}</p>' in refused.text
        assert 'id="own-current"' in refused.text and 'id="token-current"' in refused.text
    assert (await app.store.get_admin("web-a"), await app.store.list_api_tokens("web-a")) == before
    # two failures counted, from the address and on the account (this call adds a third)
    counted = await app.store.count_events(["src:203.0.113.5", "acct:admin:web-a"], 600,
                                           time.time())
    assert counted == [3, 3]


async def test_guessing_the_current_password_is_banned_as_logins_are(
        app: App, client: httpx.AsyncClient) -> None:
    await login(client, "web-a", PASSWORD)
    ban_after = app.settings.security.ban_after
    for n in range(ban_after - 1):
        refused = await post(client, "/admin/password", current_password=f"guess {n}",
                             password="x", again="x")
        assert refused.status_code == 403
    banned = await post(client, "/admin/tokens/create", current_password="last guess")
    assert banned.status_code == 429
    assert "Too many failed logins from your address; try again later." in banned.text
    # now even the right password changes nothing from this address, nor logs in
    assert (await post(client, "/admin/tokens/create",
                       current_password=PASSWORD)).status_code == 429
    assert await app.store.list_api_tokens("web-a") == []
    with pytest.raises(Banned):
        await app.admin.login("web-a", PASSWORD, None, "203.0.113.5")


async def test_the_last_login_is_shown(app: App, client: httpx.AsyncClient) -> None:
    await login(client, "web-a", PASSWORD)
    page = await client.get("/admin/mailbox?address=alice@a.test&lang=nl")
    assert "Laatst ingelogd: nooit" in page.text
    listing = await client.get("/admin/domain?name=a.test")
    assert "<th>Laatst ingelogd</th>" in listing.text and "<td>nooit</td>" in listing.text
    alice = await app.store.get_account("alice@a.test")
    assert alice is not None
    await app.store.record_login(alice.id, 1_800_000_000.0)
    page = await client.get("/admin/mailbox?address=alice@a.test&lang=en")
    assert "Last login: 2027-01-15 08:00 UTC" in page.text
    listing = await client.get("/admin/domain?name=a.test")
    assert "<td>2027-01-15 08:00 UTC</td>" in listing.text
