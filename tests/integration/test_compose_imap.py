"""End to end: a message written through the compose service (in process, as the
webmail sends) reaches another local user's INBOX as Python's imaplib sees it
from a running `postbus serve`, attachment included, and the sender's copy is
in Sent with \\Seen; a forged From sends nothing."""

from __future__ import annotations

import email
import email.policy
import imaplib
import ssl
from email.message import EmailMessage
from pathlib import Path

import pytest

from postbus import config as config_mod
from postbus.app import App
from postbus.compose import Attachment, Compose, ComposeRefused, Draft
from tests.support.mailstore import PASSWORD, setup
from tests.support.server import running_server, write_config

DOMAIN = "example.test"
ANNA, BOB = f"anna@{DOMAIN}", f"bob@{DOMAIN}"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64


def tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def imap_messages(port: int, user: str, folder: str) -> list[tuple[bytes, bytes]]:
    """(FLAGS line, message) of every message in `folder`, over IMAPS."""
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=tls(), timeout=30) as imap:
        imap.login(user, PASSWORD)
        typ, _ = imap.select(folder, readonly=True)
        assert typ == "OK"
        typ, data = imap.uid("SEARCH", "ALL")
        found = []
        for uid in data[0].split():
            typ, parts = imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
            assert typ == "OK" and isinstance(parts[0], tuple)
            found.append((parts[0][0], parts[0][1]))
        imap.logout()
        return found


async def test_compose_to_a_local_user_seen_over_imap(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    setup(config, [DOMAIN], [ANNA, BOB])
    with running_server(config) as server:
        app = App(config_mod.load(config))
        await app.open()
        try:
            compose = Compose(app)
            anna = await app.store.get_account(ANNA)
            assert anna is not None
            with pytest.raises(ComposeRefused):
                await compose.send(anna, Draft(from_address=BOB, to=BOB, subject="forged"))
            await compose.send(anna, Draft(
                to=f"Bob <{BOB}>", subject="Rapport Q3 — définitif", body="Zie bijlage.\n",
                attachments=(Attachment("rapport.pdf", "application/pdf", PDF),)))
        finally:
            await app.close()
        port = server.port("imaps")
        [(flags, raw)] = imap_messages(port, BOB, "INBOX")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        assert msg["Subject"] == "Rapport Q3 — définitif" and msg["From"] == ANNA
        [part] = list(msg.iter_attachments())
        assert (part.get_filename(), part.get_content()) == ("rapport.pdf", PDF)
        assert b"\\Seen" not in flags
        [(sent_flags, sent)] = imap_messages(port, ANNA, "Sent")
        assert b"\\Seen" in sent_flags
        assert email.message_from_bytes(sent)["Message-ID"] == msg["Message-ID"]
