"""The HTTPS (and HTTP-redirect) listeners: a Starlette app under uvicorn on
the server's own event loop. Webmail, admin and API mount here as they come."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from postbus.app import App
from postbus.net.tls import ensure_self_signed


def build_app(app: App) -> Starlette:
    async def healthz(request: Request) -> Response:
        await app.store.list_domains()  # the store answers
        return JSONResponse({"status": "ok", "node": app.settings.node})

    async def index(request: Request) -> Response:
        return PlainTextResponse("Postbus\n")

    web = Starlette(routes=[Route("/healthz", healthz), Route("/", index)])
    web.state.postbus = app
    return web


def build_redirect(app: App) -> Starlette:
    https = app.settings.listen_address("https")
    port = "" if https is None or https[1] == 443 else f":{https[1]}"

    async def redirect(request: Request) -> Response:
        host = (request.url.hostname or app.settings.hostname)
        return RedirectResponse(f"https://{host}{port}{request.url.path}", status_code=301)

    return Starlette(routes=[Route("/{path:path}", redirect)])


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the postbus server owns the signals
        pass

    @property
    def port(self) -> int:
        return int(self.servers[0].sockets[0].getsockname()[1])


class WebHandle:
    def __init__(self, server: _Server, task: asyncio.Task[Any]) -> None:
        self._server = server
        self._task = task
        self.port = server.port

    async def stop(self) -> None:
        self._server.should_exit = True
        await self._task


async def start_web(app: App, name: str, sockets: list[socket.socket]) -> WebHandle:
    """Serves listener `name` on its open listening `sockets` (`postbus.net.sockets`)."""
    s = app.settings
    host, port = sockets[0].getsockname()[:2]
    kwargs: dict[str, Any] = {}
    if name == "https":
        if s.tls.cert and s.tls.key:
            kwargs.update(ssl_certfile=s.tls.cert, ssl_keyfile=s.tls.key)
        else:
            cert, key = ensure_self_signed(Path(s.data_dir), s.hostname)
            kwargs.update(ssl_certfile=str(cert), ssl_keyfile=str(key))
    asgi = build_app(app) if name == "https" else build_redirect(app)
    config = uvicorn.Config(
        asgi, host=host, port=port, log_level="warning", lifespan="off",
        access_log=False, server_header=False, **kwargs,
    )
    server = _Server(config)
    task = asyncio.ensure_future(server.serve(sockets=sockets))
    while not server.started:
        if task.done():
            task.result()  # raises the bind error
        await asyncio.sleep(0.01)
    return WebHandle(server, task)
