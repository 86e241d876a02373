"""Response headers, cookies and CSRF checks of the webmail.

- Every page carries a strict Content-Security-Policy (`PAGE_CSP`): scripts,
  styles, images and connections only from this origin, no inline script or
  style, no plug-ins, no framing by other sites, forms post only here.
- A message's HTML body is its own document (`BODY_CSP`), shown in a sandboxed
  frame: no script at all, images only from this origin (the message's own
  ``cid:`` parts) unless the user asked for remote content for this message.
- The session cookie is ``__Host-postbus``: HttpOnly, Secure, SameSite=Strict,
  Path=/, no Domain (the ``__Host-`` prefix makes browsers enforce the last three).
- CSRF: every state-changing request carries the session's synchroniser token
  (form field `CSRF_FIELD` or header `CSRF_HEADER`), compared in constant time;
  the login form, which has no session yet, uses a double-submit token tied to
  the `LOGIN_COOKIE`. A request whose Origin names another origin is refused too.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postbus.web.webmail.limits import MAX_CSRF

SESSION_COOKIE = "__Host-postbus"
LOGIN_COOKIE = "__Host-postbus-login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " font-src 'self'; connect-src 'self'; form-action 'self'; frame-src 'self';"
    " frame-ancestors 'none'; base-uri 'none'"
)


def body_csp(remote: bool) -> str:
    """The policy of a message's HTML body: no script ever; remote images only when asked."""
    images = "'self' data: https: http:" if remote else "'self' data:"
    styles = "'unsafe-inline'"  # the sanitised mail's style attributes; no url() passes nh3's filter
    return (f"default-src 'none'; img-src {images}; style-src {styles}; font-src 'none';"
            " form-action 'none'; frame-ancestors 'self'; base-uri 'none'; sandbox"
            " allow-same-origin allow-popups allow-popups-to-escape-sandbox")


_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null"
    # on our own form posts, which the Origin check must refuse.
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)


class SecurityHeaders:
    """ASGI middleware: the common headers on every response, the page CSP and
    ``Cache-Control: no-store`` unless the handler set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _COMMON:
                    headers.setdefault(name.decode(), value.decode())
                headers.setdefault("content-security-policy", PAGE_CSP)
                headers.setdefault("x-frame-options", "DENY")
                static = "/static/" in scope.get("path", "")
                headers.setdefault("cache-control",
                                   "private, max-age=86400" if static else "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def set_session_cookie(response: Response, session_id: str) -> None:
    response.set_cookie(SESSION_COOKIE, session_id, path="/", secure=True, httponly=True,
                        samesite="strict")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True,
                           samesite="strict")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(given: str | None, expected: str) -> bool:
    if not given or len(given) > MAX_CSRF or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another origin: the
    Origin header (RFC 6454 §7; "null" included) or Sec-Fetch-Site (Fetch
    Metadata). A request with neither passes; SameSite=Strict and the token
    still apply."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return bool(host) and origin == f"https://{host}"
