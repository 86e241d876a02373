"""The web app of a real App (store, services) served by uvicorn on
127.0.0.1:0, plain HTTP, on an event loop in a thread of the test process: the
API and panel tests drive it with real HTTP clients, and set up data through
the same services (`ApiServer.run`) on that loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from postbus import config as config_mod
from postbus.app import App
from postbus.web.server import build_app
from tests.support.server import write_config

T = TypeVar("T")
START_TIMEOUT = 30.0


class ApiServer:
    def __init__(self, app: App, loop: asyncio.AbstractEventLoop, port: int) -> None:
        self.app = app
        self.loop = loop
        self.url = f"http://127.0.0.1:{port}"

    def run(self, fn: Callable[[App], Awaitable[T]]) -> T:
        """Runs fn(app) on the server's loop and returns its result."""
        return asyncio.run_coroutine_threadsafe(_call(fn, self.app), self.loop).result(60)


async def _call(fn: Callable[[App], Awaitable[T]], app: App) -> T:
    return await fn(app)


@contextmanager
def api_server(tmp_path: Path, **top: Any) -> Iterator[ApiServer]:
    config = write_config(tmp_path, data_dir=str(tmp_path / "var"), hostname="mail.example.test",
                          **top)
    app = App(config_mod.load(config))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        await app.open()
        server = uvicorn.Server(uvicorn.Config(
            build_app(app), host="127.0.0.1", port=0, log_level="warning", lifespan="off",
            access_log=False))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        holder["server"] = server
        task = asyncio.ensure_future(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        holder["port"] = server.servers[0].sockets[0].getsockname()[1]
        started.set()
        try:
            await task
        finally:
            await app.close()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    if not started.wait(START_TIMEOUT):
        raise AssertionError("the API server did not start")
    try:
        yield ApiServer(app, loop, holder["port"])
    finally:
        holder["server"].should_exit = True
        thread.join(30)
        loop.close()
