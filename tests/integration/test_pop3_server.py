"""POP3 against a real `postbus serve`: the maildrop lock, a cut connection that
deletes nothing, bad input answered with -ERR, and POP3 deleting while an IMAP
session has the Inbox selected."""

from __future__ import annotations

import imaplib
import poplib
import re
import socket
import ssl
import time
from collections.abc import Iterator

import pytest

from tests.support.mail import create_mailboxes_sync, deliver_sync, smtp_deliver
from tests.support.server import ServerProcess, running_server, write_config

PASSWORD = "Tq7#mZ2v!pLx"
USERS = ("lock", "cut", "bad", "imap")
KB = 1024


def _tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _sized(subject: str, size: int) -> bytes:
    head = f"From: bob@remote.test\r\nSubject: {subject}\r\n\r\n".encode()
    body = (b"x" * 78 + b"\r\n") * ((size - len(head) - 2) // 80)
    body += b"y" * (size - len(head) - len(body) - 2) + b"\r\n"
    raw = head + body
    assert len(raw) == size
    return raw


IMAP_MESSAGES = [_sized(f"m{n}", (n + 1) * 10 * KB) for n in range(3)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("pop3-server")
    config = write_config(directory, {"dns": {"static": {"A localhost.invalid": ["127.0.0.1"]}}})
    create_mailboxes_sync(config, [f"{u}@example.test" for u in USERS], PASSWORD)
    for user in ("lock", "cut", "bad"):
        deliver_sync(config, f"{user}@example.test", [_sized("a", 2000), _sized("b", 3000)])
    deliver_sync(config, "imap@example.test", IMAP_MESSAGES)
    with running_server(config) as server:
        yield server


def _login(server: ServerProcess, user: str) -> poplib.POP3_SSL:
    client = poplib.POP3_SSL("127.0.0.1", server.port("pop3s"), context=_tls(), timeout=30)
    try:
        client.user(f"{user}@example.test")
        client.pass_(PASSWORD)
    except BaseException:
        client.close()
        raise
    return client


def _login_when_free(server: ServerProcess, user: str) -> poplib.POP3_SSL:
    """Logs in, waiting while the server still holds the lock of a session just cut."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return _login(server, user)
        except poplib.error_proto as exc:
            if b"[IN-USE]" not in exc.args[0] or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_second_login_gets_in_use(server: ServerProcess) -> None:
    first = _login(server, "lock")
    with pytest.raises(poplib.error_proto) as refused:
        _login(server, "lock")
    assert refused.value.args[0] == b"-ERR [IN-USE] Maildrop is in use by another POP3 session"
    first.quit()
    _login(server, "lock").quit()


def test_cut_connection_deletes_nothing(server: ServerProcess) -> None:
    client = _login(server, "cut")
    assert client.stat()[0] == 2
    client.dele(1)
    client.dele(2)
    client.sock.shutdown(socket.SHUT_RDWR)  # gone without QUIT
    client.close()
    again = _login_when_free(server, "cut")
    assert again.stat() == (2, 5000)
    again.quit()


def test_bad_input_gets_err_and_the_session_goes_on(server: ServerProcess) -> None:
    raw = socket.create_connection(("127.0.0.1", server.port("pop3s")), timeout=30)
    with _tls().wrap_socket(raw) as sock:
        stream = sock.makefile("rwb")

        def say(line: bytes) -> bytes:
            stream.write(line + b"\r\n")
            stream.flush()
            return stream.readline()

        assert stream.readline().startswith(b"+OK Postbus POP3 ready")
        assert say(b"STAT") == b"-ERR Not logged in\r\n"
        assert say(b"FROB 1 2 3") == b"-ERR Unknown command\r\n"
        assert say(b"LIST " + b"9" * 400) == b"-ERR Line too long\r\n"
        assert say(bytes(range(1, 10)) + b"\xff\xfe\x80") == b"-ERR Invalid UTF-8 in command\r\n"
        assert say(b"USER bad@example.test") == b"+OK Send your password\r\n"
        assert say(f"PASS {PASSWORD}".encode()).startswith(b"+OK Logged in, maildrop has 2 messages")
        assert say(b"USER again") == b"-ERR Command not valid after login\r\n"
        assert say(b"RETR 99") == b"-ERR No such message\r\n"
        assert say(b"\x00\x01\x02") == b"-ERR Unknown command\r\n"
        assert say(b"NOOP") == b"+OK\r\n"
        assert say(b"QUIT") == b"+OK Postbus POP3 signing off (2 messages left)\r\n"


def _storage_kb(imap: imaplib.IMAP4_SSL) -> int:
    typ, data = imap.getquotaroot("INBOX")
    assert typ == "OK"
    quota = b" ".join(d if isinstance(d, bytes) else b" ".join(d) for d in data)
    match = re.search(rb"\(STORAGE (\d+) \d+\)", quota)
    assert match, quota
    return int(match.group(1))


def test_pop3_deletes_while_imap_has_the_inbox_selected(server: ServerProcess) -> None:
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=_tls(), timeout=30)
    imap.login("imap@example.test", PASSWORD)
    assert imap.select("INBOX") == ("OK", [b"3"])
    data = imap.uid("SEARCH", "ALL")[1]
    uids_before = [int(u) for u in data[0].split()]
    assert _storage_kb(imap) == 60  # 10 + 20 + 30 KB

    pop = _login(server, "imap")
    uidl = [line.split()[1] for line in pop.uidl()[1]]
    pop.dele(1)
    pop.dele(3)
    assert pop.quit() == b"+OK Postbus POP3 signing off (1 message left)"

    expunged: list[bytes] = []
    deadline = time.monotonic() + 10
    while len(expunged) < 2 and time.monotonic() < deadline:
        assert imap.noop()[0] == "OK"
        expunged += imap.response("EXPUNGE")[1] if imap.untagged_responses.get("EXPUNGE") else []
        time.sleep(0.05)
    # sequence numbers as the IMAP session saw them: 3 first, then 1 (or 1, then 2)
    assert sorted(expunged) in ([b"1", b"3"], [b"1", b"2"])
    data = imap.uid("SEARCH", "ALL")[1]
    assert [int(u) for u in data[0].split()] == [uids_before[1]]
    assert _storage_kb(imap) == 20  # the quota dropped by exactly the deleted 40 KB

    smtp_deliver(server.port("smtp"), "imap@example.test", [_sized("new", 1000)])
    assert imap.noop()[0] == "OK"
    data = imap.uid("SEARCH", "ALL")[1]
    uids_after = [int(u) for u in data[0].split()]
    assert uids_after[:1] == [uids_before[1]] and uids_after[-1] > max(uids_before)
    pop = _login(server, "imap")
    new_uidl = [line.split()[1] for line in pop.uidl()[1]]
    pop.quit()
    assert new_uidl[0] == uidl[1] and new_uidl[1] not in uidl  # unique-ids are never reused
    imap.logout()
