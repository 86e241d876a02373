"""Which worker process of a `postbus serve` serves a given client connection.

The kernel hands each accepted connection to one worker; a test that needs
two sessions on different workers opens connections until it has them, and
finds the worker of each through /proc: the server side of the client's
socket is the TCP socket whose remote port is the client's local port, and
its inode appears among the file descriptors of exactly one worker.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from tests.support.server import ServerProcess

FIND_TIMEOUT = 10.0


def worker_pids(server: ServerProcess) -> list[int]:
    """The supervisor's children: its worker processes."""
    pid = server.proc.pid
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def wait_for_workers(server: ServerProcess, count: int, *, exclude: set[int] = frozenset(),  # type: ignore[assignment]
                     timeout: float = 30.0) -> list[int]:
    """Waits until `count` workers run, none of them in `exclude`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = worker_pids(server)
        if len(pids) == count and not set(pids) & exclude:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"expected {count} workers, have {worker_pids(server)}")


def _server_side_inodes(client: socket.socket) -> set[str]:
    local_port = client.getsockname()[1]
    server_port = client.getpeername()[1]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == server_port and \
                    int(remote.rsplit(":", 1)[1], 16) == local_port:
                inodes.add(inode)
    return inodes


def serving_worker(server: ServerProcess, client: socket.socket) -> int:
    """The pid of the worker that accepted `client`'s connection."""
    deadline = time.monotonic() + FIND_TIMEOUT
    while time.monotonic() < deadline:
        wanted = {f"socket:[{inode}]" for inode in _server_side_inodes(client)}
        for pid in worker_pids(server):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                        return pid
                except OSError:
                    continue
        time.sleep(0.02)
    raise AssertionError("no worker holds the connection")
