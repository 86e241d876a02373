"""Client set-up through a real `postbus serve`: Thunderbird's request over
https and over plain http, and Outlook's autodiscover POST, with a Host header
that names another server; the answers name our `hostname` only."""

from __future__ import annotations

import http.client
import ssl
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support.mailstore import DOMAIN, mail_config
from tests.support.server import running_server

HOSTNAME = "mail.example.test"


def _get(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
         ) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers={"Host": "evil.test",
                                                   "X-Forwarded-Host": "evil.test"})
    response = conn.getresponse()
    return response.status, response.read()


def test_autoconfig_over_the_real_listeners(tmp_path: Path) -> None:
    config = mail_config(tmp_path, {"listen": {"http": "127.0.0.1:0"}}, hostname=HOSTNAME)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with running_server(config) as server:
        https = http.client.HTTPSConnection("127.0.0.1", server.port("https"), context=context,
                                            timeout=30)
        plain = http.client.HTTPConnection("127.0.0.1", server.port("http"), timeout=30)
        try:
            _exchanges(https, plain)
        finally:
            https.close()
            plain.close()


def _exchanges(https: http.client.HTTPConnection, plain: http.client.HTTPConnection) -> None:
    path = f"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=anna@{DOMAIN}"
    status, body = _get(https, "GET", path)
    assert status == 200
    root = ET.fromstring(body)
    assert {e.text for e in root.iter("hostname")} == {HOSTNAME}
    assert _get(plain, "GET", path) == (200, body)
    request = (f"<Autodiscover><Request><EMailAddress>anna@{DOMAIN}</EMailAddress>"
               "</Request></Autodiscover>").encode()
    status, answer = _get(https, "POST", "/autodiscover/autodiscover.xml", request)
    assert status == 200 and HOSTNAME.encode() in answer and b"evil" not in answer
    status, page = _get(https, "GET", f"/help/{DOMAIN}")
    assert status == 200 and HOSTNAME.encode() in page and b"evil" not in page
    assert _get(https, "GET", "/help/elsewhere.test")[0] == 404
