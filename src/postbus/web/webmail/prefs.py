"""The settings screen: identities (display name and From address, among the
addresses the user owns, checked on the server by `postbus.preferences`),
signature, language, messages per page and time zone."""

from __future__ import annotations

import functools
import zoneinfo

from starlette.responses import Response

from postbus.preferences import LANGUAGES, Identity, InvalidPreference, Preferences
from postbus.preferences.limits import MAX_IDENTITIES, MAX_PAGE_SIZE, MIN_PAGE_SIZE
from postbus.preferences.service import valid_timezone
from postbus.web.webmail import i18n
from postbus.web.webmail.context import Web, action, page
from postbus.web.webmail.frame import render_page
from postbus.web.webmail.services import user_services

PAGE_SIZES = (10, 20, 25, 50, 100, 200)
#: Characters of one settings field (the signature is the longest).
MAX_SETTINGS_FIELD = 16_000


@functools.cache
def _zones() -> tuple[str, ...]:
    """The IANA zones a person picks from (regions/cities), then UTC."""
    named = (z for z in zoneinfo.available_timezones()
             if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/")))
    return (*sorted(named), "UTC")


def refusal_text(web: Web, e: InvalidPreference) -> str:
    _ = web._
    return {
        "identity": _("%(address)s is not one of your addresses.", address=e.detail),
        "signature": _("The signature is too long."),
        "language": _("That language is not available."),
        "page_size": _("Choose between %(low)s and %(high)s messages per page.",
                       low=MIN_PAGE_SIZE, high=MAX_PAGE_SIZE),
        "timezone": _("That time zone is not known."),
    }.get(e.field, _("That is not possible."))


async def _render(web: Web, prefs: Preferences, *, error: str = "", saved: bool = False,
                  status: int = 200) -> Response:
    owned = await user_services(web.app).preferences.owned(web.account)
    rows = list(prefs.identities)
    if len(rows) < MAX_IDENTITIES:
        rows.append(Identity("", ""))  # one empty row to add an identity
    return await render_page(web, "preferences.html", status=status, prefs=prefs, rows=rows,
                             owned=owned, error=error, saved=saved, page_sizes=PAGE_SIZES,
                             zones=_zones(), languages=i18n.LANGUAGES)


@page
async def settings_page(web: Web) -> Response:
    prefs = await user_services(web.app).preferences.get(web.account)
    return await _render(web, prefs, saved=web.request.query_params.get("saved") == "1")


@action
async def settings_save(web: Web) -> Response:
    form = await web.form(MAX_SETTINGS_FIELD * 4)
    names = form.get("identity_name", [])
    addresses = form.get("identity_address", [])
    identities = tuple(Identity(n[:500], a[:500]) for n, a in zip(names, addresses, strict=False)
                       if a.strip())[:MAX_IDENTITIES + 1]
    size = await web.field("page_size", limit=6)
    zone = await web.field("timezone", limit=64)
    service = user_services(web.app).preferences
    current = await service.get(web.account)
    prefs = Preferences(
        identities=identities,
        signature=await web.field("signature", limit=MAX_SETTINGS_FIELD),
        language=await web.field("language", limit=8),
        page_size=int(size) if size.isdigit() else 0,
        timezone=zone if valid_timezone(zone) else zone or "UTC",
        remote_senders=current.remote_senders,  # changed on the reading screen
        extra=current.extra)
    try:
        saved = await service.save(web.account, prefs)
    except InvalidPreference as e:
        return await _render(web, prefs, error=refusal_text(web, e), status=400)
    if web.opened is not None and saved.language in LANGUAGES:
        await web.app.web_sessions.set_language(web.opened.session, saved.language)
    return web.redirect(web.url("settings", saved=1))


ROUTES: tuple[tuple[str, object, tuple[str, ...], str], ...] = (
    ("/settings", settings_page, ("GET",), "settings"),
    ("/settings", settings_save, ("POST",), "settings_save"),
)
