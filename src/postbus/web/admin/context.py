"""What every panel handler shares: the session cookie, the CSRF check, bounded
form reading, rendering, and the service's refusals as pages.

- The session cookie is ``__Host-postbus-admin`` (HttpOnly, Secure,
  SameSite=Strict, Path=/): another cookie than the webmail's, so a mailbox
  session never opens the panel. Sessions live in the store
  (`Administration.open_session`), the cookie holds a random id whose SHA-256
  the store keeps.
- Every POST carries the session's CSRF token (the login form: a double-submit
  token in `LOGIN_COOKIE`) and must not come from another origin.
- Templates are files rendered with autoescape; what administrators enter is
  passed to them as values, never compiled as a template.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from postbus.admin import (
    Actor,
    AdminError,
    Administration,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Throttled,
    Unauthenticated,
)
from postbus.web.admin.i18n import (
    LANG_COOKIE,
    LANGUAGES,
    N_,
    language_links,
    language_of,
    translator,
)
from postbus.web.webmail.security import same_origin, tokens_match

log = logging.getLogger("postbus.admin")

HERE = Path(__file__).parent
SESSION_COOKIE = "__Host-postbus-admin"
LOGIN_COOKIE = "__Host-postbus-admin-login"
MAX_FORM_BYTES = 64 * 1024  # a panel form, vacation text included
MAX_FORM_FIELDS = 20
MAX_FIELD = 16 * 1024  # characters of one field

STATUS: dict[type[AdminError], int] = {
    Unauthenticated: 401, Forbidden: 403, NotFound: 404, Conflict: 409, Invalid: 422,
    Throttled: 429,
}


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["utc"] = utc
    return env


def utc(when: float) -> str:
    """A Unix time as the panel shows it: "2026-12-03 17:58 UTC"."""
    return datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


class Panel:
    """One request to the panel: the service, the administrator and their CSRF token."""

    def __init__(self, request: Request, actor: Actor, csrf: str) -> None:
        self.request = request
        self.actor = actor
        self.csrf = csrf
        self._form: FormData | None = None

    @property
    def admin(self) -> Administration:
        service: Administration = self.request.app.state.admin
        return service

    def field(self, name: str, default: str = "") -> str:
        assert self._form is not None
        value = self._form.get(name, default)
        if not isinstance(value, str):
            raise Invalid(N_("A field of the form is not text."))
        if len(value) > MAX_FIELD:
            raise Invalid(N_("A field of the form is too long."))
        return value

    def t(self, message: str, **values: object) -> str:
        """`message` in the administrator's language."""
        return translator(language_of(self.request))(message, **values)

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        return render(self.request, template, status, actor=self.actor, csrf=self.csrf, **values)


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    env: jinja2.Environment = request.app.state.templates
    lang = language_of(request)
    html = env.get_template(template).render(
        _=translator(lang), lang=lang, languages=LANGUAGES, links=language_links(request),
        **values)
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, path="/", secure=True, httponly=True,
                            samesite="strict")
    return response


def translate(request: Request, message: str) -> str:
    return translator(language_of(request))(message)


def remote(request: Request) -> str:
    return request.client.host if request.client else ""


async def read_form(request: Request) -> FormData:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
        raise Invalid(N_("The form is too large."))
    return await request.form(max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_BYTES)


async def session_of(request: Request) -> tuple[Actor, str] | None:
    service: Administration = request.app.state.admin
    return await service.resume_session(request.cookies.get(SESSION_COOKIE, ""), remote(request))


Handler = Callable[[Panel], Awaitable[Response]]


def _refused(panel: Panel, exc: AdminError) -> Response:
    return panel.render("error.html", STATUS[type(exc)],
                        message=translate(panel.request, str(exc)))


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A GET page for a logged-in administrator; others go to the login form."""
    async def run(request: Request) -> Response:
        found = await session_of(request)
        if found is None:
            return RedirectResponse("/admin/login", status_code=303)
        panel = Panel(request, *found)
        try:
            return await handler(panel)
        except AdminError as exc:
            return _refused(panel, exc)

    return run


def action(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A POST of a logged-in administrator, with the session's CSRF token, from this origin."""
    async def run(request: Request) -> Response:
        found = await session_of(request)
        if found is None:
            return RedirectResponse("/admin/login", status_code=303)
        panel = Panel(request, *found)
        try:
            panel._form = await read_form(request)
            if not same_origin(request) or not tokens_match(panel.field("csrf"), panel.csrf):
                raise Forbidden(N_("The form expired or came from another site; reload the page."))
            return await handler(panel)
        except AdminError as exc:
            return _refused(panel, exc)

    return run


def back(path: str) -> RedirectResponse:
    """After a change, back to a page of the panel (a path: never a host)."""
    return RedirectResponse(path, status_code=303)
