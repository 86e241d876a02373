"""The pre-authentication memory budget, measured on a running server (uvloop, as in
production): 1,000 unauthenticated IMAP connections, each parked inside an unfinished
command with non-synchronising literals (a small one within the budget, then sixteen
of 60 KB, as in the attack that once took 2.9 GB for 2,000 connections), raise the
server's resident memory by at most 16 MiB in total.

The connections come from 127.0.0.10 onwards, 50 per address, so the default
per-address limit admits them all; the test checks they are all still open.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, running_server, write_config

CONNECTIONS = 1000
PER_SOURCE = 50  # the default limits.max_connections_per_ip
BUDGET = 16 * 2**20  # the bound on the growth for all the connections together
PARKED = 2000  # octets of a literal inside the pre-authentication budget (8 KiB)
BIG_LITERALS, BIG = 16, 60_000  # past the budget: read and discarded


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = write_config(tmp_path_factory.mktemp("connection-memory"))
    with running_server(config, env={"POSTBUS_LOOP": "uvloop"}) as srv:
        yield srv


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def settle(pid: int) -> None:
    """Wait until the server has stopped working on what it was sent."""
    last, quiet_since = cpu_ticks(pid), time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() - quiet_since < 1.0:
        assert time.monotonic() < deadline, "the server kept working"
        time.sleep(0.1)
        now = cpu_ticks(pid)
        if now != last:
            last, quiet_since = now, time.monotonic()


def unfinished_command() -> bytes:
    out = b"a1 LOGIN {%d+}\r\n" % PARKED + b"u" * PARKED
    for _ in range(BIG_LITERALS):
        out += b" {%d+}\r\n" % BIG + b"x" * BIG
    return out  # no final CRLF: the command never ends


def park(port: int, source: str, payload: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    greeting = b""
    while not greeting.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        assert chunk, "closed before the greeting"
        greeting += chunk
    assert greeting.startswith(b"* OK "), greeting
    sock.sendall(payload)
    return sock


def still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        data = sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True  # nothing to read and no FIN: open, and the server said nothing
    except OSError as exc:
        assert exc.errno == errno.ECONNRESET, exc
        return False
    raise AssertionError(f"the server answered an unfinished command: {data!r}")


@pytest.mark.slow
def test_unauthenticated_connections_stay_within_the_memory_budget(server: ServerProcess) -> None:
    port, pid = server.port("imap"), server.proc.pid
    payload = unfinished_command()
    # Warm up: the code paths and allocator pools the connections use exist before measuring.
    warm = [park(port, "127.0.0.9", payload) for _ in range(20)]
    settle(pid)
    for sock in warm:
        sock.close()
    settle(pid)
    before = rss(pid)
    held: list[socket.socket] = []
    try:
        for i in range(CONNECTIONS):
            held.append(park(port, f"127.0.0.{10 + i // PER_SOURCE}", payload))
        settle(pid)
        after = rss(pid)
        assert all(still_open(sock) for sock in held)
    finally:
        for sock in held:
            sock.close()
    growth = after - before
    print(f"RSS {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB: "
          f"+{growth / 2**20:.2f} MiB for {CONNECTIONS} connections "
          f"({growth / CONNECTIONS / 1024:.1f} KiB each)")
    assert growth <= BUDGET
