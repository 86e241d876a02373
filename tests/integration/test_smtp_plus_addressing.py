"""Plus-addressing end to end against a real `postbus serve`: mail for anna+tag sent to
the MX with smtplib, and from bob's submission, is read back as anna over IMAP and POP3;
anna may send as anna+tag. Runs on the configured backend (POSTBUS_TEST_STORAGE)."""

from __future__ import annotations

import email
import imaplib
import poplib
import smtplib
import ssl
import uuid
from collections.abc import Iterator

import pytest

from tests.support.mailstore import DOMAIN, PASSWORD, mail_config
from tests.support.server import ServerProcess, running_server

ANNA, BOB = f"anna@{DOMAIN}", f"bob@{DOMAIN}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = mail_config(tmp_path_factory.mktemp("plus-addressing"))
    with running_server(config) as srv:
        yield srv


def tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def message(sender: str, to: str, subject: str) -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@client.example>\r\n\r\nHello.\r\n").encode()


def imap_subjects(address: str, server: ServerProcess) -> list[str]:
    with imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=tls()) as imap:
        imap.login(address, PASSWORD)
        imap.select("INBOX", readonly=True)
        _, data = imap.uid("SEARCH", "ALL")
        uids = data[0].split()
        if not uids:
            return []
        _, fetched = imap.uid("FETCH", b",".join(uids).decode(), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        return [email.message_from_bytes(item[1])["Subject"] for item in fetched if isinstance(item, tuple)]


def pop3_messages(address: str, server: ServerProcess) -> list[bytes]:
    pop = poplib.POP3_SSL("127.0.0.1", server.port("pop3s"), context=tls(), timeout=30)
    try:
        pop.user(address)
        pop.pass_(PASSWORD)
        count, _ = pop.stat()
        return [b"\r\n".join(pop.retr(n + 1)[1]) for n in range(count)]
    finally:
        pop.quit()


def test_mail_for_user_plus_tag_reaches_the_user(server: ServerProcess) -> None:
    tag = uuid.uuid4().hex[:8]
    mx_subject, sub_subject = f"mx-{tag}", f"sub-{tag}"
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=30) as mx:
        assert not mx.sendmail("x@remote.test", [f"Anna+News@{DOMAIN}"],
                               message("x@remote.test", f"anna+news@{DOMAIN}", mx_subject))
        with pytest.raises(smtplib.SMTPRecipientsRefused):  # a tag on nobody is nobody
            mx.sendmail("x@remote.test", [f"nobody+news@{DOMAIN}"], b"Subject: x\r\n\r\nx\r\n")
    with smtplib.SMTP_SSL("127.0.0.1", server.port("submissions"), context=tls(), timeout=30) as sub:
        sub.login(BOB, PASSWORD)
        assert not sub.sendmail(BOB, [f"anna+bob@{DOMAIN}"], message(BOB, f"anna+bob@{DOMAIN}", sub_subject))
    subjects = imap_subjects(ANNA, server)
    assert mx_subject in subjects and sub_subject in subjects
    pop = [m for m in pop3_messages(ANNA, server) if tag.encode() in m]
    assert len(pop) == 2
    assert any(b"for <anna+news@example.test>;" in m for m in pop)  # the trace keeps the tag


def test_user_may_send_as_own_tag(server: ServerProcess) -> None:
    subject = f"as-tag-{uuid.uuid4().hex[:8]}"
    with smtplib.SMTP_SSL("127.0.0.1", server.port("submissions"), context=tls(), timeout=30) as sub:
        sub.login(ANNA, PASSWORD)
        assert not sub.sendmail(f"anna+shop@{DOMAIN}", [BOB],
                                message(f"Anna <anna+shop@{DOMAIN}>", BOB, subject))
        with pytest.raises(smtplib.SMTPSenderRefused):
            sub.sendmail(f"bob+x@{DOMAIN}", [BOB], message(f"bob+x@{DOMAIN}", BOB, subject))
    assert subject in imap_subjects(BOB, server)
