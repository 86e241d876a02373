"""A cracked mailbox submits as fast as it can (security.sending), on a running server:
it is stopped at its limit, no more than the limit reaches the outbound queue,
the domain's administrator and the operator get one notice each (and one when
the mailbox is blocked), and after `block_after` refusals it is blocked until
`postbus user unblock` lifts the block."""

from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl
import threading
import time
from pathlib import Path

from tests.support.mail import create_mailboxes_sync
from tests.support.server import postbus, running_server, write_config

PASSWORD = "Tq7#mZ2v!pLx"
CRACKED = "anna@example.test"
DOMAIN_ADMIN = "hostmaster@example.test"
OPERATOR = "ops@example.test"
LIMIT = 5
BLOCK_AFTER = 4
CLIENTS = 4
ATTEMPTS_EACH = 10
TIMEOUT = 30.0
MESSAGE = (f"From: {CRACKED}\r\nTo: victim@remote.test\r\nSubject: cheap pills\r\n\r\n"
           "buy now\r\n")


def _tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spammer(port: int, replies: list[tuple[int, str]], lock: threading.Lock) -> None:
    """Submits ATTEMPTS_EACH messages on one connection, as fast as the server answers."""
    with smtplib.SMTP_SSL("127.0.0.1", port, context=_tls(), timeout=TIMEOUT) as smtp:
        smtp.login(CRACKED, PASSWORD)
        for n in range(ATTEMPTS_EACH):
            rcpts = [f"victim{n}-{k}@remote.test" for k in range(3)]
            try:
                smtp.sendmail(CRACKED, rcpts, MESSAGE)
                outcome = (250, "")
            except smtplib.SMTPSenderRefused as exc:
                outcome = (exc.smtp_code, exc.smtp_error.decode())
            except smtplib.SMTPDataError as exc:
                outcome = (exc.smtp_code, exc.smtp_error.decode())
            with lock:
                replies.append(outcome)


def _subjects(port: int, user: str) -> list[str]:
    imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=_tls())
    try:
        imap.login(user, PASSWORD)
        imap.select("INBOX")
        _, data = imap.search(None, "ALL")
        subjects = []
        for num in data[0].split():
            _, fetched = imap.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            header = fetched[0][1].decode() if isinstance(fetched[0], tuple) else ""
            subjects.append(header.strip().removeprefix("Subject: "))
        return subjects
    finally:
        imap.logout()


def test_a_cracked_mailbox_is_stopped_at_its_limit(tmp_path: Path) -> None:
    config = write_config(tmp_path, {
        "security": {"mailbox_messages_per_hour": LIMIT, "mailbox_messages_per_day": LIMIT,
                     "block_after": BLOCK_AFTER, "notify": [OPERATOR]},
        "relay": {"host": "127.0.0.1", "port": _closed_port(), "tls": "none"},
        "queue": {"first_retry": "1h"},
    })
    create_mailboxes_sync(config, [CRACKED, DOMAIN_ADMIN, OPERATOR], PASSWORD)
    # the customer's webmaster reads the domain's postmaster address
    postbus(config, "alias", "add", "postmaster@example.test", DOMAIN_ADMIN)
    with running_server(config) as srv:
        replies: list[tuple[int, str]] = []
        lock = threading.Lock()
        threads = [threading.Thread(target=_spammer, args=(srv.port("submissions"), replies, lock))
                   for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT * 4)
        codes = [code for code, _ in replies]
        assert len(codes) == CLIENTS * ATTEMPTS_EACH
        assert codes.count(250) == LIMIT  # exactly the limit got through
        refused = [(code, text) for code, text in replies if code != 250]
        # over a limit: 451 at MAIL or DATA; blocked: 550 at MAIL, or 554 at DATA when
        # the block came (from a parallel connection, perhaps on another worker)
        # between this transaction's MAIL and its DATA (RFC 5321 §4.2.5, §3.3)
        assert {code for code, _ in refused} <= {451, 550, 554}
        assert all("blocked" in text for code, text in refused if code == 554)
        assert any("Sending limit of the mailbox anna@example.test per hour" in text
                   or "Sending limit reached" in text for _, text in refused)
        assert any(code == 550 and "blocked" in text for code, text in refused)

        # no more than the limit reached the queue: one queue item per accepted message
        queued = postbus(config, "queue", "list").stdout
        assert queued.strip().endswith(f"{LIMIT} queued"), queued

        # the domain's administrator and the operator are told once per window, and of the block
        expected = sorted(["Sending limit reached by the mailbox anna@example.test",
                           "Mailbox anna@example.test blocked from sending"])
        deadline = time.monotonic() + TIMEOUT
        for user in (DOMAIN_ADMIN, OPERATOR):
            while sorted(_subjects(srv.port("imaps"), user)) != expected:
                assert time.monotonic() < deadline, _subjects(srv.port("imaps"), user)
                time.sleep(0.2)

        # blocked until an administrator lifts it, whatever the limits
        assert CRACKED in postbus(config, "user", "blocked").stdout
        with smtplib.SMTP_SSL("127.0.0.1", srv.port("submissions"), context=_tls(),
                              timeout=TIMEOUT) as smtp:
            smtp.login(CRACKED, PASSWORD)
            code, text = smtp.mail(CRACKED)
            assert code == 550 and b"5.7.1" in text, (code, text)
        assert f"{CRACKED} may send again" in postbus(config, "user", "unblock", CRACKED).stdout
        assert postbus(config, "user", "unblock", CRACKED, check=False).returncode == 1
        assert postbus(config, "user", "blocked").stdout.strip() == "0 blocked"
    queued = postbus(config, "queue", "list").stdout
    assert queued.strip().endswith(f"{LIMIT} queued"), queued
