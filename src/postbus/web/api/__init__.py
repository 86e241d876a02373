"""The JSON API under /api/v1 (issue 14): the administration service over HTTPS.

`build_api` returns the ASGI app that `web/server.py` mounts at /api/v1. The
routes are in `routes.py`, the request validators in `body.py`, and the
OpenAPI document served at /api/v1/openapi.json in `openapi.py`; a test keeps
the three in step. Invariants: every resource but the document needs an
administrator's bearer token; every link or server name the API shows is
built from the configured hostname, never from the request's Host header.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from postbus.admin import Administration
from postbus.web.api import openapi
from postbus.web.api.routes import ROUTES

__all__ = ["PREFIX", "build_api", "http_error"]

PREFIX = "/api/"


async def http_error(request: Request, exc: Exception) -> Response:
    """The routers' own 404 (no such path) and 405 under /api/, as JSON like every
    other answer of the API; the web app installs it for paths that do not even
    reach the mount (one with a newline in it)."""
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(PREFIX):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code,
                            headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


def build_api(admin: Administration, public_url: str) -> Starlette:
    """`public_url`: https://HOSTNAME[:port] from the configuration."""
    doc = openapi.document(public_url.rstrip("/") + "/api/v1")

    async def document(request: Request) -> Response:
        return JSONResponse(doc)

    api = Starlette(routes=[Route("/openapi.json", document, methods=["GET"]), *ROUTES],
                    exception_handlers={HTTPException: http_error})
    api.state.admin = admin
    return api
