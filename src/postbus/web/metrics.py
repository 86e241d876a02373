"""``/metrics`` for Prometheus (issue 16 item 4; `postbus.metrics` counts).

Served on the ``https`` listener to an operator's API token (``Authorization:
Bearer TOKEN``, made by ``postbus admin token NAME``): 401 without a token or
with a wrong one, 403 for a token of a domain administrator. Served without a
token on ``[listen] metrics``, a listener of its own that only binds a loopback
address (for a Prometheus on the same machine or behind an SSH tunnel).
"""

from __future__ import annotations

import datetime
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from postbus import metrics
from postbus.app import App
from postbus.executor import Overloaded

# The longest Authorization header we look at; a token is 46 characters.
MAX_AUTHORIZATION = 512


def certificate_days_left(app: App) -> float | None:
    """Days until the certificate the TLS listeners serve now expires (configured,
    ACME or self-signed: ``net.certs.Certificates.not_after``)."""
    try:
        not_after = app.certificates.not_after
    except Exception:  # the certificate does not load: no figure
        return None
    return round((not_after - time.time()) / 86400, 3)


async def render(app: App) -> Response:
    count, oldest = await app.store.queue_stats()
    now = datetime.datetime.now(datetime.UTC).timestamp()
    try:
        days = certificate_days_left(app)
        snapshot = metrics.Snapshot(count, max(0.0, now - oldest) if oldest else 0.0, days)
        body = await app.executor.run("io", metrics.render, snapshot)
    except Overloaded:
        return PlainTextResponse("busy, try again\n", status_code=503)
    return Response(body, media_type=metrics.CONTENT_TYPE)


def route(app: App) -> Route:
    """``/metrics`` behind an operator's bearer token."""

    async def endpoint(request: Request) -> Response:
        header = request.headers.get("authorization", "")[:MAX_AUTHORIZATION]
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return PlainTextResponse("an operator's API token is needed\n", status_code=401,
                                     headers={"WWW-Authenticate": 'Bearer realm="postbus"'})
        admin = await app.accounts.admin_for_token(token.strip())
        if admin is None:
            return PlainTextResponse("unknown token\n", status_code=401,
                                     headers={"WWW-Authenticate": 'Bearer realm="postbus"'})
        if not admin.operator:
            return PlainTextResponse("only operators may read the metrics\n", status_code=403)
        return await render(app)

    return Route("/metrics", endpoint)


def build_listener_app(app: App) -> Starlette:
    """The app of ``[listen] metrics``: ``/metrics`` only, without a token."""

    async def endpoint(request: Request) -> Response:
        return await render(app)

    return Starlette(routes=[Route("/metrics", endpoint)])
