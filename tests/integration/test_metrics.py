"""/metrics (issue 16 item 4): an operator's token on HTTPS, the loopback
listener without one, text that Prometheus's own parser reads, and counters
that move with real IMAP, POP3 and SMTP traffic."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.mail import create_mailboxes_sync
from tests.support.server import ServerProcess, postbus, running_server, write_config
from tests.support.tools import trusting_tls

USER, PASSWORD = "metrics@example.test", "Tq7#mZ2v!pLx"
ADMIN_PASSWORD = "Zr8!kQ2w#Lm5"



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str, str]]:
    directory = tmp_path_factory.mktemp("metrics")
    config = write_config(directory, {"listen": {"metrics": "127.0.0.1:0"}})
    create_mailboxes_sync(config, [USER], PASSWORD)
    postbus(config, "admin", "add", "ops", "--operator", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    postbus(config, "admin", "add", "webmaster", "--domain", "example.test", "--password-stdin",
            stdin=ADMIN_PASSWORD + "\n")
    operator = postbus(config, "admin", "token", "ops").stdout.splitlines()[-1]
    domain_admin = postbus(config, "admin", "token", "webmaster").stdout.splitlines()[-1]
    with running_server(config) as srv:
        yield srv, operator, domain_admin


def https_get(srv: ServerProcess, token: str | None) -> tuple[int, str]:
    request = urllib.request.Request(f"https://127.0.0.1:{srv.port('https')}/metrics")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=trusting_tls(), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(srv: ServerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{srv.port('metrics')}/metrics", timeout=30) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(values: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def test_https_needs_an_operators_token(server: tuple[ServerProcess, str, str]) -> None:
    srv, operator, domain_admin = server
    assert https_get(srv, None)[0] == 401
    assert https_get(srv, "pb_not-a-token")[0] == 401
    assert https_get(srv, domain_admin)[0] == 403
    status, text = https_get(srv, operator)
    assert status == 200
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"postbus_queue_length", "postbus_certificate_days_left"} <= names


def test_counters_move_with_traffic(server: tuple[ServerProcess, str, str]) -> None:
    srv, _, _ = server
    before = scrape(srv)
    with imaplib.IMAP4_SSL("127.0.0.1", srv.port("imaps"), ssl_context=trusting_tls()) as imap:
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(USER, "wrong-password-1")
    with imaplib.IMAP4_SSL("127.0.0.1", srv.port("imaps"), ssl_context=trusting_tls()) as imap:
        imap.login(USER, PASSWORD)
        imap.select("INBOX")
        imap.noop()
        imap.logout()
    with smtplib.SMTP("127.0.0.1", srv.port("smtp"), timeout=30) as mx:
        mx.sendmail("someone@remote.test", [USER],
                    b"From: someone@remote.test\r\nTo: " + USER.encode()
                    + b"\r\nSubject: metrics\r\n\r\nhello\r\n")
    pop = poplib.POP3_SSL("127.0.0.1", srv.port("pop3s"), context=trusting_tls(), timeout=30)
    pop.user(USER)
    pop.pass_(PASSWORD)
    pop.stat()
    pop.quit()
    after = scrape(srv)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("postbus_connections_total", proto="imap", listener="imaps") == 2
    assert moved("postbus_connections_total", proto="smtp", listener="smtp") == 1
    assert moved("postbus_connections_total", proto="pop3", listener="pop3s") == 1
    assert moved("postbus_logins_total", proto="imap", result="failed") == 1
    assert moved("postbus_logins_total", proto="imap", result="ok") == 1
    assert moved("postbus_logins_total", proto="pop3", result="ok") == 1
    assert moved("postbus_messages_total", event="accepted") == 1
    assert moved("postbus_messages_total", event="delivered") == 1
    # LOGIN, SELECT, NOOP, LOGOUT and the failed LOGIN, at least (imaplib adds CAPABILITY)
    assert moved("postbus_command_seconds_count", proto="imap") >= 5
    assert moved("postbus_command_seconds_count", proto="smtp") >= 4  # EHLO MAIL RCPT DATA
    assert moved("postbus_command_seconds_count", proto="pop3") >= 3
    assert moved("postbus_store_transaction_seconds_count", backend=_backend(srv)) >= 1
    assert value(after, "postbus_queue_length") == 0
    assert 360 < value(after, "postbus_certificate_days_left") <= 365


def _backend(srv: ServerProcess) -> str:
    return "postgresql" if "postgresql" in srv.config.read_text() else "sqlite"


def test_the_metrics_listener_must_be_loopback(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"listen": {"metrics": "0.0.0.0:0"}})
    result = postbus(config, "config", check=False)
    assert result.returncode == 2 and "loopback" in result.stderr
