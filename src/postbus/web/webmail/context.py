"""The request context of every webmail handler, and the decorators that make it.

A handler is ``async def handler(web: Web) -> Response`` wrapped by one of:

- `public`: no session needed (the login page); `web.session` may be None;
- `page`: a GET that needs a live session (else a redirect to the login page);
- `background`: like `page`, for requests the page makes by itself (they do
  not keep the session alive);
- `upload_action(max_size, max_files)`: `action` for a multipart form;
- `action`: a state-changing request (POST) that needs a live session and the
  session's CSRF token (`security.CSRF_FIELD` in the form or the
  `security.CSRF_HEADER` header); a missing or wrong token is 403, and nothing
  is read from the body before the session is known.

The mailbox service's refusals raised by a handler become a 4xx page in one
place (`_refusal`), worded in the user's language; other exceptions are server
faults (500, logged with a traceback by the ASGI server).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from postbus.accounts.websessions import OpenSession
from postbus.app import App
from postbus.mailbox import errors
from postbus.mailbox.service import Mailboxes
from postbus.mailbox.types import Account
from postbus.web.webmail import i18n
from postbus.web.webmail.limits import MAX_FORM_FIELDS, MAX_SMALL_FORM
from postbus.web.webmail.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    same_origin,
    tokens_match,
)

log = logging.getLogger("postbus.web")

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

#: Changes whenever a static file does, so the ``?v=`` of its URL does too.
STATIC_VERSION = format(
    max((f.stat().st_mtime_ns for f in STATIC.iterdir() if f.is_file()), default=0), "x")

Handler = Callable[["Web"], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    """A request the webmail refuses as malformed (400); `text` is for the user."""

    def __init__(self, text: str, status: int = 400) -> None:
        super().__init__(text)
        self.text = text
        self.status = status


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _route_path(app: Any, name: str) -> str:
    """The path of a route without parameters, found once per name (a page lists
    dozens of links; the router's search runs regular expressions)."""
    paths: dict[str, str] = app.state.paths
    path = paths.get(name)
    if path is None:
        path = paths[name] = str(app.router.url_path_for(name))
    return path


class Web:
    """What a handler knows about its request: the app, the session and account
    (None on public pages), the user's language and its gettext."""

    def __init__(self, request: Request, app: App, opened: OpenSession | None) -> None:
        self.request = request
        self.app = app
        self.opened = opened
        self.language = self._language()
        self._ = i18n.translator(self.language)
        self.ngettext = i18n.plural_translator(self.language)
        self._form: dict[str, list[str]] | None = None

    def _language(self) -> str:
        if self.opened is not None and i18n.valid(self.opened.session.language):
            return self.opened.session.language
        asked = self.request.query_params.get("lang", "")
        if i18n.valid(asked):
            return asked
        return i18n.negotiate(self.request.headers.get("accept-language"))

    # -- the logged-in user --------------------------------------------------------------
    @property
    def account(self) -> Account:
        assert self.opened is not None, "a public page has no account"
        return self.opened.account

    @property
    def account_id(self) -> int:
        return self.account.id

    @property
    def csrf_token(self) -> str:
        return self.opened.session.csrf_token if self.opened is not None else ""

    @property
    def mailboxes(self) -> Mailboxes:
        """The mailbox service (`postbus.mailbox.service.Mailboxes`) IMAP uses."""
        return self.app.mailboxes

    # -- responses ----------------------------------------------------------------------
    def url(self, name: str, /, **query: object) -> str:
        """The path of route `name` with a query string of the non-empty `query` values."""
        path = self.request.scope.get("root_path", "") + _route_path(self.request.app, name)
        pairs = [(k, str(v)) for k, v in query.items() if v is not None and v != ""]
        return path + ("?" + urlencode(pairs) if pairs else "")

    def static(self, path: str) -> str:
        """The URL of a file under ``static/`` (versioned, so browsers may cache it)."""
        return (self.request.scope.get("root_path", "")
                + str(self.request.app.router.url_path_for("static", path=path))
                + "?v=" + STATIC_VERSION)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        env: jinja2.Environment = self.request.app.state.templates
        html = env.get_template(template).render(web=self, _=self._, ngettext=self.ngettext,
                                                 web_languages=i18n.LANGUAGES, **context)
        return HTMLResponse(html, status_code=status)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    # -- input --------------------------------------------------------------------------
    async def form(self, max_size: int = MAX_SMALL_FORM) -> Mapping[str, list[str]]:
        """The urlencoded form of the request, at most `max_size` octets and
        `MAX_FORM_FIELDS` fields (413/400 past them), read once."""
        if self._form is None:
            kind = self.request.headers.get("content-type", "").split(";")[0].strip()
            if kind != "application/x-www-form-urlencoded":
                raise BadRequest(self._("The form could not be read."), 415)
            body = bytearray()
            async for chunk in self.request.stream():
                body += chunk
                if len(body) > max_size:
                    raise BadRequest(self._("The form is too large."), 413)
            try:
                pairs = parse_qsl(body.decode(), keep_blank_values=True,
                                  max_num_fields=MAX_FORM_FIELDS)
            except (UnicodeDecodeError, ValueError) as e:
                raise BadRequest(self._("The form could not be read.")) from e
            form: dict[str, list[str]] = {}
            for key, value in pairs:
                form.setdefault(key, []).append(value)
            self._form = form
        return self._form

    async def field(self, name: str, default: str = "", limit: int = 1024) -> str:
        values = (await self.form()).get(name)
        if not values:
            return default
        if len(values[0]) > limit:
            raise BadRequest(self._("A field of the form is too long."))
        return values[0]


async def _opened(app: App, request: Request, touch: bool) -> OpenSession | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is None:
        return None
    return await app.web_sessions.resume(session_id, touch=touch)


@dataclass(frozen=True, slots=True)
class Upload:
    """Limits of a multipart form (`upload_action`)."""

    max_size: int  # octets of the whole request body (Content-Length)
    max_files: int


def _wrap(handler: Handler, *, login: bool, csrf: bool, touch: bool = True,
          upload: Upload | None = None) -> Endpoint:
    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        app: App = request.app.state.postbus
        opened = await _opened(app, request, touch)
        web = Web(request, app, opened)
        if login and opened is None:
            if request.method == "GET" and request.headers.get("accept") != "text/event-stream":
                return web.redirect(web.url("login_form", next=_local_path(request)))
            return PlainTextResponse(web._("Your session has ended. Please log in again."), 401)
        try:
            if csrf:
                refused = await _csrf_refusal(web, upload)
                if refused is not None:
                    return refused
            return await handler(web)
        except BadRequest as e:
            return web.render("error.html", status=e.status, message=e.text)
        except errors.StoreError as e:
            return web.render("error.html", status=_status(e), message=_refusal(web, e))
        finally:
            if upload is not None:
                await request.close()  # the form's spooled files, whatever happened

    return endpoint


async def _csrf_refusal(web: Web, upload: Upload | None) -> Response | None:
    """403 unless the request comes from our origin with the session's token."""
    if not same_origin(web.request):
        return PlainTextResponse(web._("The request came from another site."), 403)
    token = web.request.headers.get(CSRF_HEADER)
    if token is None and upload is not None:
        token = await _multipart_token(web, upload)
    elif token is None:
        token = await web.field(CSRF_FIELD)
    if not tokens_match(token, web.csrf_token):
        return PlainTextResponse(
            web._("The form has expired. Please reload the page and try again."), 403)
    return None


async def _multipart_token(web: Web, upload: Upload) -> str | None:
    """Parses the multipart form within `upload`'s limits (Starlette keeps it: the
    handler's ``await web.request.form()`` gets the same form) and returns its token."""
    request = web.request
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "multipart/form-data":
        raise BadRequest(web._("The form could not be read."), 415)
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise BadRequest(web._("The form could not be read."), 411)
    if int(length) > upload.max_size:
        raise BadRequest(web._("The form is too large."), 413)
    try:
        form = await request.form(max_files=upload.max_files, max_fields=MAX_FORM_FIELDS,
                                  max_part_size=MAX_SMALL_FORM)
    except HTTPException as e:
        raise BadRequest(web._("The form could not be read."), e.status_code) from e
    token = form.get(CSRF_FIELD)
    return token if isinstance(token, str) else None


def public(handler: Handler) -> Endpoint:
    return _wrap(handler, login=False, csrf=False)


def public_action(handler: Handler) -> Endpoint:
    """A POST without a session whose handler checks its own token (the login form)."""
    return _wrap(handler, login=False, csrf=False)


def page(handler: Handler) -> Endpoint:
    return _wrap(handler, login=True, csrf=False)


def action(handler: Handler) -> Endpoint:
    return _wrap(handler, login=True, csrf=True)


def upload_action(max_size: int, max_files: int) -> Callable[[Handler], Endpoint]:
    """Like `action`, for a multipart form (attachments): the body is refused past
    `max_size` octets (by its Content-Length, before it is read) or `max_files`
    files; the token is the form's `CSRF_FIELD` (or the header). The handler reads
    the parsed form with ``await web.request.form()``."""
    def decorate(handler: Handler) -> Endpoint:
        return _wrap(handler, login=True, csrf=True, upload=Upload(max_size, max_files))

    return decorate


def background(handler: Handler) -> Endpoint:
    """A GET the page makes by itself (the event stream): needs a live session but
    does not count as the user's activity, so an unattended page still times out."""
    return _wrap(handler, login=True, csrf=False, touch=False)


def _local_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + ("?" + query if query else "")


def _status(e: errors.StoreError) -> int:
    if isinstance(e, errors.NotFound):
        return 404
    if isinstance(e, errors.OverQuota | errors.TooBig):
        return 413
    return 409


def _refusal(web: Web, e: errors.StoreError) -> str:
    """The user's wording for a refusal of the mailbox service."""
    _ = web._
    if isinstance(e, errors.FolderNotFound):
        return _("There is no such folder.")
    if isinstance(e, errors.NotFound):
        return _("The message or folder no longer exists.")
    if isinstance(e, errors.AlreadyExists):
        return _("A folder with that name already exists.")
    if isinstance(e, errors.OverQuota):
        return _("Your mailbox is full. Empty the Trash or delete some messages.")
    if isinstance(e, errors.LimitReached):
        return _("A limit was reached: %(detail)s", detail=str(e))
    if isinstance(e, errors.InvalidName):
        return _("That folder name is not allowed.")
    if isinstance(e, errors.TooBig):
        return _("The message is too large.")
    return _("That is not possible.")
