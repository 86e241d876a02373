"""Automatic client set-up through the https app (the real Starlette app of
`build_app`, called as ASGI): Mozilla autoconfig against the ISPDB format,
Outlook autodiscover, the Apple profile and the help page in three languages.
Host names and ports come from the configuration, whatever the request says."""

from __future__ import annotations

import plistlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from postbus.app import App
from postbus.config import from_dict
from postbus.web.autoconfig.catalogue import negotiate
from postbus.web.server import build_app, build_redirect

FIXTURE = Path(__file__).parent / "fixtures" / "ispdb_freenet.de.xml"
HOSTNAME = "mail.example.test"
ADDRESS = "anna@example.test"
AD_REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
AD_NS = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"
AD_OUTLOOK = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
# Headers that try to make us name another host (CVE-2025-25198 style).
TRICKS = [("host", "evil.test"), ("x-forwarded-host", "evil.test"), ("forwarded", "host=evil.test")]


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode()


async def call(asgi: Any, method: str, path: str, query: str = "",
               headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> Reply:
    """One HTTP request through the ASGI app, as uvicorn would make it."""
    given = dict(headers)
    given.setdefault("host", HOSTNAME)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "root_path": "", "headers": [(k.encode(), v.encode()) for k, v in given.items()],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 443),
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asgi(scope, receive, send)
    start = sent[0]
    head = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return Reply(start["status"], head, b"".join(m.get("body", b"") for m in sent[1:]))


async def _app(tmp_path: Path, listen: dict[str, str] | None = None) -> App:
    settings = from_dict({"hostname": HOSTNAME, "data_dir": str(tmp_path),
                          "listen": listen or {}, "limits": {"max_message_size": "12MB"}})
    app = App(settings)
    await app.open()
    await app.store.add_domain("example.test")
    return app


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Any]:
    app = await _app(tmp_path)
    yield build_app(app)
    await app.close()


def structure(element: ET.Element, path: str = "") -> set[tuple[str, tuple[str, ...]]]:
    """Every element path with its attribute names."""
    here = f"{path}/{element.tag}"
    found = {(here, tuple(sorted(element.attrib)))}
    for child in element:
        found |= structure(child, here)
    return found


def servers(root: ET.Element, kind: str) -> list[dict[str, str]]:
    return [{"type": s.get("type", ""), **{c.tag: c.text or "" for c in s}}
            for s in root.iter(kind)]


async def test_mozilla_autoconfig_has_the_ispdb_structure(web: Any) -> None:
    reply = await call(web, "GET", "/.well-known/autoconfig/mail/config-v1.1.xml",
                       f"emailaddress={ADDRESS}")
    assert reply.status == 200 and reply.headers["content-type"].startswith("application/xml")
    ours = ET.fromstring(reply.body)
    reference = ET.fromstring(FIXTURE.read_bytes())
    assert structure(ours) == structure(reference)  # the same elements and attributes, no more
    assert ours.tag == "clientConfig" and ours.get("version") == "1.1"
    provider = ours.find("emailProvider")
    assert provider is not None and provider.get("id") == "example.test"
    assert provider.findtext("domain") == "example.test"
    incoming = servers(ours, "incomingServer")
    assert [(s["type"], s["hostname"], s["port"], s["socketType"]) for s in incoming] == [
        ("imap", HOSTNAME, "993", "SSL"), ("imap", HOSTNAME, "143", "STARTTLS"),
        ("pop3", HOSTNAME, "995", "SSL"), ("pop3", HOSTNAME, "110", "STARTTLS")]
    outgoing = servers(ours, "outgoingServer")
    assert [(s["type"], s["hostname"], s["port"], s["socketType"]) for s in outgoing] == [
        ("smtp", HOSTNAME, "465", "SSL"), ("smtp", HOSTNAME, "587", "STARTTLS")]
    for server in incoming + outgoing:
        assert server["username"] == "%EMAILADDRESS%"
        assert server["authentication"] == "password-cleartext"
    # the other path Thunderbird tries gives the same document
    again = await call(web, "GET", "/mail/config-v1.1.xml", f"emailaddress={ADDRESS}")
    assert again.body == reply.body


async def test_host_header_tricks_change_no_host_name(web: Any) -> None:
    plain = await call(web, "GET", "/mail/config-v1.1.xml", f"emailaddress={ADDRESS}")
    tricked = await call(web, "GET", "/mail/config-v1.1.xml", f"emailaddress={ADDRESS}", TRICKS)
    assert tricked.status == 200 and tricked.body == plain.body
    assert b"evil" not in tricked.body
    for path in ("/help", "/help/example.test"):
        page = await call(web, "GET", path, headers=TRICKS)
        assert page.status == 200 and "evil" not in page.text and HOSTNAME in page.text
    ad = await call(web, "GET", "/autodiscover/autodiscover.xml", f"emailaddress={ADDRESS}", TRICKS)
    assert ad.status == 200 and b"evil" not in ad.body
    profile = await call(web, "GET", "/autoconfig/apple.mobileconfig", f"emailaddress={ADDRESS}", TRICKS)
    assert profile.status == 200 and b"evil" not in profile.body


async def test_only_hosted_domains_get_an_answer(web: Any) -> None:
    for query in ("emailaddress=x@other.test", "emailaddress=not-an-address", "emailaddress=",
                  "emailaddress=" + "a" * 5000 + "@example.test", ""):
        assert (await call(web, "GET", "/mail/config-v1.1.xml", query)).status == 404, query
        assert (await call(web, "GET", "/autoconfig/apple.mobileconfig", query)).status == 404
        assert (await call(web, "GET", "/autodiscover/autodiscover.xml", query)).status == 404
    assert (await call(web, "GET", "/help/other.test")).status == 404
    assert (await call(web, "GET", "/help/%3Cscript%3E")).status == 404
    # without ?emailaddress=, the autoconfig.DOMAIN host selects a hosted domain only
    by_host = await call(web, "GET", "/mail/config-v1.1.xml", headers=[("host", "autoconfig.example.test")])
    assert by_host.status == 200 and HOSTNAME.encode() in by_host.body
    assert (await call(web, "GET", "/mail/config-v1.1.xml",
                       headers=[("host", "autoconfig.other.test")])).status == 404


async def test_ports_and_protocols_follow_the_listeners(tmp_path: Path) -> None:
    app = await _app(tmp_path, {"imaps": "0.0.0.0:10993", "imap": "", "pop3s": "", "pop3": "",
                                "submissions": "", "submission": "[::]:2525", "https": ":8443"})
    try:
        web = build_app(app)
        root = ET.fromstring((await call(web, "GET", "/mail/config-v1.1.xml",
                                         f"emailaddress={ADDRESS}")).body)
        assert [(s["type"], s["port"], s["socketType"]) for s in servers(root, "incomingServer")] == [
            ("imap", "10993", "SSL")]
        assert [(s["type"], s["port"], s["socketType"]) for s in servers(root, "outgoingServer")] == [
            ("smtp", "2525", "STARTTLS")]
        page = (await call(web, "GET", "/help/example.test")).text
        assert "10993" in page and "2525" in page and "POP3 (" not in page.split("<h2>")[2]
        assert f"https://{HOSTNAME}:8443/webmail/" in page
    finally:
        await app.close()


def _ad_request(address: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="{AD_REQUEST_NS}"><Request>'
            f"<EMailAddress>{address}</EMailAddress><AcceptableResponseSchema>"
            "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
            "</AcceptableResponseSchema></Request></Autodiscover>").encode()


async def test_outlook_autodiscover(web: Any) -> None:
    for path in ("/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"):
        reply = await call(web, "POST", path, body=_ad_request("Anna@Example.test"),
                           headers=[("content-type", "text/xml")])
        assert reply.status == 200, path
        root = ET.fromstring(reply.body)
        assert root.tag == f"{AD_NS}Autodiscover"
        account = root.find(f"{AD_OUTLOOK}Response/{AD_OUTLOOK}Account")
        assert account is not None
        assert account.findtext(f"{AD_OUTLOOK}AccountType") == "email"
        assert account.findtext(f"{AD_OUTLOOK}Action") == "settings"
        protocols = {p.findtext(f"{AD_OUTLOOK}Type"): p for p in account.findall(f"{AD_OUTLOOK}Protocol")}
        assert set(protocols) == {"IMAP", "POP3", "SMTP"}
        expected = {"IMAP": "993", "POP3": "995", "SMTP": "465"}
        for kind, element in protocols.items():
            assert element.findtext(f"{AD_OUTLOOK}Server") == HOSTNAME
            assert element.findtext(f"{AD_OUTLOOK}Port") == expected[kind]
            assert element.findtext(f"{AD_OUTLOOK}SSL") == "on"
            assert element.findtext(f"{AD_OUTLOOK}Encryption") == "SSL"
            assert element.findtext(f"{AD_OUTLOOK}LoginName") == ADDRESS
            assert element.findtext(f"{AD_OUTLOOK}SPA") == "off"


async def test_autodiscover_refuses_bad_requests(web: Any) -> None:
    path = "/autodiscover/autodiscover.xml"
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>')
    assert (await call(web, "POST", path, body=bomb)).status == 400
    assert (await call(web, "POST", path, body=b"<not xml")).status == 400
    assert (await call(web, "POST", path, body=b"<Autodiscover/>")).status == 400
    assert (await call(web, "POST", path, body=b"<a>" + b" " * 20000 + b"</a>")).status == 413
    assert (await call(web, "POST", path, body=_ad_request("x@other.test"))).status == 404


async def test_apple_profile(web: Any) -> None:
    reply = await call(web, "GET", "/autoconfig/apple.mobileconfig", f"emailaddress={ADDRESS}")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/x-apple-aspen-config"
    assert reply.headers["content-disposition"] == 'attachment; filename="example.test.mobileconfig"'
    profile = plistlib.loads(reply.body)
    assert profile["PayloadType"] == "Configuration" and profile["PayloadVersion"] == 1
    [mail] = profile["PayloadContent"]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAccountType"] == "EmailTypeIMAP"
    assert (mail["IncomingMailServerHostName"], mail["IncomingMailServerPortNumber"],
            mail["IncomingMailServerUseSSL"]) == (HOSTNAME, 993, True)
    assert (mail["OutgoingMailServerHostName"], mail["OutgoingMailServerPortNumber"],
            mail["OutgoingMailServerUseSSL"]) == (HOSTNAME, 465, True)
    assert mail["IncomingMailServerUsername"] == mail["EmailAddress"] == ADDRESS
    assert mail["PayloadUUID"] != profile["PayloadUUID"]
    again = await call(web, "GET", "/autoconfig/apple.mobileconfig", f"emailaddress={ADDRESS}")
    assert again.body == reply.body  # stable identifiers: installing twice replaces


@pytest.mark.parametrize(("accept", "lang", "words"), [
    ("", "en", ["Mail settings for example.test", "IMAP or POP3?", "12\u00a0MiB", "1\u00a0GiB"]),
    ("nl-NL,nl;q=0.9,en;q=0.5", "nl", ["E-mailinstellingen voor example.test", "IMAP of POP3?",
                                       "Poort", "12\u00a0MiB"]),
    ("de;q=1, fr-BE;q=0.8", "fr", ["Paramètres de messagerie pour example.test", "IMAP ou POP3 ?",
                                   "12\u00a0Mio"]),
    ("en;q=0.1, nl;q=0.4", "nl", ["E-mailinstellingen"]),
])
async def test_help_page_languages(web: Any, accept: str, lang: str, words: list[str]) -> None:
    page = await call(web, "GET", "/help/example.test", headers=[("accept-language", accept)])
    assert page.status == 200 and page.headers["content-language"] == lang
    assert f'<html lang="{lang}">' in page.text
    for word in words:
        assert word in page.text, word
    for port in ("993", "143", "995", "110", "465", "587"):
        assert f"<code>{port}</code>" in page.text
    assert f"<code>{HOSTNAME}</code>" in page.text and "STARTTLS" in page.text
    assert f"https://{HOSTNAME}/webmail/" in page.text


async def test_help_page_lang_override_and_generic_page(web: Any) -> None:
    page = await call(web, "GET", "/help/example.test", "lang=fr", [("accept-language", "nl")])
    assert page.headers["content-language"] == "fr"
    generic = await call(web, "GET", "/help", "lang=<script>")
    assert generic.status == 200 and "<script>" not in generic.text and "Mail settings" in generic.text


def test_accept_language_negotiation() -> None:
    assert negotiate("") == "en"
    assert negotiate("fr") == "fr"
    assert negotiate("da, nl;q=0.2, fr;q=0.3") == "fr"
    assert negotiate("nl;q=0") == "en"  # q=0: not acceptable
    assert negotiate("nl;q=abc") == "en"
    assert negotiate("x" * 100_000) == "en"
    assert negotiate(",".join(["da"] * 1000) + ",nl") == "en"  # only the first ranges count
    assert negotiate("nl", "fr") == "fr" and negotiate("nl", "xx") == "nl"


async def test_plain_http_serves_autoconfig_and_redirects_the_rest(tmp_path: Path) -> None:
    app = await _app(tmp_path)
    try:
        http, https = build_redirect(app), build_app(app)
        query = f"emailaddress={ADDRESS}"
        plain = await call(http, "GET", "/mail/config-v1.1.xml", query,
                           [("host", "autoconfig.example.test")])
        assert plain.status == 200
        assert plain.body == (await call(https, "GET", "/mail/config-v1.1.xml", query)).body
        for path in ("/help", "/autodiscover/autodiscover.xml", "/autoconfig/apple.mobileconfig"):
            assert (await call(http, "GET", path, query)).status == 301
    finally:
        await app.close()


async def test_no_input_makes_a_server_error(tmp_path: Path) -> None:
    """Random addresses, languages and autodiscover bodies: 200, 400, 404 or 413
    (307: Starlette's slash redirect of "/help/"), never a 5xx or an exception.
    Hypothesis drives a synchronous function, so it runs in a thread and sends
    each request to this test's event loop."""
    import asyncio
    import threading
    from urllib.parse import quote

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    app = await _app(tmp_path / "fuzz")
    web = build_app(app)
    loop = asyncio.get_running_loop()
    results: list[int] = []

    async def one(address: str, lang: str, body: bytes) -> None:
        query = "emailaddress=" + quote(address, safe="")
        language = lang.encode("utf-8", "replace").decode("latin-1")
        for method, path, payload in (("GET", "/mail/config-v1.1.xml", b""),
                                      ("GET", "/autoconfig/apple.mobileconfig", b""),
                                      ("POST", "/autodiscover/autodiscover.xml", body),
                                      ("GET", "/help/" + quote(address, safe=""), b"")):
            reply = await call(web, method, path, query, [("accept-language", language)], payload)
            results.append(reply.status)
            assert reply.status in (200, 307, 400, 404, 413), (path, reply.status)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(address=st.text(max_size=80) | st.emails().map(lambda a: "x" + a),
           lang=st.text(max_size=40),
           body=st.binary(max_size=300) | st.text(max_size=300).map(_ad_request))
    def check(address: str, lang: str, body: bytes) -> None:
        asyncio.run_coroutine_threadsafe(one(address, lang, body), loop).result(30)

    errors: list[BaseException] = []

    def run() -> None:
        try:
            check()
        except BaseException as exc:  # handed to the test below
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        while worker.is_alive():
            await asyncio.sleep(0.01)
        worker.join()
        if errors:
            raise errors[0]
        assert 404 in results
    finally:
        await app.close()
