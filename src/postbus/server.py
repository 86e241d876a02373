"""`postbus serve`: every configured listener on one event loop.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from postbus import logs, metrics
from postbus.acme import service as acme_service
from postbus.app import App
from postbus.config import Settings
from postbus.net.connection import IMPLICIT_TLS
from postbus.net.memory import tune_allocator

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


def _address_text(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        text = os.strerror(exc.errno).lower()  # not asyncio's "error while attempting to bind..."
        return f"{text}: {exc.filename}" if exc.filename else text
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _probe(address: tuple[str, int]) -> None:
    """Bind and release `address`, so that a busy port is reported by us rather than
    by uvicorn, which logs the error and exits the process."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)


def _load(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


class Server:
    def __init__(self, settings: Settings, *, announce: Callable[[str], None] | None = None) -> None:
        tune_allocator()  # idle TLS connections' read buffers stay mostly unmapped (issue 11)
        self.settings = settings
        self.app = App(settings)
        self._servers: list[asyncio.Server] = []
        self._web: list[Any] = []
        self._announce = announce or (lambda line: print(line, flush=True))
        self.bound: dict[str, tuple[str, int]] = {}
        self._opened = False

    async def start(self) -> None:
        """Open the store and bind every listener; any failure is a one-line StartError."""
        try:
            await self.app.open()
        except Exception as exc:
            raise StartError(f"cannot open the {self.settings.storage.backend} store: {_reason(exc)}") from exc
        self._opened = True
        app = self.app
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
            where = f"{name} listener on {_address_text(address)}"
            try:
                if module_name not in started_modules and hasattr(module, "start_services"):
                    await module.start_services(app)
                    started_modules.add(module_name)
                factory = module.protocol_factory(app, name)
                if name in IMPLICIT_TLS:
                    self._load_certificate(where)
                server = await loop.create_server(
                    factory, address[0], address[1], reuse_address=True, backlog=512,
                )
            except StartError:
                raise
            except Exception as exc:
                raise StartError(f"cannot start the {where}: {_reason(exc)}") from exc
            self._servers.append(server)
            port = server.sockets[0].getsockname()[1]
            self.bound[name] = (address[0], port)
            tls = "implicit TLS" if name in IMPLICIT_TLS else "plain, STARTTLS offered"
            self._announce(f"postbus: {name} listening on {address[0]}:{port} ({tls})")
        app.spawn(self._maintenance(), "maintenance")
        for name in WEB_LISTENERS:
            address = self.settings.listen_address(name)
            if address is None:
                continue
            from postbus.web.server import start_web

            try:
                _probe(address)
                handle = await start_web(app, name, address)
            except (Exception, SystemExit) as exc:  # uvicorn exits on a bind error
                raise StartError(f"cannot start the {name} listener on {_address_text(address)}:"
                                 f" {_reason(exc)}") from exc
            self._web.append(handle)
            self.bound[name] = (address[0], handle.port)
            scheme = "https" if name == "https" else "http"
            self._announce(f"postbus: {name} listening on {scheme}://{address[0]}:{handle.port}/")
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
            log.info("maintenance: %d unreferenced bodies removed", removed)

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

    async def run_until_signalled(self) -> None:
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
        await stop.wait()
        self._announce("postbus: shutting down")
        await self.stop()


def configure_logging(level: str, fmt: str = "text") -> None:
    logs.configure(level, fmt)


EXIT_START_FAILED = 2


def run(settings: Settings) -> None:
    """Serve until signalled. A start-up failure is one line on stderr and exit 2."""
    configure_logging(settings.log_level, settings.log.format)
    metrics.start(Path(settings.data_dir) / "run" / "metrics")
    server = Server(settings)
    try:
        if os.environ.get("POSTBUS_LOOP", "uvloop") == "uvloop":
            try:
                import uvloop
            except ImportError:
                pass
            else:
                uvloop.run(server.run_until_signalled())
                return
        asyncio.run(server.run_until_signalled())
    except StartError as exc:
        log.debug("start-up failed", exc_info=True)
        print(f"postbus: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_START_FAILED)
