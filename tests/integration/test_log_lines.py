"""Failed logins on every protocol, driven by real clients (imaplib, poplib,
smtplib) against a real `postbus serve`: each is one line in the format of
docs/logging.md, with the client's address, that the fail2ban filter of
docs/fail2ban/postbus.conf matches; a password typed as the user name never
reaches the log (issue 10 item 6 and "Failed logins")."""

from __future__ import annotations

import configparser
import imaplib
import poplib
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.mail import create_mailboxes_sync
from tests.support.server import ServerProcess, running_server, write_config

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Tq7#mZ2v!pLx"
USER = "alice@example.test"
#: What a user types into the user-name field by mistake: their password.
TYPED_PASSWORD = "Hunter2-Correct-Horse!"
WRONG_PASSWORD = "Not-The-Password-42"
LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO postbus\.(?P<logger>imap|pop3|smtp): "
    r"proto=(?P<proto>imap|pop3|smtp) listener=(?P<listener>\w+) ip=(?P<ip>[0-9.]+) port=(?P<port>\d+) "
    r"login failed user=(?P<user>\S+) method=(?P<method>\S+)$")
WAIT = 30.0  # for the server's stderr to reach the reader thread, not a performance bound


def _tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def fail2ban_regex() -> re.Pattern[str]:
    """The filter's failregex in Python terms: fail2ban cuts the date off first
    (its datepattern) and puts its host pattern where <HOST> is."""
    conf = configparser.ConfigParser()
    conf.read(ROOT / "docs" / "fail2ban" / "postbus.conf")
    failregex = conf["Definition"]["failregex"]
    return re.compile(failregex.replace("<HOST>", r"(?P<host>[0-9A-Fa-f.:]+)"))


def strip_date(line: str) -> str:
    return re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d+)?", "", line)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("loglines")
    config = write_config(directory)
    create_mailboxes_sync(config, [USER], PASSWORD)
    with running_server(config) as srv:
        yield srv


def failures(server: ServerProcess, proto: str, count: int) -> list[re.Match[str]]:
    """The first `count` failed-login lines of `proto`, once the server has written them."""
    deadline = time.monotonic() + WAIT
    while True:
        found = [m for m in map(LINE.match, (s.rstrip("\n") for s in list(server.stderr)))
                 if m is not None and m["proto"] == proto]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def check(server: ServerProcess, proto: str, attempts: list[Callable[[], object]],
          expected: list[tuple[str, str, str]]) -> None:
    for attempt in attempts:
        attempt()
    found = failures(server, proto, len(expected))
    assert [(m["listener"], m["user"], m["method"]) for m in found] == expected
    pattern = fail2ban_regex()
    for m in found:
        assert m["ip"] == "127.0.0.1" and 0 < int(m["port"]) < 65536
        banned = pattern.search(strip_date(m.group(0)))
        assert banned is not None and banned["host"] == "127.0.0.1", m.group(0)
    log = "".join(server.stderr)
    assert TYPED_PASSWORD not in log and WRONG_PASSWORD not in log and PASSWORD not in log


def test_imap_failed_logins(server: ServerProcess) -> None:
    def login(user: str, password: str) -> None:
        with imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=_tls()) as client:
            with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
                client.login(user, password)

    check(server, "imap", [
        lambda: login(TYPED_PASSWORD, WRONG_PASSWORD),  # the password in the name field
        lambda: login(USER, WRONG_PASSWORD),  # our address: logged as it is
        lambda: login("someone@elsewhere.test", WRONG_PASSWORD),  # not ours: redacted
    ], [("imaps", "<redacted>", "LOGIN"), ("imaps", USER, "LOGIN"),
        ("imaps", "<redacted>", "LOGIN")])


def test_pop3_failed_logins(server: ServerProcess) -> None:
    def login(user: str, password: str) -> None:
        client = poplib.POP3_SSL("127.0.0.1", server.port("pop3s"), context=_tls())
        try:
            client.user(user)
            with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
                client.pass_(password)
        finally:
            client.close()

    check(server, "pop3", [lambda: login(TYPED_PASSWORD, WRONG_PASSWORD),
                           lambda: login(USER, WRONG_PASSWORD)],
          [("pop3s", "<redacted>", "USER"), ("pop3s", USER, "USER")])


def test_smtp_auth_failed_logins(server: ServerProcess) -> None:
    def login(user: str, password: str) -> None:
        with smtplib.SMTP_SSL("127.0.0.1", server.port("submissions"), context=_tls()) as client:
            client.ehlo("client.example")
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.auth("PLAIN", lambda challenge=None: f"\0{user}\0{password}",
                            initial_response_ok=True)

    check(server, "smtp", [lambda: login(TYPED_PASSWORD, WRONG_PASSWORD),
                           lambda: login(USER, WRONG_PASSWORD)],
          [("submissions", "<redacted>", "PLAIN"), ("submissions", USER, "PLAIN")])


def test_a_successful_login_names_the_account(server: ServerProcess) -> None:
    with imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=_tls()) as client:
        client.login(USER, PASSWORD)
        client.logout()
    deadline = time.monotonic() + WAIT
    pattern = re.compile(r" INFO postbus\.imap: proto=imap listener=imaps ip=127\.0\.0\.1 port=\d+ "
                         rf"login user={re.escape(USER)} method=LOGIN$")
    while not any(pattern.search(s.rstrip("\n")) for s in list(server.stderr)):
        assert time.monotonic() < deadline, "".join(server.stderr)[-2000:]
        time.sleep(0.05)


def test_json_log_lines(tmp_path: Path) -> None:
    """`[log] format = "json"`: every line is one JSON object; a connection's
    line carries its four fields as keys and the message without the prefix."""
    import json

    config = write_config(tmp_path, {"log": {"format": "json"}})
    create_mailboxes_sync(config, [USER], PASSWORD)
    with running_server(config) as srv:
        with imaplib.IMAP4_SSL("127.0.0.1", srv.port("imaps"), ssl_context=_tls()) as client:
            with pytest.raises(imaplib.IMAP4.error):
                client.login(USER, WRONG_PASSWORD)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not any("login failed" in s for s in srv.stderr):
            time.sleep(0.05)
        lines = list(srv.stderr)
    events = [json.loads(line) for line in lines if line.strip()]
    failed = [e for e in events if e["message"].startswith("login failed")]
    assert len(failed) == 1, lines
    event = failed[0]
    assert event["message"] == f"login failed user={USER} method=LOGIN"
    assert (event["level"], event["logger"]) == ("INFO", "postbus.imap")
    assert (event["proto"], event["listener"], event["ip"]) == ("imap", "imaps", "127.0.0.1")
    assert 0 < event["port"] < 65536
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["time"])
    assert WRONG_PASSWORD not in "".join(lines)
