"""The webmail at ``https://HOST/webmail``: server-rendered pages (Starlette +
Jinja2), a little progressive JavaScript, no build step and nothing from
another host.

Invariants:
- Mail is read and changed only through the mailbox service (`App.mailboxes`),
  the one IMAP and POP3 use; logins only through `Accounts.authenticate`;
  sessions only through `accounts.websessions`. Nothing here imports the store.
- Every state-changing request is a POST that carries the session's CSRF token
  (`context.action`); every page carries a strict CSP with no inline script
  (`security`); a message's HTML is sanitised (`sanitize`) and shown in a
  sandboxed frame of its own, remote content blocked until asked.
- Every input a browser controls is bounded by a limit named in `limits`.
- Every string a user reads is translated (`i18n`: English, Dutch, French).

Adding a screen: write ``async def handler(web: Web) -> Response`` decorated
with `context.page` (GET) or `context.action` (POST), add a row to `ROUTES`,
and render a template that extends ``page.html`` with `frame.render_page`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from postbus.app import App
from postbus.web.webmail import auth, contacts, events, mail, prefs, read, search, writing
from postbus.web.webmail.context import STATIC, environment
from postbus.web.webmail.listing import OrderCache
from postbus.web.webmail.security import SecurityHeaders

#: (path, handler, methods, name); `name` is what `Web.url` takes.
ROUTES: tuple[tuple[str, object, tuple[str, ...], str], ...] = (
    ("/", mail.home, ("GET",), "home"),
    ("/login", auth.login_form, ("GET",), "login_form"),
    ("/login", auth.login, ("POST",), "login"),
    ("/logout", auth.logout, ("POST",), "logout"),
    ("/language", auth.set_language, ("POST",), "set_language"),
    ("/mail", mail.mailbox, ("GET",), "mailbox"),
    ("/mail/messages", mail.messages_action, ("POST",), "messages_action"),
    ("/mail/empty", mail.empty_folder, ("POST",), "empty_folder"),
    ("/folders", mail.folders_page, ("GET",), "folders_page"),
    ("/folders/create", mail.folder_create, ("POST",), "folder_create"),
    ("/folders/rename", mail.folder_rename, ("POST",), "folder_rename"),
    ("/folders/delete", mail.folder_delete, ("POST",), "folder_delete"),
    ("/message", read.message, ("GET",), "message"),
    ("/message/body", read.body, ("GET",), "message_body"),
    ("/message/part", read.part, ("GET",), "message_part"),
    ("/message/cid", read.cid, ("GET",), "message_cid"),
    ("/message/source", read.source, ("GET",), "message_source"),
    ("/message/remote-sender", read.remote_sender, ("POST",), "remote_sender"),
    ("/search", search.search_page, ("GET",), "search_page"),
    ("/events", events.stream, ("GET",), "events"),
    # writing, contacts and settings (compose helper): each module lists its own routes
    *writing.ROUTES,
    *contacts.ROUTES,
    *prefs.ROUTES,
)


def build_webmail(app: App, extra: tuple[BaseRoute, ...] = ()) -> Starlette:
    """The webmail as an ASGI app, to be mounted at ``/webmail``; `extra` routes
    (another helper's screens) are added before the static files."""
    routes: list[BaseRoute] = [Route(path, endpoint, methods=list(methods), name=name)  # type: ignore[arg-type]
                               for path, endpoint, methods, name in ROUTES]
    routes += extra
    routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    web = Starlette(routes=routes)
    web.state.postbus = app
    web.state.templates = environment()
    web.state.orders = OrderCache()
    web.state.paths = {}  # route name -> path (`context.Web.url`)
    web.add_middleware(SecurityHeaders)
    return web
