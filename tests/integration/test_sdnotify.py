"""`postbus serve` under a service manager of `Type=notify` (sd_notify(3)):
READY=1 once it serves, WATCHDOG=1 pings when WATCHDOG_USEC asks for them,
STOPPING=1 on SIGTERM; with one process and with a supervisor of two workers.
The manager's socket is an abstract unix datagram socket of the test's own."""

from __future__ import annotations

import secrets
import socket
import time
from pathlib import Path

import pytest

from tests.support.server import running_server, write_config

WATCHDOG_USEC = 200_000  # pings every 0.1 s


def _received(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


@pytest.mark.parametrize("workers", [1, 2])
def test_ready_watchdog_and_stopping_reach_the_service_manager(tmp_path: Path, workers: int) -> None:
    name = f"@postbus-test-{secrets.token_hex(6)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind("\0" + name[1:])
        manager.setblocking(False)
        config = write_config(tmp_path, {"server": {"workers": workers}})
        env = {"NOTIFY_SOCKET": name, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
        with running_server(config, env=env):
            deadline = time.monotonic() + 20
            seen: list[str] = []
            while seen.count("WATCHDOG=1") < 3:
                assert time.monotonic() < deadline, seen
                time.sleep(0.1)
                seen += _received(manager)
            assert seen[0] == "READY=1"  # no ping before it
        time.sleep(0.1)
        seen += _received(manager)
    assert seen.count("READY=1") == 1
    assert seen.count("STOPPING=1") == 1
    assert set(seen[seen.index("STOPPING=1") + 1:]) <= {"WATCHDOG=1"}
