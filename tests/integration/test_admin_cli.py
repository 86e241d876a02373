"""CLI parity (issue 14 item 8): every operation of the administration service is
a `postbus` command, through the same service and into the same audit log; and
on a running server, administrator credentials open no mailbox protocol
(IMAP, POP3, SMTP AUTH) while the CLI's API token opens the API."""

from __future__ import annotations

import base64
import imaplib
import poplib
import smtplib
import ssl
from pathlib import Path

import click
import httpx
import pytest

from postbus.admin.permissions import OPERATIONS
from postbus.cli import main
from tests.support.server import postbus, running_server, write_config

ADMIN_PASSWORD = "Hv4$nP9x@Tc2-admin"

#: each service operation and the command that does it
PARITY = {
    "domain.list": "domain list", "domain.read": "domain dns", "domain.add": "domain add",
    "domain.remove": "domain remove", "domain.suspend": "domain suspend",
    "mailbox.list": "user list", "mailbox.create": "user add", "mailbox.read": "user show",
    "mailbox.update": "user quota", "mailbox.delete": "user remove",
    "mailbox.password": "user passwd", "alias.list": "alias list", "alias.add": "alias add",
    "alias.remove": "alias remove", "forward.read": "forward show", "forward.set": "forward set",
    "vacation.read": "vacation show", "vacation.set": "vacation set", "admin.list": "admin list",
    "admin.add": "admin add", "admin.remove": "admin remove", "admin.totp": "admin totp",
    "admin.password": "admin passwd",
    "token.list": "admin tokens", "token.create": "admin token", "token.revoke": "admin revoke",
    "audit.list": "audit",
}


def test_every_service_operation_has_a_command() -> None:
    assert set(PARITY) == set(OPERATIONS)
    ctx = click.Context(main)
    for command in PARITY.values():
        group: click.Command | None = main
        for word in command.split():
            assert isinstance(group, click.Group)
            group = group.get_command(ctx, word)
            assert group is not None, command


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return write_config(tmp_path, data_dir=str(tmp_path / "var"))


def last_line(config: Path, *args: str, stdin: str | None = None) -> str:
    return postbus(config, *args, stdin=stdin).stdout.splitlines()[-1]


def test_the_cli_goes_through_the_service_and_its_audit_log(cfg: Path) -> None:
    postbus(cfg, "domain", "add", "a.test")
    password = last_line(cfg, "user", "add", "alice@a.test", "--generate")
    assert len(password) >= 16
    postbus(cfg, "admin", "add", "web", "--domain", "a.test", "--password-stdin",
            stdin=ADMIN_PASSWORD + "\n")
    token = last_line(cfg, "admin", "token", "web", "--label", "deploy")
    assert token.startswith("pb_")
    tokens = postbus(cfg, "admin", "tokens", "web").stdout
    assert "deploy" in tokens and token not in tokens
    uri = last_line(cfg, "admin", "totp", "web")
    assert uri.startswith("otpauth://totp/localhost:web?secret=")
    assert "(TOTP)" in postbus(cfg, "admin", "list").stdout
    postbus(cfg, "domain", "suspend", "a.test")
    assert "a.test  (suspended)" in postbus(cfg, "domain", "list").stdout
    postbus(cfg, "domain", "resume", "a.test")
    postbus(cfg, "user", "disable", "alice@a.test")
    assert "(disabled)" in postbus(cfg, "user", "list").stdout
    postbus(cfg, "user", "enable", "alice@a.test")
    assert "(disabled)" not in postbus(cfg, "user", "show", "alice@a.test").stdout
    new_password = last_line(cfg, "user", "passwd", "alice@a.test", "--generate")
    assert new_password != password
    postbus(cfg, "forward", "set", "alice@a.test", "far@away.test", "--keep-copy")
    assert "far@away.test" in postbus(cfg, "forward", "show", "alice@a.test").stdout
    postbus(cfg, "forward", "clear", "alice@a.test")
    postbus(cfg, "vacation", "set", "alice@a.test", "-s", "{{ 7*7 }}")
    assert "{{ 7*7 }}" in postbus(cfg, "vacation", "show", "alice@a.test").stdout
    postbus(cfg, "vacation", "clear", "alice@a.test")
    token_id = tokens.split()[0]
    postbus(cfg, "admin", "revoke", "web", token_id)
    audit = postbus(cfg, "audit").stdout
    for action in ("domain.add", "mailbox.create", "admin.add", "token.create", "admin.totp",
                   "domain.suspend", "domain.resume", "mailbox.update", "mailbox.password",
                   "forward.set", "vacation.set", "token.revoke"):
        assert f"cli@local  {action}" in audit, action
    assert password not in audit and new_password not in audit and token not in audit
    denied = postbus(cfg, "admin", "revoke", "web", token_id, check=False)
    assert denied.returncode == 1 and "no token" in denied.stderr


def test_administrator_credentials_open_no_mailbox_protocol(cfg: Path) -> None:
    postbus(cfg, "domain", "add", "a.test")
    password = last_line(cfg, "user", "add", "alice@a.test", "--generate")
    postbus(cfg, "admin", "add", "web", "--domain", "a.test", "--password-stdin",
            stdin=ADMIN_PASSWORD + "\n")
    token = last_line(cfg, "admin", "token", "web")
    assert "last login: never" in postbus(cfg, "user", "show", "alice@a.test").stdout
    tls = ssl.create_default_context()
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    with running_server(cfg) as server:
        for name, secret, ok in (("web", ADMIN_PASSWORD, False), ("alice@a.test", ADMIN_PASSWORD,
                                 False), ("alice@a.test", password, True)):
            imap = imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=tls)
            try:
                imap.login(name, secret)
                logged_in = True
            except imaplib.IMAP4.error:
                logged_in = False
            imap.shutdown()
            assert logged_in is ok, ("imap", name)
            pop = poplib.POP3_SSL("127.0.0.1", server.port("pop3s"), context=tls)
            try:
                pop.user(name)
                pop.pass_(secret)
                logged_in = True
            except poplib.error_proto:
                logged_in = False
            pop.quit() if logged_in else pop.close()
            assert logged_in is ok, ("pop3", name)
            with smtplib.SMTP_SSL("127.0.0.1", server.port("submissions"), context=tls) as smtp:
                try:
                    smtp.login(name, secret)
                    logged_in = True
                except smtplib.SMTPAuthenticationError:
                    logged_in = False
            assert logged_in is ok, ("smtp", name)
        base = f"https://127.0.0.1:{server.port('https')}/api/v1"
        with httpx.Client(verify=False, timeout=30) as client:
            ok_response = client.get(base + "/domains", headers={"Authorization": f"Bearer {token}"})
            assert ok_response.json() == [{"name": "a.test", "suspended": False}]
            mailbox = client.get(base + "/mailboxes/alice@a.test",
                                 headers={"Authorization": f"Bearer {token}"}).json()
            assert "last_login" in mailbox
            basic = base64.b64encode(f"alice@a.test:{password}".encode()).decode()
            for header in (f"Basic {basic}", f"Bearer {password}",
                           "Basic " + base64.b64encode(f"web:{ADMIN_PASSWORD}".encode()).decode()):
                r = client.get(base + "/domains", headers={"Authorization": header})
                assert r.status_code == 401
            # CVE-2025-25198: a link built from the request's Host. Ours name the configured host.
            doc = client.get(base + "/openapi.json", headers={"Host": "evil.example"}).json()
            assert doc["servers"][0]["url"].startswith("https://localhost")
    # IMAP, POP3 and SMTP logged alice in: recorded once (at most every 5 minutes)
    # and written before the server stopped.
    shown = postbus(cfg, "user", "show", "alice@a.test").stdout
    assert "last login: never" not in shown and " UTC" in shown.split("last login: ")[1]
