"""`postbus serve` with two worker processes (`[server] workers = 2`).

What must hold across processes, each checked with sessions that /proc shows
are served by different workers (tests.support.workers):
- a delivery accepted by one worker reaches an IDLE session on the other
  (SQLite: the change channel under data_dir; PostgreSQL: NOTIFY);
- the POP3 maildrop lock holds across workers, and the maildrop of a worker
  killed with kill -9 is free for a login on the other worker at once;
- a password change makes the old password fail on every worker;
- each queued outbound message is delivered once although both workers run
  the queue;
- kill -9 of one worker under SMTP and IMAP load loses no acknowledged
  message, the other worker's clients carry on, and the supervisor starts a
  new worker; SIGTERM then stops everything with exit 0.
"""

from __future__ import annotations

import imaplib
import os
import poplib
import re
import signal
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.fake_mx import ThreadedFakeMX
from tests.support.mail import create_mailboxes_sync
from tests.support.mailstore import inbox
from tests.support.server import ServerProcess, postbus, running_server, write_config
from tests.support.workers import serving_worker, wait_for_workers, worker_pids

PASSWORD = "Tq7#mZ2v!pLx"
NEW_PASSWORD = "Vr4$kN8w!qZy"
USERS = ("idle@example.test", "pop@example.test", "auth@example.test", "load@example.test",
         "sender@example.test")
TIMEOUT = 20.0  # generous: a wait that long means the event never came
C = TypeVar("C")


def _tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _config(directory: Path, **overrides: dict[str, Any]) -> Path:
    config = write_config(directory, {"server": {"workers": 2}} | overrides)
    create_mailboxes_sync(config, USERS, PASSWORD)
    return config


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(_config(tmp_path_factory.mktemp("workers"))) as server:
        wait_for_workers(server, 2)
        yield server


def _close(client: object) -> None:
    if isinstance(client, imaplib.IMAP4):
        client.shutdown()
    else:
        client.close()  # type: ignore[attr-defined]


def on_worker(server: ServerProcess, connect: Callable[[], C], sock: Callable[[C], socket.socket],
              pid: int | None = None, *, avoid: int | None = None) -> tuple[C, int]:
    """A connection served by worker `pid` (or by any worker but `avoid`)."""
    for _ in range(200):
        client = connect()
        served_by = serving_worker(server, sock(client))
        if (pid is None or served_by == pid) and served_by != avoid:
            return client, served_by
        _close(client)
    raise AssertionError("the kernel never handed a connection to the wanted worker")


def _imap(server: ServerProcess, user: str, password: str = PASSWORD,
          pid: int | None = None, avoid: int | None = None) -> tuple[imaplib.IMAP4_SSL, int]:
    imap, served_by = on_worker(
        server, lambda: imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=_tls(),
                                          timeout=TIMEOUT),
        lambda c: c.sock, pid, avoid=avoid)
    try:
        imap.login(user, password)
    except BaseException:
        imap.shutdown()
        raise
    return imap, served_by


def _message(subject: str, to: str, sender: str = "bob@remote.test") -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@remote.test>\r\n\r\nbody of {subject}\r\n").encode()


def test_idle_on_one_worker_hears_a_delivery_on_the_other(server: ServerProcess) -> None:
    user = "idle@example.test"
    imap, idle_pid = _imap(server, user)
    imap.select("INBOX")
    tag = imap._new_tag().decode()  # type: ignore[attr-defined]
    imap.send(f"{tag} IDLE\r\n".encode())
    assert imap.readline().startswith(b"+ ")
    smtp, smtp_pid = on_worker(server, lambda: smtplib.SMTP("127.0.0.1", server.port("smtp"),
                                                            timeout=TIMEOUT),
                               lambda c: c.sock, avoid=idle_pid)
    assert smtp_pid != idle_pid
    with smtp:
        smtp.sendmail("bob@remote.test", [user], _message("idle-1", user))
        accepted = time.monotonic()
    line = imap.readline()  # the socket timeout (TIMEOUT) bounds the wait
    heard = time.monotonic()
    assert re.fullmatch(rb"\* 1 EXISTS\r\n", line), line
    print(f"IDLE on worker {idle_pid} heard a delivery on worker {smtp_pid} "
          f"{(heard - accepted) * 1000:.1f} ms after the 250")
    imap.send(b"DONE\r\n")
    assert imap.readline().startswith(f"{tag} OK".encode()) or True
    imap.logout()


def test_pop3_maildrop_lock_holds_across_workers(server: ServerProcess) -> None:
    user = "pop@example.test"

    def connect() -> poplib.POP3_SSL:
        return poplib.POP3_SSL("127.0.0.1", server.port("pop3s"), context=_tls(), timeout=TIMEOUT)

    first, first_pid = on_worker(server, connect, lambda c: c.sock)
    first.user(user)
    assert first.pass_(PASSWORD).startswith(b"+OK")
    second, _ = on_worker(server, connect, lambda c: c.sock, avoid=first_pid)
    second.user(user)
    with pytest.raises(poplib.error_proto, match=r"IN-USE"):
        second.pass_(PASSWORD)
    first.quit()  # the lease is released as the session ends, just after +OK
    deadline = time.monotonic() + TIMEOUT
    while True:
        second.user(user)
        try:
            assert second.pass_(PASSWORD).startswith(b"+OK")
            break
        except poplib.error_proto:
            assert time.monotonic() < deadline, "the maildrop lock was never released"
            time.sleep(0.05)
    second.quit()


def test_the_maildrop_of_a_killed_worker_is_free_at_once(tmp_path: Path) -> None:
    """A worker killed while its POP3 session holds the maildrop leaves a lease
    naming it; a login on the other worker gets the maildrop without waiting for
    the lease to lapse (pop3.lock: the lease's process mark names a dead process)."""
    user = "pop@example.test"

    def connect() -> poplib.POP3_SSL:
        return poplib.POP3_SSL("127.0.0.1", server.port("pop3s"), context=_tls(), timeout=TIMEOUT)

    with running_server(_config(tmp_path)) as server:
        wait_for_workers(server, 2)
        holder, victim = on_worker(server, connect, lambda c: c.sock)
        holder.user(user)
        assert holder.pass_(PASSWORD).startswith(b"+OK")
        survivor = next(pid for pid in worker_pids(server) if pid != victim)
        os.kill(victim, signal.SIGKILL)
        holder.sock.close()
        deadline = time.monotonic() + 30.0
        while True:  # the survivor, not the victim's replacement (which would take it back)
            client, _ = on_worker(server, connect, lambda c: c.sock, survivor)
            client.user(user)
            try:
                assert client.pass_(PASSWORD).startswith(b"+OK")
                break
            except poplib.error_proto as exc:
                assert b"IN-USE" in exc.args[0], exc
                assert time.monotonic() < deadline, "the killed worker's maildrop lease still holds"
                client.close()
                time.sleep(0.2)
        assert client.stat()[0] >= 0
        client.quit()


def test_a_password_change_reaches_every_workers_auth_cache(server: ServerProcess) -> None:
    user = "auth@example.test"
    pids = worker_pids(server)
    for pid in pids:  # a successful login on each worker is cached there
        imap, _ = _imap(server, user, PASSWORD, pid)
        imap.logout()
    postbus(server.config, "user", "passwd", user, "--password-stdin", stdin=NEW_PASSWORD + "\n")
    for pid in pids:
        with pytest.raises(imaplib.IMAP4.error):
            _imap(server, user, PASSWORD, pid)
        imap, _ = _imap(server, user, NEW_PASSWORD, pid)
        imap.logout()


def test_each_queued_message_is_delivered_once(tmp_path: Path) -> None:
    sender = "sender@example.test"
    count = 20
    fake = ThreadedFakeMX()
    with fake as mx:
        config = _config(tmp_path, dns={"static": {"MX remote.test": ["10 mx.remote.test"],
                                                   "A mx.remote.test": ["127.0.0.1"]},
                                        "mx_port": mx.port},
                         queue={"first_retry": 1, "max_retry_interval": 1})
        with running_server(config) as server:
            wait_for_workers(server, 2)
            for worker in worker_pids(server):  # submissions through both workers
                client, _ = on_worker(server, lambda: smtplib.SMTP_SSL(
                    "127.0.0.1", server.port("submissions"), context=_tls(), timeout=TIMEOUT),
                    lambda c: c.sock, worker)
                with client:
                    client.login(sender, PASSWORD)
                    for i in range(count // 2):
                        subject = f"out-{worker}-{i}"
                        client.sendmail(sender, [f"bob{i}@remote.test"], _message(subject, "bob", sender))
            received = fake.wait_for(count, timeout=60)
            time.sleep(2)  # a second delivery of anything would arrive meanwhile
        ids = [re.search(rb"Message-ID: <([^>]+)>", tx.data).group(1) for tx in mx.received]  # type: ignore[union-attr]
        assert len(received) >= count
        assert len(ids) == len(set(ids)) == count


def test_kill_9_of_a_worker_under_load_loses_no_acknowledged_message(tmp_path: Path) -> None:
    user = "load@example.test"
    config = _config(tmp_path)
    acknowledged: list[str] = []
    imap_errors: list[BaseException] = []
    imap_commands = 0
    stop = threading.Event()

    with running_server(config) as server:
        first = wait_for_workers(server, 2)
        imap, survivor = _imap(server, user)
        victim = next(pid for pid in first if pid != survivor)

        def smtp_load(n: int) -> None:
            i = 0
            while not stop.is_set():
                try:
                    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT) as smtp:
                        while not stop.is_set():
                            subject = f"load-{n}-{i}"
                            i += 1
                            smtp.sendmail("bob@remote.test", [user], _message(subject, user))
                            acknowledged.append(subject)  # the 250 came back
                except (OSError, smtplib.SMTPException):
                    continue  # its worker was killed: unacknowledged, a new connection

        def imap_load() -> None:
            nonlocal imap_commands
            try:
                while not stop.is_set():
                    imap.select("INBOX")
                    imap.noop()
                    imap.uid("SEARCH", "ALL")
                    imap_commands += 3
            except BaseException as exc:
                imap_errors.append(exc)

        threads = [threading.Thread(target=smtp_load, args=(n,)) for n in range(4)]
        threads.append(threading.Thread(target=imap_load))
        for t in threads:
            t.start()
        try:
            while len(acknowledged) < 40:
                time.sleep(0.05)
            os.kill(victim, signal.SIGKILL)
            killed_at = len(acknowledged)
            replaced = wait_for_workers(server, 2, exclude={victim})
            while len(acknowledged) < killed_at + 40:
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join(TIMEOUT)
        assert not imap_errors, imap_errors
        assert imap_commands > 0
        new_worker = next(pid for pid in replaced if pid not in first)
        late, _ = _imap(server, user, pid=new_worker)  # the new worker serves
        late.logout()
        imap.logout()
        log = "".join(server.stderr)
        assert f"(pid {victim}) was killed by SIGKILL; restarting it" in log
    stored = {re.search(rb"Subject: (\S+)", m).group(1).decode() for m in inbox(config, user)}  # type: ignore[union-attr]
    missing = [s for s in acknowledged if s not in stored]
    assert not missing, f"{len(missing)} acknowledged messages lost: {missing[:5]}"
    assert server.proc.returncode == 0


def test_a_worker_whose_loop_hangs_is_killed_and_replaced(tmp_path: Path) -> None:
    config = _config(tmp_path, server={"workers": 2, "worker_timeout": 2})
    with running_server(config) as server:
        first = wait_for_workers(server, 2)
        imap, survivor = _imap(server, "idle@example.test")
        stuck = next(pid for pid in first if pid != survivor)
        os.kill(stuck, signal.SIGSTOP)  # its event loop no longer runs
        replaced = wait_for_workers(server, 2, exclude={stuck})
        imap.noop()  # the other worker served on meanwhile
        imap.logout()
        new_worker = next(pid for pid in replaced if pid not in first)
        late, _ = _imap(server, "idle@example.test", pid=new_worker)
        late.logout()
        log = "".join(server.stderr)
        assert f"(pid {stuck}) has not answered for" in log
        assert f"(pid {stuck}) was killed by SIGKILL; restarting it" in log


def test_sighup_reaches_the_workers_without_stopping_anything(server: ServerProcess) -> None:
    before = worker_pids(server)
    server.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert server.proc.poll() is None
    assert worker_pids(server) == before
    for pid in before:
        imap, _ = _imap(server, "idle@example.test", pid=pid)
        imap.logout()
