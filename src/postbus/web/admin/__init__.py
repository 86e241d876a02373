"""The admin panel at ``https://HOST/admin`` (issue 14): server-rendered pages
over the administration service that the CLI and the JSON API use.

Invariants: every screen calls `postbus.admin` and nothing below it; the
session is the panel's own (`context.SESSION_COOKIE`), opened only by an
administrator's name and password (and TOTP code when enrolled), never by
mailbox credentials; every POST carries the session's CSRF token; every page
has the webmail's strict CSP and headers (`webmail.security.SecurityHeaders`);
links are paths, never built from the Host header.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from postbus.app import App
from postbus.web.admin import pages
from postbus.web.admin.context import HERE, environment
from postbus.web.webmail.security import SecurityHeaders

__all__ = ["build_admin"]

GET, POST = ["GET"], ["POST"]

ROUTES: list[BaseRoute] = [
    Route("/", pages.home, methods=GET),
    Route("/login", pages.login_page, methods=GET),
    Route("/login", pages.login, methods=POST),
    Route("/logout", pages.logout, methods=POST),
    Route("/domain", pages.domain, methods=GET),
    Route("/domain/dns", pages.dns_page, methods=GET),
    Route("/domain/add", pages.domain_add, methods=POST),
    Route("/domain/suspend", pages.domain_suspend, methods=POST),
    Route("/domain/remove", pages.domain_remove, methods=POST),
    Route("/mailbox", pages.mailbox, methods=GET),
    Route("/mailbox/create", pages.mailbox_create, methods=POST),
    Route("/mailbox/update", pages.mailbox_update, methods=POST),
    Route("/mailbox/password", pages.mailbox_password, methods=POST),
    Route("/mailbox/delete", pages.mailbox_delete, methods=POST),
    Route("/mailbox/forwarding", pages.forwarding, methods=POST),
    Route("/mailbox/vacation", pages.vacation, methods=POST),
    Route("/alias/add", pages.alias_add, methods=POST),
    Route("/alias/remove", pages.alias_remove, methods=POST),
    Route("/admins", pages.admins, methods=GET),
    Route("/admins/add", pages.admin_add, methods=POST),
    Route("/admins/remove", pages.admin_remove, methods=POST),
    Route("/tokens", pages.tokens, methods=GET),
    Route("/tokens/create", pages.token_create, methods=POST),
    Route("/tokens/revoke", pages.token_revoke, methods=POST),
    Route("/password", pages.own_password, methods=POST),
    Route("/audit", pages.audit, methods=GET),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]


def build_admin(app: App) -> Starlette:
    """The panel as an ASGI app, to be mounted at ``/admin``."""
    web = Starlette(routes=ROUTES)
    web.state.postbus = app
    web.state.admin = app.admin
    web.state.templates = environment()
    web.add_middleware(SecurityHeaders)
    return web
