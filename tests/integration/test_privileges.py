"""Started as root, `postbus serve` opens its sockets (a port below 1024
included), gives data_dir to [server] user and runs as that user: the
supervisor and every worker, real, effective and saved ids alike. Started as
root with no user and without allow_root, it refuses to serve."""

from __future__ import annotations

import os
import pwd
import random
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import postbus as postbus_pkg
from tests.support.mail import create_mailboxes_sync
from tests.support.mailstore import PASSWORD, inbox
from tests.support.server import running_server, write_config
from tests.support.workers import worker_pids

USER = "nobody"


@pytest.fixture(autouse=True)
def _as_root() -> None:
    if os.geteuid() != 0:
        message = "starting as root is what this test checks"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def reachable_dir() -> Iterator[Path]:
    """A directory the unprivileged user can reach (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="postbus-priv-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _python_for(user: str) -> tuple[str, dict[str, str]]:
    """An interpreter `user` can run this installation with, and its environment.

    A Python under /root (pyenv) is out of an unprivileged user's reach once the
    server has dropped to it; Debian's interpreter of the same version then runs
    the same packages through PYTHONPATH."""
    entry = pwd.getpwnam(user)
    # As the server does: start as root, drop, then import (what imports later needs the same).
    code = (f"import os; os.setgroups([]); os.setgid({entry.pw_gid}); os.setuid({entry.pw_uid}); "
            "import sqlite3, email.parser, uvicorn.protocols.http.h11_impl, postbus.server")
    if subprocess.run([sys.executable, "-c", code], capture_output=True, cwd="/").returncode == 0:
        return sys.executable, {}
    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    paths = [p for p in sys.path if p.endswith("site-packages")] + [str(Path(postbus_pkg.__file__).parents[1])]
    env = {"PYTHONPATH": ":".join(paths)}
    result = subprocess.run([system, "-c", code], capture_output=True, text=True, cwd="/",
                            env={**os.environ, **env})
    assert result.returncode == 0, f"no Python that {user} can run: {result.stderr[-500:]}"
    return system, env


def _free_low_port() -> int:
    for port in random.sample(range(600, 1000), 400):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below 1024")


def _ids(pid: int) -> tuple[list[int], list[int]]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
    gids = next(line for line in status if line.startswith("Gid:")).split()[1:]
    return [int(u) for u in uids], [int(g) for g in gids]


@pytest.mark.parametrize("workers", [1, 2])
def test_root_start_drops_to_the_user_and_keeps_a_low_port(reachable_dir: Path, workers: int) -> None:
    entry = pwd.getpwnam(USER)
    port = _free_low_port()
    config = write_config(reachable_dir, {"listen": {"smtp": f"127.0.0.1:{port}"},
                                          "server": {"workers": workers, "user": USER,
                                                     "allow_root": False}})
    address = "anna@example.test"
    create_mailboxes_sync(config, [address], PASSWORD)  # as root: root's files until serve
    python, env = _python_for(USER)
    with running_server(config, env=env, python=python) as server:
        assert server.port("smtp") == port
        processes = [server.proc.pid, *(worker_pids(server) if workers > 1 else [])]
        assert len(processes) == 1 + (workers if workers > 1 else 0)
        for pid in processes:
            assert _ids(pid) == ([entry.pw_uid] * 4, [entry.pw_gid] * 4), pid
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:  # accepts, and stores as the user
            client.sendmail("bob@remote.test", [address], b"Subject: low port\r\n\r\nhello\r\n")
    data_dir = reachable_dir / "var"
    owners = {p.lstat().st_uid for p in (data_dir, *data_dir.rglob("*"))}
    assert owners == {entry.pw_uid}
    assert any(b"Subject: low port" in m for m in inbox(config, address))


def test_root_without_a_user_is_refused_unless_allowed(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"server": {"allow_root": False}}, log_level="WARNING")
    result = subprocess.run([sys.executable, "-m", "postbus.cli", "--config", str(config), "serve"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == ("postbus: refusing to serve as root: set [server] user to the unprivileged"
                             " user to run as, or [server] allow_root = true\n")
