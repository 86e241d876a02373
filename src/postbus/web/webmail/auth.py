"""Login and logout.

The password is checked by `Accounts.authenticate`, the one authentication path
IMAP, POP3 and SMTP AUTH use, with the client's address, so the same login
throttling applies (`security.throttle`: the failure's growing pause, and a
ban refused with 429), and a failed login is logged as theirs are
(`security.logins`). The login form has no session yet: its CSRF token is
a double-submit token in `security.LOGIN_COOKIE`. A successful login opens a
store-kept session (`accounts.websessions`) named by a new random id, so a
session id planted before login is never reused (session fixation).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.responses import Response

from postbus.security.logins import log_failed_login, log_login
from postbus.security.throttle import Banned
from postbus.web.webmail import i18n
from postbus.web.webmail.context import Web, action, public, public_action
from postbus.web.webmail.limits import MAX_CREDENTIAL, MAX_NEXT
from postbus.web.webmail.security import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    clear_session_cookie,
    new_token,
    same_origin,
    set_session_cookie,
    tokens_match,
)
from postbus.web.webmail.services import user_services

log = logging.getLogger("postbus.web")


class RequestLog(logging.LoggerAdapter[logging.Logger]):
    """Log lines that start as the protocols' do: ``proto=webmail ip=... port=...``."""

    def __init__(self, web: Web) -> None:
        super().__init__(log, {})
        client = web.request.client
        self.prefix = (f"proto=webmail listener=https ip={client.host} port={client.port}"
                       if client else "proto=webmail listener=https")

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"{self.prefix} {msg}", kwargs


def _safe_next(web: Web, target: str) -> str:
    """Only a path of the webmail itself: never another site (open redirect), never
    a path that leaves /webmail through dot segments."""
    return target if is_local(web.url("home"), target) else web.url("home")


def is_local(home: str, target: str) -> bool:
    root = home.rstrip("/") + "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(root) or target.startswith("//"):
        return False
    if any(c in target for c in "\\\r\n\t") or len(target) > MAX_NEXT:
        return False
    return not any(seg in (".", "..") for seg in unquote(parts.path).split("/"))


def _login_page(web: Web, *, error: str = "", status: int = 200, username: str = "") -> Response:
    token = web.request.cookies.get(LOGIN_COOKIE) or new_token()
    response = web.render("login.html", status=status, login_token=token, error=error,
                          username=username, languages=i18n.LANGUAGES,
                          next=_safe_next(web, web.request.query_params.get("next", "")))
    response.set_cookie(LOGIN_COOKIE, token, path="/", secure=True, httponly=True,
                        samesite="strict")
    return response


@public
async def login_form(web: Web) -> Response:
    if web.opened is not None:
        return web.redirect(web.url("home"))
    return _login_page(web)


@public_action
async def login(web: Web) -> Response:
    _ = web._
    if not same_origin(web.request):
        return _login_page(web, error=_("The request came from another site."), status=403)
    form = await web.form()
    token = (form.get(CSRF_FIELD) or [""])[0]
    if not tokens_match(token, web.request.cookies.get(LOGIN_COOKIE, "")):
        return _login_page(web, error=_("The form has expired. Please try again."), status=403)
    username = (form.get("username") or [""])[0].strip()
    password = (form.get("password") or [""])[0]
    language = (form.get("lang") or [""])[0]
    if not i18n.valid(language):
        language = web.language
    client = web.request.client
    try:
        if len(username) > MAX_CREDENTIAL or len(password) > MAX_CREDENTIAL:
            account = None
        else:
            account = await web.app.accounts.authenticate(
                username, password, source=client.host if client else None)
    except Banned:
        RequestLog(web).info("login refused: the address is banned")
        return _login_page(web, error=_("Too many failed logins from your address. Please try again later."),
                           status=429, username=username[:MAX_CREDENTIAL])
    if account is None:
        await log_failed_login(RequestLog(web), web.app.accounts, username, "webmail")
        if client is None:  # no address, no throttle: the plain pause
            await web.app.auth_failure_pause()
        return _login_page(web, error=_("The user name or password is wrong."), status=401,
                           username=username[:MAX_CREDENTIAL])
    # the language saved in the settings wins over the login page's (compose helper)
    language = await user_services(web.app).preferences.stored_language(account) or language
    session_id, _session = await web.app.web_sessions.open(account, language)
    # Sessions abandoned without a logout are removed here, one indexed DELETE
    # per login, rather than by a timer in every process.
    await web.app.web_sessions.expire_idle()
    log_login(RequestLog(web), account.address, "webmail")
    response = web.redirect(_safe_next(web, (form.get("next") or [""])[0]))
    set_session_cookie(response, session_id)
    response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@action
async def logout(web: Web) -> Response:
    assert web.opened is not None
    await web.app.web_sessions.close(web.opened.session)
    response = web.redirect(web.url("login_form"))
    clear_session_cookie(response)
    return response


@action
async def set_language(web: Web) -> Response:
    """The language menu: the session's language (compose's settings may store it too)."""
    assert web.opened is not None
    language = await web.field("lang")
    if not i18n.valid(language):
        language = i18n.DEFAULT
    await web.app.web_sessions.set_language(web.opened.session, language)
    back = await web.field("next", limit=2048)
    return web.redirect(_safe_next(web, back))
