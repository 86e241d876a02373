"""What a 250 promises (issue 10, item 2): when the server says 250 to the end of
a message, the message is on disk. A real server runs under strace; one message
bigger than the inline limit (so the embedded store writes a body file) arrives
on the MX, and the trace must show, in this order:

- embedded store: the body file's fsync (in blobs/tmp), its rename into
  blobs/ab/cd/, every directory level created for it made durable by an fsync of
  its parent (up to the blob root), the fsync of its directory, then the
  SQLite WAL's sync after the last WAL write (the commit), then the 250;
- PostgreSQL (bodies live in the database): the reply to the autocommitted
  INSERT of the body, then a transaction referencing it whose COMMIT was
  answered by the server, then the 250.

The trace is ordered by completion: a syscall that strace shows as
`<unfinished ...>` counts from its `resumed` line, except the 250, which
counts from its start.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from postbus.store import blobs
from tests.support.mailstore import DOMAIN, inbox, mail_config
from tests.support.server import running_server
from tests.support.tools import require_tool

SYSCALLS = ("fsync", "fdatasync", "rename", "renameat", "renameat2", "mkdir", "mkdirat",
            "pwrite64", "write", "sendto", "recvfrom")
BODY_SIZE = blobs.INLINE_LIMIT * 2  # a file in the embedded store
STRING_LIMIT = 256  # bytes of each buffer strace shows: enough for a blob id in a Bind


@dataclass
class Call:
    name: str
    args: str  # as strace prints them, `unfinished` and `resumed` parts joined
    start: int  # line numbers in the trace
    end: int

    @property
    def fd_path(self) -> str:
        """The file or socket behind the first argument (strace -yy)."""
        m = re.match(r"\d+<(.*?)>(?=[,)]|$)", self.args)
        return m.group(1) if m else ""


def parse_trace(text: str) -> list[Call]:
    calls: list[Call] = []
    pending: dict[tuple[str, str], tuple[str, int]] = {}
    for n, line in enumerate(text.splitlines()):
        m = re.match(r"(\d+) +(.*)", line)
        if not m:
            continue
        pid, rest = m.groups()
        if resumed := re.match(r"<\.\.\. (\w+) resumed>(.*)", rest):
            name = resumed.group(1)
            if (pid, name) in pending:
                args, start = pending.pop((pid, name))
                calls.append(Call(name, args + resumed.group(2), start, n))
        elif unfinished := re.match(r"(\w+)\((.*) <unfinished \.\.\.>$", rest):
            pending[(pid, unfinished.group(1))] = (unfinished.group(2), n)
        elif complete := re.match(r"(\w+)\((.*)\) += ", rest):
            calls.append(Call(complete.group(1), complete.group(2), n, n))
    return calls


@contextmanager
def traced_server(config: Path, trace: Path) -> Iterator[int]:
    strace = require_tool("strace")
    wrapper = [strace, "-f", "-qq", "-yy", "-s", str(STRING_LIMIT), "-o", str(trace),
               "--seccomp-bpf", "-e", "trace=" + ",".join(SYSCALLS)]
    with running_server(config, wrapper=wrapper) as server:
        yield server.port("smtp")


def send_one(port: int, body: bytes) -> int:
    """Sends one message to the MX; returns the client's port."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client_port = int(client.sock.getsockname()[1])
        client.sendmail("sender@remote.test", [f"anna@{DOMAIN}"], body)
    return client_port


def the_250(calls: list[Call], client_port: int) -> Call:
    """The reply to the end of the message: the first 250 the client gets after the 354."""
    to_client = [c for c in calls if c.name in ("sendto", "write")
                 and c.fd_path.endswith(f"->127.0.0.1:{client_port}]")]
    go_ahead = next(i for i, c in enumerate(to_client) if '"354 ' in c.args)
    return next(c for c in to_client[go_ahead:] if '"250 ' in c.args)


def message_body() -> bytes:
    lines = [f"line {n:06d} of a body bigger than the inline limit".encode()
             for n in range(BODY_SIZE // 50)]
    return b"From: sender@remote.test\r\nSubject: fsync order\r\n\r\n" + b"\r\n".join(lines)


def first(calls: list[Call], what: str, test: Callable[[Call], bool]) -> Call:
    found = [c for c in calls if test(c)]
    assert found, f"the trace shows no {what}"
    return found[0]


def test_body_directories_and_commit_are_durable_before_the_250_sqlite(tmp_path: Path) -> None:
    config = mail_config(tmp_path, {"storage": {"backend": "sqlite"}})
    trace = tmp_path / "trace.txt"
    with traced_server(config, trace) as port:
        client_port = send_one(port, message_body())
    calls = parse_trace(trace.read_text(errors="replace"))
    reply = the_250(calls, client_port)
    root = str((tmp_path / "var" / "blobs").resolve())

    # the body: fsync'd in tmp/, renamed to ab/cd/<sha256>
    renames = [c for c in calls if c.name.startswith("rename") and f'"{root}/tmp/' in c.args
               and re.search(rf'"{re.escape(root)}/[0-9a-f]{{2}}/[0-9a-f]{{2}}/[0-9a-f]{{64}}"', c.args)]
    assert len(renames) == 1, f"expected one body file, the trace shows {renames}"
    rename = renames[0]
    tmp_file, final = re.findall(r'"([^"]+)"', rename.args)[:2]
    body_sync = first(calls, f"fsync of {tmp_file}",
                      lambda c: c.name in ("fsync", "fdatasync") and c.fd_path == tmp_file)
    assert body_sync.end < rename.start
    leaf = os.path.dirname(final)
    top = os.path.dirname(leaf)

    def dir_sync(path: str) -> Call:
        return first(calls, f"fsync of the directory {path}",
                     lambda c: c.name == "fsync" and c.fd_path == path and c.start > body_sync.end)

    # every level made for it (fresh store: both), durable in its parent, before the rename
    for level, parent in ((top, root), (leaf, top)):
        made = first(calls, f"mkdir of {level}",
                     lambda c, level=level: c.name.startswith("mkdir") and f'"{level}"' in c.args)
        assert made.end < dir_sync(parent).start and dir_sync(parent).end < rename.start
    leaf_sync = first(calls, f"fsync of {leaf} after the rename",
                      lambda c: c.name == "fsync" and c.fd_path == leaf and c.start > rename.end)

    # the commit: the WAL synced after its last write before the 250, and after the body
    wal = [c for c in calls if c.fd_path.endswith("postbus.sqlite3-wal") and c.end < reply.start]
    last_write = max((c for c in wal if c.name == "pwrite64"), key=lambda c: c.end)
    commit = first(wal, "WAL sync after the last WAL write before the 250",
                   lambda c: c.name in ("fsync", "fdatasync") and c.start > last_write.end)
    assert leaf_sync.end < last_write.start, "the message's transaction was written before its body was durable"
    assert commit.end < reply.start
    assert hashlib.sha256(Path(final).read_bytes()).hexdigest() == os.path.basename(final)


def test_body_and_commit_are_durable_before_the_250_postgresql(tmp_path: Path) -> None:
    from tests.support.pg import throwaway_database

    with throwaway_database() as url:
        # The premise: the server answers COMMIT only once the commit is on disk.
        assert setting(url, "synchronous_commit") == "on" and setting(url, "fsync") == "on"
        config = mail_config(tmp_path, {"storage": {"backend": "postgresql", "url": url}})
        trace = tmp_path / "trace.txt"
        with traced_server(config, trace) as port:
            client_port = send_one(port, message_body())
        [stored] = inbox(config, f"anna@{DOMAIN}")
    blob_id = hashlib.sha256(stored).hexdigest()
    calls = parse_trace(trace.read_text(errors="replace"))
    reply = the_250(calls, client_port)
    body_committed, (begin, commit_answered) = pg_round_trips(calls, blob_id)
    assert body_committed.end < begin.start, "the message's transaction began before its body was stored"
    assert commit_answered.end < reply.start, "the 250 went out before the server answered COMMIT"


def pg_round_trips(calls: list[Call], blob_id: str) -> tuple[Call, tuple[Call, Call]]:
    """On the connections to PostgreSQL: the server's answer to the autocommitted
    INSERT of the body (a send naming the body outside a transaction, then
    `INSERT 0 1`), and the first transaction naming the body: its BEGIN and the
    server's answer to its COMMIT. Queries of the simple protocol (BEGIN;,
    COMMIT;) travel as text, and a Bind carries the body's id as text."""
    body_committed: Call | None = None
    committed: tuple[Call, Call] | None = None
    for fd in sorted({c.fd_path for c in calls if c.fd_path.endswith("->127.0.0.1:5432]")}):
        begin: Call | None = None
        names_blob = False
        awaited = ""  # the answer that completes a round trip we follow
        for c in (c for c in calls if c.fd_path == fd):
            if c.name in ("sendto", "write"):
                if "BEGIN;" in c.args:
                    begin, names_blob = c, False
                elif "COMMIT;" in c.args:
                    awaited = "COMMIT\\0" if begin is not None and names_blob else ""
                    if not awaited:
                        begin = None
                elif "ROLLBACK;" in c.args:
                    begin, awaited = None, ""
                elif blob_id in c.args:
                    if begin is not None:
                        names_blob = True
                    else:
                        awaited = "INSERT 0 1"
            elif c.name == "recvfrom" and awaited and awaited in c.args:
                if awaited == "INSERT 0 1":
                    body_committed = body_committed or c
                elif begin is not None:
                    committed = committed or (begin, c)
                    begin = None
                awaited = ""
    assert body_committed is not None, "the trace shows no committed INSERT of the body"
    assert committed is not None, "the trace shows no committed transaction naming the body"
    return body_committed, committed


def setting(url: str, name: str) -> str:
    import asyncpg

    from tests.support.pg import _run

    async def show() -> str:
        conn = await asyncpg.connect(url)
        try:
            return str(await conn.fetchval(f"SHOW {name}"))
        finally:
            await conn.close()

    return _run(show())
