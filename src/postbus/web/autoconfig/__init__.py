"""Automatic client set-up on the https app: Mozilla autoconfig, Outlook
autodiscover, an Apple configuration profile, and a help page per domain in
English, Dutch and French.

Invariants: every host name and port in an answer comes from the
configuration (`servers.client_setup`), never from the request's Host header;
only hosted domains get an answer (404 otherwise, the same for a malformed
address); request input is bounded (`documents.MAX_AUTODISCOVER_REQUEST`,
`catalogue.MAX_ACCEPT_LANGUAGE`) and nothing from it reaches a template
except through autoescaping.
"""

from __future__ import annotations

import logging
from pathlib import Path

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from postbus.accounts.address import (
    AddressError,
    display_domain,
    normalize_address,
    normalize_domain,
)
from postbus.app import App
from postbus.web.autoconfig import catalogue, documents
from postbus.web.autoconfig.servers import ClientSetup, client_setup

log = logging.getLogger("postbus.web.autoconfig")

XML = "application/xml; charset=utf-8"
MOBILECONFIG = "application/x-apple-aspen-config"
MAX_QUERY_ADDRESS = 320  # characters of ?emailaddress= looked at

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined,
)


class _NotHosted(Exception):
    pass


def routes(app: App, *, plain_http: bool = False) -> list[BaseRoute]:
    """The https app's routes; with `plain_http`, only Mozilla autoconfig, which
    Thunderbird also fetches as http://autoconfig.DOMAIN/mail/config-v1.1.xml
    (public data: answering it in plain text spares a redirect to https, which
    would need a certificate naming autoconfig.DOMAIN)."""
    setup = client_setup(app.settings)

    async def hosted(domain: str) -> str:
        """The A-label form of `domain` if we host it; raises _NotHosted."""
        try:
            name = normalize_domain(domain)
        except AddressError:
            raise _NotHosted from None
        if await app.accounts.get_domain(name) is None:
            raise _NotHosted
        return name

    async def hosted_address(address: str) -> str:
        try:
            normalized = normalize_address(address[:MAX_QUERY_ADDRESS].strip())
        except AddressError:
            raise _NotHosted from None
        await hosted(normalized.rpartition("@")[2])
        return normalized

    def help_url(domain: str | None) -> str | None:
        if setup.webmail is None:
            return None
        base = setup.webmail.removesuffix("/webmail/")
        return f"{base}/help/{domain}" if domain else f"{base}/help"

    async def mozilla(request: Request) -> Response:
        # Thunderbird sends ?emailaddress=; without it, the domain named in the
        # path's host (autoconfig.DOMAIN) only selects which hosted domain.
        address = request.query_params.get("emailaddress", "")
        try:
            if address:
                domain = (await hosted_address(address)).rpartition("@")[2]
            else:
                host = (request.url.hostname or "").lower().removeprefix("autoconfig.")
                domain = await hosted(host)
        except _NotHosted:
            return Response(status_code=404)
        body = documents.mozilla_autoconfig(setup, domain, display_name=display_domain(domain),
                                            help_url=help_url(domain))
        return Response(body, media_type=XML)

    async def autodiscover(request: Request) -> Response:
        if request.method == "POST":
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > documents.MAX_AUTODISCOVER_REQUEST:
                    return Response(status_code=413)
            try:
                address = documents.autodiscover_address(body)
            except documents.BadRequest:
                return Response(status_code=400)
        else:
            address = request.query_params.get("emailaddress") or request.query_params.get("email", "")
        try:
            address = await hosted_address(address)
        except _NotHosted:
            return Response(status_code=404)
        domain = address.rpartition("@")[2]
        return Response(documents.outlook_autodiscover(setup, address,
                                                       display_name=display_domain(domain)),
                        media_type=XML)

    async def apple(request: Request) -> Response:
        try:
            address = await hosted_address(request.query_params.get("emailaddress", ""))
        except _NotHosted:
            return Response(status_code=404)
        domain = address.rpartition("@")[2]
        try:
            body = documents.apple_profile(setup, address, display_name=display_domain(domain))
        except documents.BadRequest:
            return Response(status_code=404)
        # The file name is made of our own normalised domain: no header injection.
        return Response(body, media_type=MOBILECONFIG, headers={
            "Content-Disposition": f'attachment; filename="{domain}.mobileconfig"'})

    async def help_page(request: Request) -> Response:
        name = request.path_params.get("domain")
        domain = None
        if name is not None:
            try:
                domain = await hosted(name)
            except _NotHosted:
                return Response(status_code=404)
        lang = catalogue.negotiate(request.headers.get("accept-language", ""),
                                   request.query_params.get("lang"))
        html = render_help(setup, lang, domain)
        return HTMLResponse(html, headers={"Content-Language": lang, "Vary": "Accept-Language"})

    if plain_http:
        return [Route("/.well-known/autoconfig/mail/config-v1.1.xml", mozilla),
                Route("/mail/config-v1.1.xml", mozilla)]
    return [
        Route("/.well-known/autoconfig/mail/config-v1.1.xml", mozilla),
        Route("/mail/config-v1.1.xml", mozilla),
        Route("/autodiscover/autodiscover.xml", autodiscover, methods=["GET", "POST"]),
        Route("/Autodiscover/Autodiscover.xml", autodiscover, methods=["GET", "POST"]),
        Route("/autoconfig/apple.mobileconfig", apple),
        Route("/help", help_page),
        Route("/help/{domain}", help_page),
    ]


def render_help(setup: ClientSetup, lang: str, domain: str | None) -> str:
    def t(key: str, **values: str) -> str:
        return catalogue.text(lang, key, **values)

    shown = display_domain(domain) if domain else ""
    servers = [{
        "label": t(f"{'outgoing' if s.protocol == 'smtp' else 'incoming'}_{s.protocol}"),
        "hostname": s.hostname, "port": s.port,
        "security": t("ssl") if s.implicit_tls else t("starttls"),
    } for s in setup.servers]
    quota = (t("quota", size=catalogue.size_text(lang, setup.default_quota))
             if setup.default_quota else t("quota_unlimited"))
    return _templates.get_template("help.html").render(
        lang=lang, languages=catalogue.LANGUAGES, domain=shown,
        t=catalogue.CATALOGUE[lang],
        title=t("title", domain=shown) if domain else t("title_generic"),
        intro=t("intro", domain=shown) if domain else t("intro_generic", hostname=setup.hostname),
        apple=setup.best("smtp") is not None and (setup.best("imap") or setup.best("pop3")) is not None,
        servers=servers, webmail=setup.webmail,
        webmail_text=t("webmail_text", url=setup.webmail or ""),
        max_message=t("max_message", size=catalogue.size_text(lang, setup.max_message_size)),
        quota=quota,
    )
