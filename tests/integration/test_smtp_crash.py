"""Kill -9 under load: every message that got a 250 is in a mailbox or in the queue after
a restart. Ten concurrent clients send (seven to local mailboxes on the MX, three to a
remote domain through submission, which queues); the server is SIGKILLed mid-load."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import time
from pathlib import Path

from tests.support.mailstore import DOMAIN, PASSWORD, all_messages, mail_config, queue
from tests.support.server import running_server

MX_CLIENTS = 7
SUBMISSION_CLIENTS = 3
KILL_AFTER = 60  # acknowledged messages before the kill
DEADLINE = 60.0


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def body(sender: str, tag: str) -> bytes:
    return (f"From: {sender}\r\nSubject: {tag}\r\n\r\n" + "load line\r\n" * 200).encode()


def test_kill_9_loses_no_acknowledged_message(tmp_path: Path) -> None:
    # remote.test's MX is a port where nobody listens: queued mail stays queued
    static = {"A localhost.invalid": ["127.0.0.1"], "MX remote.test": ["10 mx.remote.test"],
              "A mx.remote.test": ["127.0.0.1"]}
    config = mail_config(tmp_path, {"dns": {"static": static, "mx_port": closed_port()}})
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def ack(tag: str) -> None:
        with lock:
            acked.append(tag)

    def mx_client(n: int, port: int) -> None:
        rcpt = f"{'anna' if n % 2 else 'bob'}@{DOMAIN}"
        count = 0
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=20) as c:
                while not stop.is_set():
                    tag = f"mx-{n}-{count}"
                    c.sendmail("load@remote.test", [rcpt], body("load@remote.test", tag))
                    ack(tag)
                    count += 1
        except (OSError, smtplib.SMTPException):
            return  # the server died under us: what was acknowledged is what counts

    def submission_client(n: int, port: int) -> None:
        count = 0
        try:
            with smtplib.SMTP_SSL("127.0.0.1", port, timeout=20, context=tls()) as c:
                c.login(f"anna@{DOMAIN}", PASSWORD)
                while not stop.is_set():
                    tag = f"sub-{n}-{count}"
                    c.sendmail(f"anna@{DOMAIN}", ["carol@remote.test"], body(f"anna@{DOMAIN}", tag))
                    ack(tag)
                    count += 1
        except (OSError, smtplib.SMTPException):
            return

    with running_server(config) as server:
        threads = [threading.Thread(target=mx_client, args=(n, server.port("smtp")))
                   for n in range(MX_CLIENTS)]
        threads += [threading.Thread(target=submission_client, args=(n, server.port("submissions")))
                    for n in range(SUBMISSION_CLIENTS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + DEADLINE

        def loaded() -> bool:
            # Both paths acknowledged something: the MX alone can be fast
            # enough to reach KILL_AFTER before submission's first 250.
            with lock:
                return (len(acked) >= KILL_AFTER and any(t.startswith("sub-") for t in acked)
                        and any(t.startswith("mx-") for t in acked))

        while not loaded() and time.monotonic() < deadline:
            time.sleep(0.01)
        server.proc.kill()  # SIGKILL, mid-load
        server.proc.wait(10)
        stop.set()
        for t in threads:
            t.join(30)
    assert len(acked) >= KILL_AFTER
    assert any(t.startswith("sub-") for t in acked) and any(t.startswith("mx-") for t in acked)

    with running_server(config) as server:  # recovery, and the server works again
        with smtplib.SMTP("127.0.0.1", server.port("smtp")) as c:
            c.sendmail("load@remote.test", [f"anna@{DOMAIN}"], body("load@remote.test", "after"))
    in_mailboxes = {subject(raw) for raw in all_messages(config)}
    in_queue = {subject(raw) for _, _, raw in queue(config)}
    missing = [tag for tag in acked if tag not in in_mailboxes | in_queue]
    assert not missing, f"{len(missing)} acknowledged messages lost: {missing[:10]}"
    assert any(tag.startswith("sub-") for tag in in_queue) and "after" in in_mailboxes


def subject(raw: bytes) -> str:
    head = raw[: raw.find(b"\r\n\r\n")]
    return head[head.find(b"\r\nSubject: ") + 11 :].split(b"\r\n", 1)[0].decode()
