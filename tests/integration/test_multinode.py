"""Three `postbus serve` nodes on one PostgreSQL database serve one service.

Each node has its own configuration and data_dir (its TLS certificate) and
every listener on 127.0.0.1:0; they share `[storage] backend = "postgresql"`.

- Mail delivered over SMTP to node 1 is read over IMAP on node 2, and an IMAP
  IDLE on node 3 hears of it within a second (LISTEN/NOTIFY); an EXPUNGE on
  node 2 reaches the same IDLE within a second.
- Messages submitted on all three nodes to a remote domain reach the (fake)
  remote MX exactly once each, although its first answers are 451s and the
  nodes' queue runners compete for the retries (SKIP LOCKED claims).
- Under load from five SMTP senders, node 2 is killed with SIGKILL; its
  senders fail over to node 1, and every message that got a 250 from any
  node is in the mailbox afterwards (counted over IMAP on node 3).
"""

from __future__ import annotations

import imaplib
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from postbus.delivery.queue import POLL_INTERVAL
from tests.support.fake_mx import FakeMX, ThreadedFakeMX
from tests.support.mailstore import DOMAIN, PASSWORD, STATIC_DNS, setup
from tests.support.pg import throwaway_database
from tests.support.server import ServerProcess, postbus, running_server, write_config

NODES = 3
ANNA = f"anna@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
IDLE_DEADLINE = 1.0  # seconds: the bound for a change to cross nodes
OUTBOUND_MESSAGES = 12
TEMPORARY_FAILURES = 4  # the remote MX's first DATA answers
SENDERS = 5
LOAD_SECONDS = 1.5  # of load before the kill, and again after it
TIMEOUT = 20.0
# A retry normally goes out a second after a 451; a node that missed its wake-up
# still finds the item at its next poll.
OUTBOUND_TIMEOUT = POLL_INTERVAL + 10.0


def tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@contextmanager
def cluster(tmp_path: Path, mx_port: int = 25) -> Iterator[list[ServerProcess]]:
    """NODES running nodes on a fresh database, with anna and bob set up once."""
    with throwaway_database() as url, ExitStack() as stack:
        configs = []
        for i in range(1, NODES + 1):
            directory = tmp_path / f"node{i}"
            directory.mkdir()
            configs.append(write_config(directory, {
                "storage": {"backend": "postgresql", "url": url},
                "dns": {"static": STATIC_DNS | {"MX remote.test": ["10 mx.remote.test"],
                                                "A mx.remote.test": ["127.0.0.1"]},
                        "mx_port": mx_port},
                "queue": {"first_retry": 1, "max_retry_interval": 1},
            }, node_name=f"node{i}"))
        setup(configs[0], [DOMAIN], [ANNA, BOB])
        yield [stack.enter_context(running_server(c)) for c in configs]


def message(sender: str, to: str, message_id: str) -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {message_id}\r\n"
            f"Message-ID: <{message_id}>\r\n\r\nHello from {message_id}.\r\n").encode()


def deliver(node: ServerProcess, to: str, message_id: str) -> float:
    """Delivers over SMTP; returns the moment the 250 arrived."""
    with smtplib.SMTP("127.0.0.1", node.port("smtp"), timeout=TIMEOUT) as client:
        client.sendmail("someone@remote.test", [to], message("someone@remote.test", to, message_id))
        return time.monotonic()


def submit(node: ServerProcess, to: str, message_id: str) -> None:
    with smtplib.SMTP_SSL("127.0.0.1", node.port("submissions"), context=tls_context(),
                          timeout=TIMEOUT) as client:
        client.login(ANNA, PASSWORD)
        client.sendmail(ANNA, [to], message(ANNA, to, message_id))


def imap(node: ServerProcess, user: str) -> imaplib.IMAP4_SSL:
    client = imaplib.IMAP4_SSL("127.0.0.1", node.port("imaps"), ssl_context=tls_context(),
                               timeout=TIMEOUT)
    client.login(user, PASSWORD)
    return client


def message_ids(node: ServerProcess, user: str) -> list[str]:
    client = imap(node, user)
    try:
        client.select("INBOX", readonly=True)
        status, data = client.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        assert status == "OK"
        headers = b"".join(part[1] for part in data if isinstance(part, tuple))
        return re.findall(r"Message-ID: <([^>]+)>", headers.decode(), re.IGNORECASE)
    finally:
        client.logout()


class Idler:
    """An IMAP IDLE over a raw TLS socket, to time exactly when a line arrives."""

    def __init__(self, node: ServerProcess, user: str, *, idle: bool = True) -> None:
        raw = socket.create_connection(("127.0.0.1", node.port("imaps")), timeout=TIMEOUT)
        self.sock = tls_context().wrap_socket(raw, server_hostname="localhost")
        self.buffer = b""
        self.wait_for(rb"\* OK")
        self.command(f'a LOGIN "{user}" "{PASSWORD}"')
        if not idle:  # the caller sends its own commands (NOTIFY)
            return
        self.command("b SELECT INBOX")
        self.sock.sendall(b"c IDLE\r\n")
        self.wait_for(rb"\+ ")

    def command(self, line: str) -> None:
        tag = line.split(" ", 1)[0]
        self.sock.sendall(line.encode() + b"\r\n")
        reply = self.wait_for(tag.encode() + rb" (OK|NO|BAD)")
        assert reply.startswith(tag.encode() + b" OK"), reply

    def readline(self, deadline: float) -> bytes:
        while b"\r\n" not in self.buffer:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            assert chunk, "server closed the IDLE connection"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def wait_for(self, pattern: bytes, timeout: float = TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            line = self.readline(deadline)
            if re.match(pattern, line):
                return line

    def close(self) -> None:
        self.sock.sendall(b"DONE\r\n")
        self.wait_for(rb"c OK")
        self.command("d LOGOUT")
        self.sock.close()


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[ServerProcess], FakeMX]]:
    """One cluster (and fake remote MX) for the tests that leave every node running."""
    with ThreadedFakeMX() as mx, cluster(tmp_path_factory.mktemp("cluster"), mx.port) as nodes:
        yield nodes, mx


def test_idle_on_one_node_sees_deliveries_and_expunges_made_on_others(
    shared_cluster: tuple[list[ServerProcess], FakeMX],
) -> None:
    (node1, node2, node3), _ = shared_cluster
    idler = Idler(node3, ANNA)
    acknowledged = deliver(node1, ANNA, "first@remote.test")
    idler.wait_for(rb"\* 1 EXISTS", IDLE_DEADLINE)
    assert time.monotonic() - acknowledged < IDLE_DEADLINE

    reader = imap(node2, ANNA)
    reader.select("INBOX")
    status, data = reader.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    header = b"".join(part[1] for part in data if isinstance(part, tuple))
    assert status == "OK" and b"Subject: first@remote.test" in header
    reader.store("1", "+FLAGS", "\\Deleted")
    reader.expunge()
    expunged = time.monotonic()
    idler.wait_for(rb"\* 1 EXPUNGE", IDLE_DEADLINE)
    assert time.monotonic() - expunged < IDLE_DEADLINE
    reader.logout()
    idler.close()


def test_notify_on_one_node_hears_of_folders_and_deliveries_made_on_others(
    shared_cluster: tuple[list[ServerProcess], FakeMX],
) -> None:
    # RFC 5465 with LISTEN/NOTIFY: no IDLE, no command outstanding on node 3.
    (_node1, node2, node3), _ = shared_cluster
    watcher = Idler(node3, BOB, idle=False)
    watcher.command("b NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))")
    other = imap(node2, BOB)
    other.create("Crossing")
    assert watcher.wait_for(rb'\* LIST .*Crossing') == b'* LIST () "/" Crossing'
    other.append("Crossing", "", None, message(ANNA, BOB, "notify@remote.test"))
    line = watcher.wait_for(rb"\* STATUS Crossing")
    assert line == b"* STATUS Crossing (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"
    other.logout()
    watcher.command("c LOGOUT")
    watcher.sock.close()


def test_outbound_mail_queued_on_several_nodes_is_sent_once(
    shared_cluster: tuple[list[ServerProcess], FakeMX],
) -> None:
    nodes, mx = shared_cluster
    mx.data_replies = ["451 4.3.0 try again later"] * TEMPORARY_FAILURES
    sent = [f"out-{i}@{DOMAIN}" for i in range(OUTBOUND_MESSAGES)]
    for i, message_id in enumerate(sent):
        submit(nodes[i % NODES], "bob@remote.test", message_id)
    deadline = time.monotonic() + OUTBOUND_TIMEOUT
    while len(mx.received) < OUTBOUND_MESSAGES or mx.data_replies:
        assert time.monotonic() < deadline, f"{len(mx.received)} delivered"
        time.sleep(0.1)
    time.sleep(2.5)  # past a retry interval: a second copy would have come by now
    assert "0 queued" in postbus(nodes[0].config, "queue", "list").stdout
    received = [re.search(rb"Message-ID: <([^>]+)>", t.data) for t in mx.received]
    assert sorted(m.group(1).decode() for m in received if m) == sorted(sent)


def test_a_killed_node_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    with cluster(tmp_path) as (node1, node2, node3):
        acknowledged: list[str] = []
        acknowledged_by_node2: list[str] = []
        failed_over = threading.Event()
        stop = threading.Event()
        problems: list[BaseException] = []

        def sender(number: int, node: ServerProcess) -> None:
            sequence = 0
            client: smtplib.SMTP | None = None
            while not stop.is_set():
                message_id = f"load-{number}-{sequence}@remote.test"
                try:
                    if client is None:
                        client = smtplib.SMTP("127.0.0.1", node.port("smtp"), timeout=TIMEOUT)
                    client.sendmail("someone@remote.test", [BOB],
                                    message("someone@remote.test", BOB, message_id))
                except (smtplib.SMTPException, OSError):
                    if node is node1:
                        problems.append(AssertionError(f"node 1 failed {message_id}"))
                        return
                    node, client = node1, None  # fail over; this message is sent again
                    failed_over.set()
                    continue
                except BaseException as exc:  # reported by the test thread
                    problems.append(exc)
                    return
                acknowledged.append(message_id)
                if node is node2:
                    acknowledged_by_node2.append(message_id)
                sequence += 1
            if client is not None:
                client.quit()

        threads = [threading.Thread(target=sender, args=(n, node1 if n < 2 else node2))
                   for n in range(SENDERS)]
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS)
        before_kill = len(acknowledged)
        node2.proc.kill()
        node2.proc.wait(TIMEOUT)
        time.sleep(LOAD_SECONDS)
        stop.set()
        for t in threads:
            t.join(TIMEOUT)
        assert not problems, problems
        assert failed_over.is_set()
        assert acknowledged_by_node2 and len(acknowledged) > before_kill
        found = set(message_ids(node3, BOB))
        lost = [m for m in acknowledged if m not in found]
        assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged messages lost"
