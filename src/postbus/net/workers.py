"""Worker processes under a small supervisor (`[server] workers` > 1).

One event loop saturates one core, so `postbus serve` forks one worker per
core. The supervisor:

- receives the listening sockets already open (`postbus.net.sockets`), so
  every worker accepts on the same sockets and the kernel spreads the
  connections; it never accepts a connection itself and runs no event loop,
  no thread and no store, so forking it is safe;
- forks the workers; each opens its own store (its own group-committing
  writer on SQLite, its own pool and LISTEN connection on PostgreSQL), runs
  every listener and reports "ready" (or its start-up error) on a pipe;
- announces the listeners and "ready" (and READY=1 to systemd) once every
  worker is ready; a start-up error of any worker stops them all and is the
  one line `postbus serve` prints before exit 2;
- restarts a worker that dies, with a log line and a backoff (from
  `RESTART_MIN` doubling to `RESTART_MAX` while restarted workers keep dying
  within `RESTART_STABLE` seconds); the other workers keep serving meanwhile;
- kills (and so restarts) a worker that has not said "alive" for
  `[server] worker_timeout`: its event loop is stuck;
- passes SIGHUP on to every worker (ignored there unless the server handles it);
- on SIGTERM or SIGINT sends STOPPING=1, passes SIGTERM to every worker (each
  drains as a single-process server does), waits for them and exits 0; a
  worker still alive after `STOP_TIMEOUT` is killed. A supervisor killed
  outright takes its workers with it (`PR_SET_PDEATHSIG`, SIGKILL).

Each worker is a node of its own for what is per node (its name is
`node/wN`: queue claims and leases name it; `postbus.node` says when what a
dead worker held can be taken back at once). Change events reach the other workers
through the store (PostgreSQL NOTIFY, or the SQLite change channel).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import selectors
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from postbus import sdnotify
from postbus.net.sockets import Listeners

log = logging.getLogger("postbus.workers")

RESTART_MIN = 0.1  # seconds before a dead worker is restarted...
RESTART_MAX = 30.0  # ...doubling up to this while restarts keep dying...
RESTART_STABLE = 30.0  # ...within this many seconds of their start
STOP_TIMEOUT = 30.0  # a worker still running this long after SIGTERM is killed
_PR_SET_PDEATHSIG = 1
# A serving worker says "alive" this often from its event loop; one silent for
# `Supervisor.hang_timeout` ([server] worker_timeout) is killed and restarted.
HEARTBEAT_INTERVAL = 1.0
# One status line from a worker ("ready", "error <reason>") is at most this long.
MAX_STATUS_LINE = 4096


@dataclass
class _Worker:
    index: int
    pid: int = 0
    status_fd: int = -1
    started: float = 0.0
    ready: bool = False
    buffer: bytes = b""
    restart_at: float | None = None
    delay: float = RESTART_MIN
    last_seen: float = 0.0  # when it last said anything on its status pipe


WorkerMain = Callable[[int, int], int]  # (index, status fd) -> exit status


def describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"was killed by {name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _die_with_parent() -> None:
    """A worker whose supervisor was killed outright dies with it (Linux prctl):
    a kill -9 of `postbus serve` ends the whole server at once, as it does a
    single process, and leaves no orphan serving without a supervisor."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Supervisor:
    def __init__(self, listeners: Listeners, count: int, worker_main: WorkerMain, *,
                 announce: Callable[[str], None], lines: list[str],
                 before_spawn: Callable[[int], None] = lambda index: None,
                 hang_timeout: float = 60.0,
                 after_exit: Callable[[int], None] = lambda pid: None) -> None:
        self.listeners = listeners
        self.workers = [_Worker(i) for i in range(count)]
        self.worker_main = worker_main
        self.announce = announce
        self.lines = lines  # announced once every worker is ready
        self.before_spawn = before_spawn  # e.g. clears the slot's shared counts
        self.hang_timeout = hang_timeout
        self.after_exit = after_exit  # e.g. drops a dead worker's live metrics
        self._selector = selectors.DefaultSelector()
        self._stop = False
        self._wakeup_r, self._wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.start_error: str | None = None
        self.serving = False  # every worker was ready once: start-up is over

    # -- the supervisor's loop ------------------------------------------------
    def run(self) -> int:
        """Serves until signalled; 0 after a clean stop, EXIT_START_FAILED when
        a worker could not start (the reason is in `start_error`)."""
        from postbus.server import EXIT_START_FAILED

        self._selector.register(self._wakeup_r, selectors.EVENT_READ, None)
        old_wakeup = signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            for worker in self.workers:
                self._spawn(worker)
            watchdog = sdnotify.watchdog_interval()
            next_ping = time.monotonic()
            while not self._stop:
                if not self.serving and all(w.ready for w in self.workers):
                    self.serving = True
                    for line in self.lines:
                        self.announce(line)
                    self.announce("postbus: ready")
                    sdnotify.notify("READY=1")
                if self.start_error is not None:
                    break
                now = time.monotonic()
                if watchdog is not None and self.serving and now >= next_ping:
                    sdnotify.notify("WATCHDOG=1")
                    next_ping = now + watchdog
                for worker in self.workers:
                    if worker.restart_at is not None and now >= worker.restart_at:
                        self._spawn(worker)
                    elif worker.pid and worker.ready and now - worker.last_seen > self.hang_timeout:
                        log.error("worker %d (pid %d) has not answered for %.0fs; killing it",
                                  worker.index, worker.pid, now - worker.last_seen)
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(worker.pid, signal.SIGKILL)
                        worker.last_seen = now  # reaped, then restarted
                self._poll(self._timeout(watchdog and next_ping))
            if self.start_error is None:
                sdnotify.notify("STOPPING=1")
                self.announce("postbus: shutting down")
            self._stop_all()
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
        return 0 if self.start_error is None else EXIT_START_FAILED

    def _on_signal(self, signum: int, frame: object) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self._stop = True
        elif signum == signal.SIGHUP:  # "re-read": each worker does what SIGHUP means to it
            for worker in self.workers:
                if worker.pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(worker.pid, signal.SIGHUP)
        # SIGCHLD: the wake-up byte is enough; `_poll` reaps.

    def _timeout(self, next_ping: float | None) -> float:
        times = [w.restart_at for w in self.workers if w.restart_at is not None]
        if next_ping:
            times.append(next_ping)
        if not times:
            return 1.0
        return max(0.0, min(min(times) - time.monotonic(), 1.0))

    def _poll(self, timeout: float) -> None:
        for key, _ in self._selector.select(timeout):
            if key.data is None:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wakeup_r, 512):
                        pass
            else:
                self._read_status(key.data)
        self._reap()

    # -- workers --------------------------------------------------------------
    def _spawn(self, worker: _Worker) -> None:
        self.before_spawn(worker.index)
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:  # the worker
            status = 1
            try:
                os.close(read_fd)
                os.set_blocking(write_fd, False)  # a supervisor that lags never stalls a worker
                self._become_worker()
                status = self.worker_main(worker.index, write_fd)
            except BaseException:
                traceback.print_exc()
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(status)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        worker.pid, worker.status_fd = pid, read_fd
        worker.started, worker.ready, worker.buffer, worker.restart_at = time.monotonic(), False, b"", None
        worker.last_seen = worker.started
        self._selector.register(read_fd, selectors.EVENT_READ, worker)
        log.debug("worker %d started (pid %d)", worker.index, pid)

    def _become_worker(self) -> None:
        parent = os.getppid()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        # Ignored unless the server installs a handler of its own (a reload):
        # a forwarded SIGHUP must not kill the worker.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self._selector.close()
        for fd in (self._wakeup_r, self._wakeup_w, *(w.status_fd for w in self.workers)):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        _die_with_parent()
        if os.getppid() != parent:  # the supervisor died before prctl took effect
            os._exit(1)

    def _read_status(self, worker: _Worker) -> None:
        try:
            data = os.read(worker.status_fd, MAX_STATUS_LINE)
        except BlockingIOError:
            return
        if not data:  # the worker closed its end: it exited, `_reap` sees to it
            self._close_status(worker)
            return
        worker.buffer += data
        worker.last_seen = time.monotonic()
        while b"\n" in worker.buffer:
            line, _, worker.buffer = worker.buffer.partition(b"\n")
            self._status(worker, line.decode("utf-8", "replace"))
        worker.buffer = worker.buffer[-MAX_STATUS_LINE:]

    def _status(self, worker: _Worker, line: str) -> None:
        if line == "alive":
            return
        if line == "ready":
            if self.serving:
                log.warning("worker %d (pid %d) serves again", worker.index, worker.pid)
            worker.ready = True
        elif line.startswith("error "):
            if not self.serving:
                self.start_error = self.start_error or line[len("error "):]
            else:
                log.error("worker %d could not start: %s", worker.index, line[len("error "):])

    def _close_status(self, worker: _Worker) -> None:
        if worker.status_fd >= 0:
            self._selector.unregister(worker.status_fd)
            os.close(worker.status_fd)
            worker.status_fd = -1

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = next((w for w in self.workers if w.pid == pid), None)
            if worker is None:
                continue
            try:
                self.after_exit(pid)
            except Exception:
                log.exception("clean-up after worker %d (pid %d) failed", worker.index, pid)
            # Read what it said before it died (a start-up error, say).
            if worker.status_fd >= 0:
                self._read_status(worker)
                self._close_status(worker)
            worker.pid = 0
            if self._stop or self.start_error is not None:
                continue
            if not self.serving:
                self.start_error = f"worker {worker.index} {describe_status(status)} while starting"
                continue
            lived = time.monotonic() - worker.started
            worker.delay = RESTART_MIN if lived >= RESTART_STABLE else min(worker.delay * 2, RESTART_MAX)
            worker.restart_at = time.monotonic() + worker.delay
            worker.ready = False
            log.error("worker %d (pid %d) %s; restarting it in %.1fs",
                      worker.index, pid, describe_status(status), worker.delay)

    def _stop_all(self) -> None:
        for worker in self.workers:
            worker.restart_at = None
            if worker.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(w.pid for w in self.workers):
            if time.monotonic() > deadline:
                for worker in self.workers:
                    if worker.pid:
                        log.error("worker %d (pid %d) did not stop; killing it", worker.index, worker.pid)
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(worker.pid, signal.SIGKILL)
                deadline = float("inf")
            self._poll(0.1)
        self._selector.close()
        for fd in (self._wakeup_r, self._wakeup_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.listeners.close()


async def heartbeat(fd: int) -> None:
    """A worker's "alive" lines while its event loop runs (see HEARTBEAT_INTERVAL)."""
    while True:
        report(fd, "alive")
        await asyncio.sleep(HEARTBEAT_INTERVAL)


def report(fd: int, line: str) -> None:
    """A worker's status line to its supervisor ("ready", "error <reason>")."""
    data = (line.replace("\n", " ")[: MAX_STATUS_LINE - 1] + "\n").encode()
    try:
        os.write(fd, data)
    except BlockingIOError:
        log.debug("the supervisor's pipe is full; %r not sent", line)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
