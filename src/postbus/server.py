"""`postbus serve`: every configured listener on one event loop per process.

`run` opens every listening socket first (`net.sockets`), makes the
self-signed certificate if one is needed, drops root (`security.privileges`),
then serves: in this process when `[server] workers` is 1, else in worker
processes forked by `net.workers.Supervisor`, each running a `Server` on the
inherited sockets. Under systemd the process it started says READY, STOPPING
and WATCHDOG (`sdnotify`).

Each protocol package offers a `listener` module with
`protocol_factory(app, service) -> Callable[[], asyncio.Protocol]` and,
optionally, `async start_services(app)` for its background work (the outbound
queue, for example). On SIGTERM or SIGINT the server stops accepting, asks
every live session to finish, waits up to `SHUTDOWN_GRACE` seconds, closes
what is left, and exits 0. A start-up failure (a port in use, a bad
certificate, a store that cannot be opened) is one line on stderr naming the
listener and its address, and exit 2 (`EXIT_START_FAILED`); the traceback
goes to the log at DEBUG level only.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from postbus import logs, metrics, sdnotify
from postbus.acme import service as acme_service
from postbus.app import App
from postbus.config import Settings
from postbus.net import sockets, workers
from postbus.net.connection import IMPLICIT_TLS, SHARED_COUNTS
from postbus.net.limits import SharedCounts
from postbus.net.memory import tune_allocator
from postbus.net.tls import ensure_self_signed
from postbus.node import NodeProcess
from postbus.security import files, privileges

log = logging.getLogger("postbus.server")

SHUTDOWN_GRACE = 10.0
# Orphaned parse-once records and unreferenced bodies are collected this often.
MAINTENANCE_INTERVAL = 3600.0

# listener name -> module; the sockets are bound plain and the net layer does
# the implicit TLS handshake (postbus.net.connection.IMPLICIT_TLS), after the
# connection has been counted against the listener's limits.
LISTENERS: dict[str, str] = {
    "smtp": "postbus.smtp.listener",
    "submissions": "postbus.smtp.listener",
    "submission": "postbus.smtp.listener",
    "imaps": "postbus.imap.listener",
    "imap": "postbus.imap.listener",
    "pop3s": "postbus.pop3.listener",
    "pop3": "postbus.pop3.listener",
}
WEB_LISTENERS = ("https", "http", "metrics")


class StartError(Exception):
    """A start-up failure, as one line naming what failed (the listener and its address)."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        text = os.strerror(exc.errno).lower()  # not asyncio's "error while attempting to bind..."
        return f"{text}: {exc.filename}" if exc.filename else text
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _load(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def served_names() -> tuple[str, ...]:
    """The listeners this build can serve, in start order; the rest are announced as missing."""
    return tuple(n for n, m in LISTENERS.items() if _load(m) is not None) + WEB_LISTENERS


def bind_listeners(settings: Settings) -> sockets.Listeners:
    """Opens every configured listening socket, or raises a one-line StartError."""
    try:
        return sockets.bind(settings, served_names())
    except sockets.BindError as exc:
        raise StartError(f"cannot start the {exc}") from exc


def listening_line(name: str, sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if name in WEB_LISTENERS:
        scheme = "https" if name == "https" else "http"
        return f"postbus: {name} listening on {scheme}://{host}:{port}/"
    tls = "implicit TLS" if name in IMPLICIT_TLS else "plain, STARTTLS offered"
    return f"postbus: {name} listening on {host}:{port} ({tls})"


class Server:
    """Every listener on one event loop: the whole server (`workers = 1`) or one
    worker process of several (`worker` is then its index, from 0)."""

    def __init__(self, settings: Settings, *, announce: Callable[[str], None] | None = None,
                 listeners: sockets.Listeners | None = None, worker: int | None = None) -> None:
        tune_allocator()  # idle TLS connections' read buffers stay mostly unmapped (issue 11)
        self.settings = settings
        # a worker of several runs its share of the cpu threads (executor.pools)
        self.app = App(settings, processes=1 if worker is None else settings.workers)
        self._servers: list[asyncio.Server] = []
        self._web: list[Any] = []
        self._announce = announce or (lambda line: print(line, flush=True))
        self.bound: dict[str, tuple[str, int]] = {}
        self._opened = False
        self._listeners = listeners
        self.worker = worker

    async def start(self) -> None:
        """Open the store and serve every listener; any failure is a one-line StartError."""
        try:
            await self.app.open()
        except Exception as exc:
            raise StartError(f"cannot open the {self.settings.storage.backend} store: {_reason(exc)}") from exc
        self._opened = True
        app = self.app
        if self._listeners is None:  # in-process servers (tests, benchmarks) bind here
            self._listeners = bind_listeners(self.settings)
        listeners = self._listeners.sockets
        loop = asyncio.get_running_loop()
        started_modules: set[str] = set()
        for name, module_name in LISTENERS.items():
            address = self.settings.listen_address(name)
            if address is None:
                continue
            module = _load(module_name)
            if module is None:
                self._announce(f"postbus: {name} is not part of this build yet; not listening")
                continue
            where = f"{name} listener on {sockets.address_text(address)}"
            try:
                if module_name not in started_modules and hasattr(module, "start_services"):
                    await module.start_services(app)
                    started_modules.add(module_name)
                factory = module.protocol_factory(app, name)
                if name in IMPLICIT_TLS:
                    self._load_certificate(where)
                for sock in listeners[name]:
                    self._servers.append(await loop.create_server(factory, sock=sock, backlog=sockets.BACKLOG))
            except StartError:
                raise
            except Exception as exc:
                raise StartError(f"cannot start the {where}: {_reason(exc)}") from exc
            self.bound[name] = (address[0], self._listeners.port(name))
            self._announce(listening_line(name, listeners[name][0]))
        if self.worker in (None, 0):  # one process collects garbage for the machine
            app.spawn(self._maintenance(), "maintenance")
        for name in WEB_LISTENERS:
            address = self.settings.listen_address(name)
            if address is None:
                continue
            from postbus.web.server import start_web

            try:
                handle = await start_web(app, name, listeners[name])
            except (Exception, SystemExit) as exc:  # uvicorn exits on some errors
                raise StartError(f"cannot start the {name} listener on {sockets.address_text(address)}:"
                                 f" {_reason(exc)}") from exc
            self._web.append(handle)
            self.bound[name] = (address[0], handle.port)
            self._announce(listening_line(name, listeners[name][0]))
        await acme_service.start(app)  # certificate renewal, file watch, SIGHUP

    def _load_certificate(self, where: str) -> None:
        """Load the certificate now: a bad one stops the start, naming its file."""
        try:
            self.app.tls  # noqa: B018
        except Exception as exc:
            cert = self.settings.tls.cert or "the self-signed certificate in data_dir"
            raise StartError(f"cannot start the {where}: certificate {cert}: {_reason(exc)}") from exc

    async def _maintenance(self) -> None:
        while True:
            await asyncio.sleep(MAINTENANCE_INTERVAL)
            removed = await self.app.store.collect_garbage()
            expired = await self.app.throttle.expire_known()
            log.info("maintenance: %d unreferenced bodies, %d expired known login sources"
                     " removed", removed, expired)

    async def stop(self) -> None:
        app = self.app
        app.closing = True
        for server in self._servers:
            server.close()
        for handle in self._web:
            await handle.stop()
        for session in list(app.sessions):
            session.shutdown()
        deadline = asyncio.get_running_loop().time() + SHUTDOWN_GRACE
        # Sessions leave the set as they close; poll it until the deadline.
        while app.sessions and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        for session in list(app.sessions):
            session.abort()
        for server in self._servers:
            await server.wait_closed()
        await app.close()

    async def run_until_signalled(self, on_ready: Callable[[], None] | None = None,
                                  *, notify: bool = False) -> None:
        """Serves until SIGTERM or SIGINT. `notify`: this process is the service
        (`workers = 1`) and tells systemd READY, STOPPING and the watchdog."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
        except StartError:
            if self._opened:
                try:  # release what did start: sockets, services, the store
                    await self.stop()
                except Exception:
                    log.debug("clean-up after a failed start", exc_info=True)
            raise
        self._announce("postbus: ready")
        if on_ready is not None:
            on_ready()
        interval = sdnotify.watchdog_interval() if notify else None
        if notify:
            sdnotify.notify("READY=1")
        if interval is not None:
            self.app.spawn(_watchdog(interval), "watchdog")
        await stop.wait()
        if notify:
            sdnotify.notify("STOPPING=1")
        self._announce("postbus: shutting down")
        await self.stop()


async def _watchdog(interval: float) -> None:
    """WATCHDOG=1 while this event loop runs (a loop that hangs stops the pings)."""
    while True:
        sdnotify.notify("WATCHDOG=1")
        await asyncio.sleep(interval)


def configure_logging(level: str, fmt: str = "text") -> None:
    logs.configure(level, fmt)


EXIT_START_FAILED = 2


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    if os.environ.get("POSTBUS_LOOP", "uvloop") == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(main)
            return
    asyncio.run(main)


def _prepare(settings: Settings, count: int) -> sockets.Listeners:
    """In the first process, before any thread or worker: the listening sockets,
    the self-signed certificate workers would otherwise race to make, then the
    privileges dropped (`security.privileges`)."""
    listeners = bind_listeners(settings)
    try:
        uses_tls = any(settings.listen_address(n) for n in (*IMPLICIT_TLS, "https"))
        if (count > 1 or os.geteuid() == 0) and uses_tls and not settings.tls.cert:
            files.private_dir(settings.data_path())
            ensure_self_signed(settings.data_path(), settings.hostname)
        privileges.drop(settings)
    except (privileges.PrivilegeError, OSError, ValueError) as exc:
        listeners.close()
        raise StartError(str(exc) if not isinstance(exc, OSError) else
                         f"cannot prepare {settings.data_dir}: {_reason(exc)}") from exc
    return listeners


def run(settings: Settings) -> None:
    """Serve until signalled. A start-up failure is one line on stderr and exit 2."""
    configure_logging(settings.log_level, settings.log.format)
    # every process of the server counts into files here (workers inherit it)
    metrics.start(Path(settings.data_dir) / "run" / "metrics")
    try:
        count = settings.workers
        listeners = _prepare(settings, count)
        if count == 1:
            _run_loop(Server(settings, listeners=listeners).run_until_signalled(notify=True))
            return
        counts = SharedCounts(count, list(LISTENERS))
        supervisor = workers.Supervisor(
            listeners, count, lambda index, fd: _worker_main(settings, listeners, counts, index, count, fd),
            announce=lambda line: print(line, flush=True), before_spawn=counts.reset,
            hang_timeout=settings.duration("server", "worker_timeout"), after_exit=metrics.process_died,
            lines=[listening_line(name, socks[0]) for name, socks in listeners.sockets.items()],
        )
        status = supervisor.run()
        if supervisor.start_error is not None:
            raise StartError(supervisor.start_error)
        sys.exit(status)
    except StartError as exc:
        log.debug("start-up failed", exc_info=True)
        print(f"postbus: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_START_FAILED)


def _worker_main(settings: Settings, listeners: sockets.Listeners, counts: SharedCounts,
                 index: int, count: int, status_fd: int) -> int:
    """One worker process: the whole server on the inherited sockets."""
    process = NodeProcess(settings.node, index, count)
    settings.node_name = process.name
    server = Server(settings, listeners=listeners, worker=index,
                    announce=lambda line: log.debug("worker %d: %s", index, line))
    server.app.process = process
    counts.worker = index  # connection limits count over every worker
    server.app.services[SHARED_COUNTS] = counts
    try:
        def ready() -> None:
            workers.report(status_fd, "ready")
            server.app.spawn(workers.heartbeat(status_fd), "heartbeat")

        _run_loop(server.run_until_signalled(ready))
    except StartError as exc:
        log.debug("start-up failed", exc_info=True)
        workers.report(status_fd, f"error {exc}")
        return EXIT_START_FAILED
    return 0
