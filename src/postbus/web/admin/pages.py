"""The panel's screens: each turns a form or a query into one call on the
administration service (the one the CLI and the API use) and renders the
result. Permissions are the service's; a refusal is shown as a page with the
status the API would give."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from postbus.admin import Forbidden, Invalid, Throttled, Unauthenticated
from postbus.delivery.rules import DEFAULT_VACATION_INTERVAL_DAYS, Vacation
from postbus.mailauth.resolver import app_resolver
from postbus.security.logins import REDACTED
from postbus.security.throttle import Banned
from postbus.web.admin.context import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Panel,
    action,
    back,
    page,
    read_form,
    remote,
    render,
    session_of,
    translate,
)
from postbus.web.admin.i18n import N_
from postbus.web.webmail.security import new_token, same_origin, tokens_match

log = logging.getLogger("postbus.admin")

MIB = 1 << 20
T = TypeVar("T")


def _q(value: str) -> str:
    return quote(value, safe="@")


# -- login ------------------------------------------------------------------------

async def login_form(request: Request, error: str = "", status: int = 200) -> Response:
    token = new_token()
    response = render(request, "login.html", status, login_token=token,
                      error=translate(request, error) if error else "", actor=None)
    response.set_cookie(LOGIN_COOKIE, token, path="/", secure=True, httponly=True,
                        samesite="strict")
    return response


async def login_page(request: Request) -> Response:
    if await session_of(request) is not None:
        return back("/admin/")
    return await login_form(request)


async def login(request: Request) -> Response:
    """Administrator name, password and (when enrolled) a TOTP code. Mailbox
    credentials are not administrator credentials and never log in here."""
    try:
        form = await read_form(request)
    except Invalid:
        return await login_form(request, N_("The form is too large."), 413)
    fields = {k: form.get(k, "") for k in ("csrf", "name", "password", "code")}
    if not all(isinstance(v, str) for v in fields.values()):
        return await login_form(request, N_("Wrong name, password or code."), 401)
    if not same_origin(request) or not tokens_match(str(fields["csrf"]),
                                                    request.cookies.get(LOGIN_COOKIE, "")):
        return await login_form(request, N_("The form expired; please log in again."), 403)
    service = request.app.state.admin
    try:
        actor = await service.login(str(fields["name"]), str(fields["password"]),
                                    str(fields["code"]) or None, remote(request))
    except Banned as banned:
        log.info("proto=admin listener=https ip=%s port=- login refused: banned until %s",
                 remote(request), banned.text)
        message = N_("Too many failed logins from your address; try again later.")
        return await login_form(request, message, 429)
    except Unauthenticated:
        # The typed name may be a password: never logged (docs/logging.md). The
        # failure's pause was taken by the throttle (security.throttle).
        log.info("proto=admin listener=https ip=%s port=- login failed user=%s method=PANEL",
                 remote(request), REDACTED)
        return await login_form(request, N_("Wrong name, password or code."), 401)
    session_id, _ = await service.open_session(actor)  # a new id: no session fixation
    response = back("/admin/")
    response.set_cookie(SESSION_COOKIE, session_id, path="/", secure=True, httponly=True,
                        samesite="strict")
    response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@action
async def logout(panel: Panel) -> Response:
    await panel.admin.close_session(panel.request.cookies.get(SESSION_COOKIE, ""))
    response = back("/admin/login")
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True,
                           samesite="strict")
    return response


# -- domains ----------------------------------------------------------------------

@page
async def home(panel: Panel) -> Response:
    return panel.render("home.html", domains=await panel.admin.list_domains(panel.actor))


@action
async def domain_add(panel: Panel) -> Response:
    made, dkim_txt = await panel.admin.add_domain(panel.actor, panel.field("name"))
    return panel.render("secret.html", title=panel.t("Domain %(name)s added", name=made.name),
                        label=panel.t("Publish this DKIM record (TXT)"), secret=dkim_txt,
                        next=f"/admin/domain?name={_q(made.name)}")


@action
async def domain_suspend(panel: Panel) -> Response:
    name = panel.field("name")
    await panel.admin.suspend_domain(panel.actor, name, panel.field("suspended") == "1")
    return back("/admin/")


@action
async def domain_remove(panel: Panel) -> Response:
    name = panel.field("name")
    if panel.field("confirm").strip().lower() != name.strip().lower():
        raise Invalid(N_("Type the domain's name to confirm its removal."))
    await panel.admin.remove_domain(panel.actor, name)
    return back("/admin/")


@page
async def domain(panel: Panel) -> Response:
    name = panel.request.query_params.get("name", "")
    found = await panel.admin.get_domain(panel.actor, name)
    return panel.render("domain.html", domain=found,
                        mailboxes=await panel.admin.list_mailboxes(panel.actor, found.name),
                        aliases=await panel.admin.list_aliases(panel.actor, found.name), MIB=MIB)


@page
async def dns_page(panel: Panel) -> Response:
    name = panel.request.query_params.get("name", "")
    found = await panel.admin.get_domain(panel.actor, name)
    results = await panel.admin.check_dns(panel.actor, found.name,
                                          app_resolver(panel.request.app.state.postbus))
    return panel.render("dns.html", domain=found, results=results)


# -- mailboxes --------------------------------------------------------------------

def _quota(text: str) -> int | None:
    """A quota in MiB from a form ("" keeps the default; "0" is unlimited)."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        raise Invalid(N_("The quota is a whole number of MiB."))
    return int(text) * MIB


@action
async def mailbox_create(panel: Panel) -> Response:
    domain_name = panel.field("domain")
    local = panel.field("local_part").strip()
    if not local or "@" in local:
        raise Invalid(N_("Give the part of the address before the @."))
    password = panel.field("password") or None
    made = await panel.admin.create_mailbox(panel.actor, f"{local}@{domain_name}", password,
                                            quota=_quota(panel.field("quota_mib")))
    address = made.mailbox.address
    if made.password is None:
        return back(f"/admin/mailbox?address={_q(address)}")
    return panel.render("secret.html", title=panel.t("Mailbox %(address)s created",
                                                     address=address),
                        label=panel.t("Its password (shown only now)"), secret=made.password,
                        next=f"/admin/mailbox?address={_q(address)}")


@page
async def mailbox(panel: Panel) -> Response:
    address = panel.request.query_params.get("address", "")
    found = await panel.admin.get_mailbox(panel.actor, address)
    forward = await panel.admin.get_forward(panel.actor, found.address)
    vacation = await panel.admin.get_vacation(panel.actor, found.address)
    return panel.render("mailbox.html", mailbox=found, forward=forward, vacation=vacation,
                        MIB=MIB, day=_day, default_interval=DEFAULT_VACATION_INTERVAL_DAYS)


@action
async def mailbox_update(panel: Panel) -> Response:
    address = panel.field("address")
    await panel.admin.update_mailbox(panel.actor, address, quota=_quota(panel.field("quota_mib")),
                                     enabled=panel.field("enabled") == "1")
    return back(f"/admin/mailbox?address={_q(address)}")


@action
async def mailbox_password(panel: Panel) -> Response:
    address = panel.field("address")
    generated = await panel.admin.set_password(panel.actor, address,
                                               panel.field("password") or None)
    if generated is None:
        return back(f"/admin/mailbox?address={_q(address)}")
    return panel.render("secret.html", title=panel.t("New password for %(address)s",
                                                     address=address),
                        label=panel.t("The new password (shown only now)"), secret=generated,
                        next=f"/admin/mailbox?address={_q(address)}")


@action
async def mailbox_delete(panel: Panel) -> Response:
    address = panel.field("address")
    if panel.field("confirm").strip().lower() != address.strip().lower():
        raise Invalid(N_("Type the address to confirm the removal."))
    found = await panel.admin.get_mailbox(panel.actor, address)
    await panel.admin.delete_mailbox(panel.actor, address)
    return back(f"/admin/domain?name={_q(found.domain)}")


@action
async def forwarding(panel: Panel) -> Response:
    address = panel.field("address")
    targets = [t.strip() for t in panel.field("targets").replace(",", "\n").splitlines()
               if t.strip()]
    await panel.admin.set_forward(panel.actor, address, targets,
                                  keep_copy=panel.field("keep_copy") == "1")
    return back(f"/admin/mailbox?address={_q(address)}")


def _day(when: float | None) -> str:
    if when is None:
        return ""
    return datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%Y-%m-%d")


def _date(text: str, what: str) -> float | None:
    """A YYYY-MM-DD day as midnight UTC; `what` is the refusal's message."""
    text = text.strip()
    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise Invalid(what) from None
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC).timestamp()


@action
async def vacation(panel: Panel) -> Response:
    address = panel.field("address")
    rule = None
    if panel.field("enabled") == "1":
        interval = panel.field("interval_days", str(DEFAULT_VACATION_INTERVAL_DAYS)).strip()
        if not interval.isdigit() or len(interval) > 3:
            raise Invalid(N_("The interval is a whole number of days."))
        rule = Vacation(subject=panel.field("subject"), body=panel.field("body"),
                        start=_date(panel.field("start"), N_("The first day is YYYY-MM-DD.")),
                        end=_date(panel.field("end"), N_("The last day is YYYY-MM-DD.")),
                        interval_days=int(interval))
    await panel.admin.set_vacation(panel.actor, address, rule)
    return back(f"/admin/mailbox?address={_q(address)}")


# -- aliases ----------------------------------------------------------------------

@action
async def alias_add(panel: Panel) -> Response:
    domain_name = panel.field("domain")
    local = panel.field("source").strip()
    if "@" in local:
        raise Invalid(N_("Give the part of the alias before the @ (* for the catch-all)."))
    source = f"{'' if local == '*' else local}@{domain_name}"
    targets = [t.strip() for t in panel.field("targets").replace(",", "\n").splitlines()
               if t.strip()]
    await panel.admin.add_alias(panel.actor, source, targets)
    return back(f"/admin/domain?name={_q(domain_name)}")


@action
async def alias_remove(panel: Panel) -> Response:
    source = panel.field("source")
    await panel.admin.remove_alias(panel.actor, source)
    return back(f"/admin/domain?name={_q(source.rpartition('@')[2])}")


# -- administrators, tokens, audit ------------------------------------------------

@page
async def admins(panel: Panel) -> Response:
    return panel.render("admins.html", admins=await panel.admin.list_admins(panel.actor))


@action
async def admin_add(panel: Panel) -> Response:
    domains = [d.strip() for d in panel.field("domains").replace(",", " ").split() if d.strip()]
    await panel.admin.add_admin(panel.actor, panel.field("name"), panel.field("password"),
                                operator=panel.field("operator") == "1", domains=domains)
    return back("/admin/admins")


@action
async def admin_remove(panel: Panel) -> Response:
    await panel.admin.remove_admin(panel.actor, panel.field("name"))
    return back("/admin/admins")


@page
async def tokens(panel: Panel) -> Response:
    return await _tokens_page(panel)


async def _tokens_page(panel: Panel, error: str = "", status: int = 200) -> Response:
    """The page of one's own tokens and password, with `error` (a message to
    translate) above its forms."""
    return panel.render("tokens.html", status, error=panel.t(error) if error else "",
                        tokens=await panel.admin.list_tokens(panel.actor, panel.actor.name))


async def _with_current_password(panel: Panel, change: Callable[[str], Awaitable[T]]
                                 ) -> T | Response:
    """Runs `change` with the form's current password; a wrong one (or a banned
    address, the throttle's answer to guessing) shows the form again with why."""
    try:
        return await change(panel.field("current_password"))
    except Throttled:
        log.info("proto=admin listener=https ip=%s port=- current password refused: banned",
                 remote(panel.request))
        return await _tokens_page(
            panel, N_("Too many failed logins from your address; try again later."), 429)
    except Forbidden:
        return await _tokens_page(panel, N_("Your current password is wrong."), 403)


@action
async def token_create(panel: Panel) -> Response:
    made = await _with_current_password(panel, lambda current: panel.admin.create_token(
        panel.actor, panel.actor.name, panel.field("label"), current_password=current))
    if isinstance(made, Response):
        return made
    return panel.render("secret.html", title=panel.t("New API token"),
                        label=panel.t("The token (shown only now)"), secret=made.secret,
                        next="/admin/tokens")


@action
async def own_password(panel: Panel) -> Response:
    if panel.field("password") != panel.field("again"):
        return await _tokens_page(panel, N_("The two passwords differ."), 422)
    refused = await _with_current_password(panel, lambda current: panel.admin.set_admin_password(
        panel.actor, panel.actor.name, panel.field("password"), current_password=current))
    return refused or back("/admin/tokens")


@action
async def token_revoke(panel: Panel) -> Response:
    token_id = panel.field("id")
    if not token_id.isdigit() or len(token_id) > 18:
        raise Invalid(N_("No such token."))
    await panel.admin.revoke_token(panel.actor, panel.actor.name, int(token_id))
    return back("/admin/tokens")


@page
async def audit(panel: Panel) -> Response:
    before = panel.request.query_params.get("before", "")
    entries = await panel.admin.list_audit(
        panel.actor, before=int(before) if before.isdigit() and len(before) < 19 else None,
        limit=100)
    when = [datetime.datetime.fromtimestamp(e.at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
            for e in entries]
    return panel.render("audit.html", entries=list(zip(entries, when, strict=True)))
