"""Start a real `postbus serve` for a test: its own data_dir, every listener on
127.0.0.1 port 0 (the kernel picks free ports, so parallel runs never clash),
the bound ports read from its start-up lines, SIGTERM at the end, and a check
that it exited 0 without a traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LISTENERS = ("smtp", "submissions", "submission", "imaps", "imap", "pop3s", "pop3", "https")
START_TIMEOUT = 30.0
CREATED_DATABASES: list[str] = []
# POSTBUS_TEST_WORKERS=2 runs every server the integration tests start with two
# worker processes under the supervisor (`[server] workers`); 1 by default.
TEST_WORKERS = int(os.environ.get("POSTBUS_TEST_WORKERS", "1"))


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f'"{k}" = {toml_value(x)}' for k, x in v.items()) + "}"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(directory: Path, overrides: dict[str, dict[str, Any]] | None = None,
                 **top: Any) -> Path:
    sections: dict[str, dict[str, Any]] = {
        "listen": {name: "127.0.0.1:0" for name in LISTENERS} | {"http": ""},
        "security": {"auth_failure_delay": 0},
        # The suite runs as root on CI machines; TEST_WORKERS runs it with worker processes.
        "server": {"allow_root": True, "workers": TEST_WORKERS},
    }
    for name, values in (overrides or {}).items():
        sections.setdefault(name, {}).update(values)
    if os.environ.get("POSTBUS_TEST_STORAGE") == "postgresql" and "storage" not in sections:
        # The whole integration suite runs again on PostgreSQL (`make test`),
        # each server on a database of its own, dropped at the end of the run.
        from tests.support.pg import create_database, require_postgres

        require_postgres()
        url = create_database()
        CREATED_DATABASES.append(url)
        sections["storage"] = {"backend": "postgresql", "url": url}
    lines = [f"{k} = {toml_value(v)}" for k, v in {"hostname": "localhost", "data_dir": "var", **top}.items()]
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    path = directory / "postbus.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def postbus(config: Path, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "postbus.cli", "--config", str(config), *args],
        input=stdin, capture_output=True, text=True, timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"postbus {' '.join(args)} failed: {result.stderr.strip()}")
    return result


class ServerProcess:
    def __init__(self, config: Path, proc: subprocess.Popen[str]) -> None:
        self.config = config
        self.proc = proc
        self.ports: dict[str, int] = {}
        self.output: list[str] = []
        self.stderr: list[str] = []

    def port(self, name: str) -> int:
        return self.ports[name]


def _signal_server(wrapper: subprocess.Popen[str], sig: int) -> None:
    """Signals the wrapper's child, the server (a tracer such as strace does not
    always pass a signal on, and a process it stops tracing can be left behind)."""
    try:
        children = Path(f"/proc/{wrapper.pid}/task/{wrapper.pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        try:
            os.kill(int(child), sig)
        except ProcessLookupError:
            pass


def _finish_readers(proc: subprocess.Popen[str], threads: Sequence[threading.Thread]) -> None:
    for t in threads:
        t.join(5)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


@contextmanager
def running_server(config: Path, env: dict[str, str] | None = None,
                   wrapper: Sequence[str] = (), python: str = sys.executable) -> Iterator[ServerProcess]:
    """`wrapper` goes before the command (e.g. strace and its options): signals go
    to its child, the server, and it must exit with the server's status."""
    proc = subprocess.Popen(
        [*wrapper, python, "-m", "postbus.cli", "--config", str(config), "serve"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "POSTBUS_LOOP": "asyncio", **(env or {})},
    )
    server = ServerProcess(config, proc)
    ready = threading.Event()

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            server.output.append(line)
            m = re.match(r"postbus: (\w+) listening on (?:https?://)?[\d.]+:(\d+)", line)
            if m:
                server.ports[m.group(1)] = int(m.group(2))
            if line.strip() == "postbus: ready":
                ready.set()

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            server.stderr.append(line)

    threads = [threading.Thread(target=read_stdout, daemon=True),
               threading.Thread(target=read_stderr, daemon=True)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not ready.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            if wrapper:
                _signal_server(proc, signal.SIGKILL)
            proc.kill()
            proc.wait()
            _finish_readers(proc, threads)  # the whole of stderr, and no pipe left open
            raise AssertionError("server did not start: " + "".join(server.stderr)[-3000:])
    try:
        yield server
    finally:
        if proc.poll() is None:
            if wrapper:
                _signal_server(proc, signal.SIGTERM)
            else:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                if wrapper:
                    _signal_server(proc, signal.SIGKILL)
                proc.kill()
                proc.wait()
        _finish_readers(proc, threads)
    errors = "".join(server.stderr)
    assert "Traceback" not in errors, f"server logged a traceback:\n{errors[-5000:]}"
    assert proc.returncode in (0, -signal.SIGKILL), f"server exit {proc.returncode}:\n{errors[-3000:]}"
