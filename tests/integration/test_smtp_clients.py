"""Real SMTP clients against a real `postbus serve`: swaks, msmtp and smtplib on the MX,
submission (STARTTLS) and submissions (implicit TLS); what they sent is read back from
the store byte-exact behind our trace fields."""

from __future__ import annotations

import smtplib
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mailstore import DOMAIN, PASSWORD, inbox, mail_config, split_trace
from tests.support.server import ServerProcess, running_server
from tests.support.tools import require_tool

ANNA, BOB = f"anna@{DOMAIN}", f"bob@{DOMAIN}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = mail_config(tmp_path_factory.mktemp("smtp-clients"))
    with running_server(config) as srv:
        yield srv


def tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def message(sender: str, subject: str) -> bytes:
    return (f"Date: Tue, 01 Jul 2025 10:00:00 +0000\r\nFrom: {sender}\r\nTo: {BOB}\r\n"
            f"Subject: {subject}\r\n"
            f"Message-ID: <{subject}@client.example>\r\n\r\nHello Bob,\r\n.a line with a dot\r\n"
            "\r\n-- \r\nAnna\r\n").encode()


def stored_with(server: ServerProcess, address: str, subject: str) -> bytes:
    """The one stored message carrying `subject`, without our trace fields (checked here)."""
    found = [raw for raw in inbox(server.config, address) if f"Subject: {subject}\r\n".encode() in raw]
    assert len(found) == 1, f"{len(found)} messages with subject {subject}"
    fields, rest = split_trace(found[0])
    assert any(f.startswith(b"Received: from ") for f in fields)
    return rest


def run(args: list[str], *, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(args, input=stdin, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout.decode(errors="replace")[-3000:] + \
        result.stderr.decode(errors="replace")[-2000:]
    return result


def swaks_file(tmp_path: Path, sender: str, subject: str) -> tuple[Path, bytes]:
    path = tmp_path / f"{subject}.eml"
    # swaks ends the data with CR LF "." CR LF itself: leave out the final newline
    path.write_bytes(message(sender, subject).replace(b"\r\n", b"\n").removesuffix(b"\n"))
    return path, message(sender, subject)


def test_swaks_auth_plain_on_submissions(server: ServerProcess, tmp_path: Path) -> None:
    swaks = require_tool("swaks")
    subject = f"swaks-465-{uuid.uuid4().hex[:8]}"
    path, sent = swaks_file(tmp_path, ANNA, subject)
    out = run([swaks, "--server", f"127.0.0.1:{server.port('submissions')}", "--tls-on-connect",
               "--auth", "PLAIN", "--auth-user", ANNA, "--auth-password", PASSWORD,
               "--from", ANNA, "--to", BOB, "--data", f"@{path}"]).stdout.decode()
    assert "235 2.7.0" in out and "250 2.0.0 Message accepted" in out
    assert stored_with(server, BOB, subject) == sent


def test_swaks_auth_login_over_starttls_on_submission(server: ServerProcess, tmp_path: Path) -> None:
    swaks = require_tool("swaks")
    subject = f"swaks-587-{uuid.uuid4().hex[:8]}"
    path, sent = swaks_file(tmp_path, ANNA, subject)
    out = run([swaks, "--server", f"127.0.0.1:{server.port('submission')}", "--tls",
               "--auth", "LOGIN", "--auth-user", ANNA, "--auth-password", PASSWORD,
               "--from", ANNA, "--to", BOB, "--data", f"@{path}"]).stdout.decode()
    assert "220 2.0.0 Ready to start TLS" in out and "235 2.7.0" in out
    assert stored_with(server, BOB, subject) == sent


def test_swaks_mx_without_auth_and_with_pipelining(server: ServerProcess, tmp_path: Path) -> None:
    swaks = require_tool("swaks")
    for extra in ([], ["--pipeline"]):
        subject = f"swaks-mx-{len(extra)}-{uuid.uuid4().hex[:8]}"
        path, sent = swaks_file(tmp_path, "sender@remote.test", subject)
        out = run([swaks, "--server", f"127.0.0.1:{server.port('smtp')}", *extra,
                   "--from", "sender@remote.test", "--to", BOB, "--data", f"@{path}"]).stdout.decode()
        assert "250 2.0.0 Message accepted" in out
        if extra:
            assert "PIPELINING" in out
        assert stored_with(server, BOB, subject) == sent
        raw = next(m for m in inbox(server.config, BOB) if subject.encode() in m)
        assert raw.startswith(b"Authentication-Results: localhost;")
        assert b"Return-Path: <sender@remote.test>\r\n" in raw


def test_swaks_auth_on_the_mx_is_refused(server: ServerProcess) -> None:
    swaks = require_tool("swaks")
    result = subprocess.run(
        [swaks, "--server", f"127.0.0.1:{server.port('smtp')}", "--tls", "--auth", "PLAIN",
         "--auth-user", ANNA, "--auth-password", PASSWORD, "--from", ANNA, "--to", "x@remote.test",
         "--quit-after", "AUTH"], capture_output=True, timeout=60)
    assert result.returncode != 0
    assert b"235" not in result.stdout


@pytest.mark.parametrize("service", ["submission", "submissions"])
def test_msmtp(server: ServerProcess, tmp_path: Path, service: str) -> None:
    msmtp = require_tool("msmtp")
    rc = tmp_path / "msmtprc"
    rc.write_text(
        "defaults\ntls on\ntls_certcheck off\n"
        f"account test\nhost 127.0.0.1\nport {server.port(service)}\n"
        f"tls_starttls {'on' if service == 'submission' else 'off'}\n"
        f"auth plain\nuser {ANNA}\npassword {PASSWORD}\nfrom {ANNA}\n")
    rc.chmod(0o600)
    subject = f"msmtp-{service}-{uuid.uuid4().hex[:8]}"
    sent = message(ANNA, subject)
    run([msmtp, "-C", str(rc), "-a", "test", BOB], stdin=sent)
    assert stored_with(server, BOB, subject) == sent


def test_msmtp_from_someone_else_is_refused(server: ServerProcess, tmp_path: Path) -> None:
    msmtp = require_tool("msmtp")
    rc = tmp_path / "msmtprc"
    rc.write_text(
        "defaults\ntls on\ntls_certcheck off\n"
        f"account test\nhost 127.0.0.1\nport {server.port('submissions')}\ntls_starttls off\n"
        f"auth plain\nuser {ANNA}\npassword {PASSWORD}\nfrom {ANNA}\n")
    rc.chmod(0o600)
    subject = f"msmtp-forged-{uuid.uuid4().hex[:8]}"
    result = subprocess.run([msmtp, "-C", str(rc), "-a", "test", BOB],
                            input=message(BOB, subject), capture_output=True, timeout=60)
    assert result.returncode != 0 and b"553" in result.stderr + result.stdout
    assert not [m for m in inbox(server.config, BOB) if subject.encode() in m]


def test_smtplib_on_each_listener(server: ServerProcess) -> None:
    subjects = {}
    with smtplib.SMTP_SSL("127.0.0.1", server.port("submissions"), context=tls_context()) as c:
        c.login(ANNA, PASSWORD)
        subjects["465"] = f"smtplib-465-{uuid.uuid4().hex[:8]}"
        c.sendmail(ANNA, [BOB], message(ANNA, subjects["465"]))
    with smtplib.SMTP("127.0.0.1", server.port("submission")) as c:
        c.starttls(context=tls_context())
        c.login(ANNA, PASSWORD)
        subjects["587"] = f"smtplib-587-{uuid.uuid4().hex[:8]}"
        c.sendmail(f"info@{DOMAIN}", [BOB], message(f"info@{DOMAIN}", subjects["587"]))
    with smtplib.SMTP("127.0.0.1", server.port("smtp")) as c:
        subjects["25"] = f"smtplib-25-{uuid.uuid4().hex[:8]}"
        c.sendmail("x@remote.test", [BOB], message("x@remote.test", subjects["25"]))
    for port, subject in subjects.items():
        sender = {"465": ANNA, "587": f"info@{DOMAIN}", "25": "x@remote.test"}[port]
        assert stored_with(server, BOB, subject) == message(sender, subject)


def test_smtplib_refusals(server: ServerProcess) -> None:
    with smtplib.SMTP("127.0.0.1", server.port("submission")) as c:
        c.ehlo()
        assert "auth" not in c.esmtp_features
        code, text = c.docmd("AUTH PLAIN", "AGFubmFAZXhhbXBsZS50ZXN0AHg=")
        assert (code, text[:6]) == (538, b"5.7.11")
        assert c.mail(ANNA)[0] == 530
    with smtplib.SMTP_SSL("127.0.0.1", server.port("submissions"), context=tls_context()) as c:
        c.ehlo()
        assert c.mail(ANNA)[0] == 530  # AUTH required
        with pytest.raises(smtplib.SMTPAuthenticationError) as info:
            c.login(ANNA, "wrong password")
        assert info.value.smtp_code == 535
    with smtplib.SMTP("127.0.0.1", server.port("smtp")) as c:
        c.ehlo()
        assert c.docmd("MAIL FROM:x@remote.test")[0] == 501  # strict: angle brackets
        assert c.mail("x@remote.test")[0] == 250
        assert c.rcpt("nobody@example.test")[0] == 550
        assert c.rcpt("someone@remote.test")[:2] == (550, b"5.7.1 Relay access denied: we only "
                                                          b"accept mail for our domains")


def test_under_uvloop(tmp_path: Path) -> None:
    """`postbus serve` runs on uvloop in production: STARTTLS, implicit TLS and a plain MX."""
    config = mail_config(tmp_path)
    with running_server(config, env={"POSTBUS_LOOP": "uvloop"}) as srv:
        subjects = [f"uvloop-{n}-{uuid.uuid4().hex[:8]}" for n in range(3)]
        with smtplib.SMTP("127.0.0.1", srv.port("submission")) as c:
            c.starttls(context=tls_context())
            c.login(ANNA, PASSWORD)
            c.sendmail(ANNA, [BOB], message(ANNA, subjects[0]))
        with smtplib.SMTP_SSL("127.0.0.1", srv.port("submissions"), context=tls_context()) as c:
            c.login(ANNA, PASSWORD)
            c.sendmail(ANNA, [BOB], message(ANNA, subjects[1]))
        with smtplib.SMTP("127.0.0.1", srv.port("smtp")) as c:
            c.starttls(context=tls_context())
            c.sendmail("x@remote.test", [BOB], message("x@remote.test", subjects[2]))
        for subject, sender in zip(subjects, (ANNA, ANNA, "x@remote.test"), strict=True):
            assert stored_with(srv, BOB, subject) == message(sender, subject)
