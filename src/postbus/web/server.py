"""The HTTPS (and HTTP-redirect) listeners: a Starlette app under uvicorn on
the server's own event loop. Webmail, admin and API mount here as they come."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from postbus.app import App
from postbus.web.admin import build_admin
from postbus.web.api import build_api, http_error
from postbus.web.autoconfig import routes as client_setup_routes
from postbus.web.metrics import build_listener_app as build_metrics_listener
from postbus.web.metrics import route as metrics_route
from postbus.web.webmail import build_webmail

#: Seconds a stopping server waits for responses in flight (event streams end sooner).
WEB_SHUTDOWN_GRACE = 3


def build_app(app: App) -> Starlette:
    async def healthz(request: Request) -> Response:
        await app.store.list_domains()  # the store answers
        return JSONResponse({"status": "ok", "node": app.settings.node})

    async def index(request: Request) -> Response:
        return PlainTextResponse("Postbus\n")

    async def to_admin(request: Request) -> Response:
        return RedirectResponse("/admin/", status_code=308)

    async def to_webmail(request: Request) -> Response:
        return RedirectResponse("/webmail/", status_code=308)

    web = Starlette(routes=[
        Route("/healthz", healthz), Route("/", index), metrics_route(app),
        *client_setup_routes(app), Route("/webmail", to_webmail),
        Mount("/webmail", app=build_webmail(app)),
        Mount("/api/v1", app=build_api(app.admin, public_url(app))),
        Route("/admin", to_admin), Mount("/admin", app=build_admin(app)),
    ], exception_handlers={HTTPException: http_error})
    web.state.postbus = app
    return web


# RFC 8555 §8.3: the HTTP-01 validation request, answered before any redirect.
ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
# Longest token looked up (RFC 8555 §8.1: base64url of at least 128 bits; CAs use 43 characters).
MAX_ACME_TOKEN = 128


def public_url(app: App) -> str:
    """https://HOSTNAME[:port], from the configuration alone: links and redirects
    never take the request's Host header (CVE-2025-25198 was a reset link built
    from it)."""
    https = app.settings.listen_address("https")
    port = "" if https is None or https[1] in (0, 443) else f":{https[1]}"
    return f"https://{app.settings.hostname}{port}"


def build_redirect(app: App) -> Starlette:
    base = public_url(app)

    async def redirect(request: Request) -> Response:
        path = request.url.path
        if path.startswith(ACME_CHALLENGE_PREFIX):
            token = path[len(ACME_CHALLENGE_PREFIX):]
            acme = app.services.get("acme")
            answer = None
            if acme is not None and 0 < len(token) <= MAX_ACME_TOKEN:
                answer = await acme.http01_response(token)
            if answer is None:
                return PlainTextResponse("no such challenge\n", status_code=404)
            return PlainTextResponse(answer)  # RFC 8555 §8.3: the key authorization
        return RedirectResponse(base + path, status_code=301)

    return Starlette(routes=[*client_setup_routes(app, plain_http=True),
                             Route("/{path:path}", redirect)])


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
    host, port = sockets[0].getsockname()[:2]
    kwargs: dict[str, Any] = {}
    if name == "https":
        # The context every TLS listener uses (net/tls.py: Mozilla intermediate),
        # not uvicorn's own, which would accept CBC suites and every curve.
        kwargs.update(ssl_context_factory=lambda config, default: app.tls)
    if name == "https":
        asgi = build_app(app)
    elif name == "metrics":
        asgi = build_metrics_listener(app)
    else:
        asgi = build_redirect(app)
    config = uvicorn.Config(
        asgi, host=host, port=port, log_level="warning", lifespan="off",
        access_log=False, server_header=False,
        # Long-lived responses (the webmail's event streams) are cut after this at shutdown.
        timeout_graceful_shutdown=WEB_SHUTDOWN_GRACE, **kwargs,
    )
    server = _Server(config)
    task = asyncio.ensure_future(server.serve(sockets=sockets))
    while not server.started:
        if task.done():
            task.result()  # raises the bind error
        await asyncio.sleep(0.01)
    return WebHandle(server, task)
