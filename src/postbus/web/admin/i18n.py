"""Languages of the panel: English (the source), Dutch and French, from the
catalogues under ``locales/``, compiled in memory at import as the webmail's
are. The language is ``?lang=`` (remembered in a cookie), else that cookie,
else Accept-Language (`webmail.i18n.negotiate`, RFC 9110 §12.5.4)."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

from postbus.web.webmail.i18n import DEFAULT, LANGUAGES, negotiate

LOCALES = Path(__file__).parent / "locales"
LANG_COOKIE = "__Host-postbus-admin-lang"

Gettext = Callable[..., str]


def N_(message: str) -> str:
    return message


def _load(code: str) -> gettext.NullTranslations:
    if code == DEFAULT:
        return gettext.NullTranslations()
    with (LOCALES / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=code)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


_CATALOGUES = {code: _load(code) for code in LANGUAGES}


def translator(code: str) -> Gettext:
    catalogue = _CATALOGUES.get(code, _CATALOGUES[DEFAULT])

    def _(message: str, **values: object) -> str:
        text = catalogue.gettext(message)
        return text % values if values else text

    return _


def language_of(request: Request) -> str:
    for candidate in (request.query_params.get("lang", ""), request.cookies.get(LANG_COOKIE, "")):
        if candidate in LANGUAGES:
            return candidate
    return negotiate(request.headers.get("accept-language"))


def language_links(request: Request) -> dict[str, str]:
    """The current page (path and query, never a host) in each language."""
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    links = {}
    for code in LANGUAGES:
        params = "&".join(f"{k}={_quote(v)}" for k, v in [*query.items(), ("lang", code)])
        links[code] = f"{request.url.path}?{params}"
    return links


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="@")
