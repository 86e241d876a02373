"""The JSON API's resources: each handler turns a request into one call on the
administration service and its result into JSON.

Authentication is `Authorization: Bearer TOKEN` with an administrator's API
token and nothing else: a mailbox password, Basic credentials or a cookie is
no credential here (401). The service decides what the administrator may do;
its refusals become statuses in one place (`STATUS`). A server fault is a
generic 500 with the traceback in the log.
"""

from __future__ import annotations

import datetime
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from postbus.admin import (
    NOBODY,
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
from postbus.admin.views import AuditView, DomainView, MailboxView, TokenView
from postbus.delivery.rules import DEFAULT_VACATION_INTERVAL_DAYS, Forward, Vacation
from postbus.web.api.body import (
    MAX_QUOTA,
    BodyError,
    Field,
    check,
    read_json,
)

log = logging.getLogger("postbus.api")

STATUS: dict[type[AdminError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Throttled: 429,
}
MAX_AUDIT_LIMIT = 500
MAX_ID = (1 << 63) - 1

Handler = Callable[[Request, Actor], Awaitable[Response]]


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="postbus"'}
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def retry_after(exc: AdminError) -> dict[str, str] | None:
    """RFC 9110 §10.2.3: the seconds until a ban ends, on a 429."""
    if not isinstance(exc, Throttled):
        return None
    return {"Retry-After": str(max(1, math.ceil(exc.until - time.time())))}


def service(request: Request) -> Administration:
    admin: Administration = request.app.state.admin
    return admin


async def actor_of(request: Request) -> Actor:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    remote = request.client.host if request.client else ""
    if scheme.lower() != "bearer" or not token.strip():
        return NOBODY
    return await service(request).actor_for_token(token.strip(), remote)


def endpoint(handler: Handler, query: tuple[str, ...] = ()) -> Callable[[Request], Awaitable[Response]]:
    """Authenticates, runs the handler, and turns refusals into statuses. Query
    parameters other than `query` are refused, as unknown body fields are."""
    async def run(request: Request) -> Response:
        actor = await actor_of(request)
        if not actor.authenticated:
            return error(401, "an administrator's API token is required (Authorization: Bearer)")
        unknown = [k for k in request.query_params if k not in query]
        if unknown:
            return error(422, f"unknown query parameter {unknown[0][:64]!r}")
        try:
            return await handler(request, actor)
        except BodyError as exc:
            return error(exc.status, str(exc))
        except AdminError as exc:
            return error(STATUS[type(exc)], str(exc), retry_after(exc))
        except Exception:
            log.exception("API request %s %s failed", request.method, request.url.path)
            return error(500, "internal error")

    return run


def _domain(d: DomainView) -> dict[str, Any]:
    return {"name": d.name, "suspended": d.suspended}


def _utc(when: float | None) -> str | None:
    """ISO 8601 in UTC with a "Z" (RFC 3339 §5.6), to the second; None stays None."""
    if when is None:
        return None
    return datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mailbox(m: MailboxView) -> dict[str, Any]:
    return asdict(m) | {"last_login": _utc(m.last_login)}


def _forward(f: Forward | None) -> dict[str, Any]:
    return {"targets": list(f.targets) if f else [], "keep_copy": f.keep_copy if f else False}


def _vacation(v: Vacation | None) -> dict[str, Any]:
    if v is None:
        return {"enabled": False, "subject": "", "body": "", "start": None, "end": None,
                "interval_days": DEFAULT_VACATION_INTERVAL_DAYS}
    return {"enabled": True, "subject": v.subject, "body": v.body, "start": v.start,
            "end": v.end, "interval_days": v.interval_days}


def _audit(e: AuditView) -> dict[str, Any]:
    return asdict(e)


# -- domains ---------------------------------------------------------------------

@endpoint
async def domains_list(request: Request, actor: Actor) -> Response:
    return JSONResponse([_domain(d) for d in await service(request).list_domains(actor)])


@endpoint
async def domains_add(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), {"name": Field("string", required=True)})
    made, dkim_txt = await service(request).add_domain(actor, body["name"])
    return JSONResponse({**_domain(made), "dkim_txt": dkim_txt}, status_code=201)


@endpoint
async def domain_get(request: Request, actor: Actor) -> Response:
    d = await service(request).get_domain(actor, request.path_params["domain"])
    return JSONResponse(_domain(d))


@endpoint
async def domain_patch(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), {"suspended": Field("boolean", required=True)})
    d = await service(request).suspend_domain(actor, request.path_params["domain"],
                                              body["suspended"])
    return JSONResponse(_domain(d))


@endpoint
async def domain_delete(request: Request, actor: Actor) -> Response:
    await service(request).remove_domain(actor, request.path_params["domain"])
    return Response(status_code=204)


# -- mailboxes -------------------------------------------------------------------

@endpoint
async def mailboxes_list(request: Request, actor: Actor) -> Response:
    found = await service(request).list_mailboxes(actor, request.path_params["domain"])
    return JSONResponse([_mailbox(m) for m in found])


@endpoint
async def mailboxes_create(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), {
        "local_part": Field("string", required=True),
        "password": Field("string"),
        "quota_bytes": Field("integer", maximum=MAX_QUOTA),
    })
    domain = request.path_params["domain"]
    if "@" in body["local_part"]:
        raise BodyError(422, "local_part is the part before the @")
    made = await service(request).create_mailbox(
        actor, f"{body['local_part']}@{domain}", body.get("password"),
        quota=body.get("quota_bytes"))
    return JSONResponse({"mailbox": _mailbox(made.mailbox), "password": made.password},
                        status_code=201)


@endpoint
async def mailbox_get(request: Request, actor: Actor) -> Response:
    m = await service(request).get_mailbox(actor, request.path_params["address"])
    return JSONResponse(_mailbox(m))


@endpoint
async def mailbox_patch(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), {
        "quota_bytes": Field("integer", maximum=MAX_QUOTA),
        "enabled": Field("boolean"),
    })
    m = await service(request).update_mailbox(actor, request.path_params["address"],
                                              quota=body.get("quota_bytes"),
                                              enabled=body.get("enabled"))
    return JSONResponse(_mailbox(m))


@endpoint
async def mailbox_delete(request: Request, actor: Actor) -> Response:
    await service(request).delete_mailbox(actor, request.path_params["address"])
    return Response(status_code=204)


@endpoint
async def mailbox_password(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), {"password": Field("string")})
    generated = await service(request).set_password(actor, request.path_params["address"],
                                                    body.get("password"))
    return JSONResponse({"password": generated})


@endpoint
async def forwarding_get(request: Request, actor: Actor) -> Response:
    rule = await service(request).get_forward(actor, request.path_params["address"])
    return JSONResponse(_forward(rule))


@endpoint
async def forwarding_put(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), {
        "targets": Field("strings", required=True),
        "keep_copy": Field("boolean"),
    })
    rule = await service(request).set_forward(actor, request.path_params["address"],
                                              body["targets"],
                                              keep_copy=body.get("keep_copy", False))
    return JSONResponse(_forward(rule))


@endpoint
async def vacation_get(request: Request, actor: Actor) -> Response:
    rule = await service(request).get_vacation(actor, request.path_params["address"])
    return JSONResponse(_vacation(rule))


@endpoint
async def vacation_put(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), {
        "enabled": Field("boolean", required=True),
        "subject": Field("string"),
        "body": Field("text"),
        "start": Field("number?"),
        "end": Field("number?"),
        "interval_days": Field("integer", minimum=1, maximum=365),
    })
    rule = None
    if body["enabled"]:
        rule = Vacation(subject=body.get("subject", ""), body=body.get("body", ""),
                        start=body.get("start"), end=body.get("end"),
                        interval_days=body.get("interval_days", DEFAULT_VACATION_INTERVAL_DAYS))
    saved = await service(request).set_vacation(actor, request.path_params["address"], rule)
    return JSONResponse(_vacation(saved))


# -- aliases ---------------------------------------------------------------------

def _in_domain(source: str, domain: str) -> str:
    """The alias source of the domain in the path: "info" or "info@domain", or "@domain"
    (or "" / "*") for the catch-all."""
    local, at, rest = source.rpartition("@") if "@" in source else (source, "", "")
    if at and rest.lower() != domain.lower():
        raise BodyError(422, "the alias is not in this domain")
    return f"{'' if local in ('', '*') else local}@{domain}"


@endpoint
async def aliases_list(request: Request, actor: Actor) -> Response:
    found = await service(request).list_aliases(actor, request.path_params["domain"])
    return JSONResponse([{"source": a.source, "targets": list(a.targets)} for a in found])


@endpoint
async def aliases_add(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), {
        "source": Field("string", required=True),
        "targets": Field("strings", required=True),
    })
    source = _in_domain(body["source"], request.path_params["domain"])
    made = await service(request).add_alias(actor, source, body["targets"])
    return JSONResponse({"source": made.source, "targets": list(made.targets)}, status_code=201)


@endpoint
async def alias_delete(request: Request, actor: Actor) -> Response:
    source = _in_domain(request.path_params["source"], request.path_params["domain"])
    await service(request).remove_alias(actor, source)
    return Response(status_code=204)


# -- administrators --------------------------------------------------------------

@endpoint
async def admins_list(request: Request, actor: Actor) -> Response:
    found = await service(request).list_admins(actor)
    return JSONResponse([asdict(a) | {"domains": list(a.domains)} for a in found])


@endpoint
async def admins_add(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), {
        "name": Field("string", required=True),
        "password": Field("string", required=True),
        "operator": Field("boolean"),
        "domains": Field("strings"),
    })
    made = await service(request).add_admin(actor, body["name"], body["password"],
                                            operator=body.get("operator", False),
                                            domains=body.get("domains", []))
    return JSONResponse(asdict(made) | {"domains": list(made.domains)}, status_code=201)


@endpoint
async def admin_delete(request: Request, actor: Actor) -> Response:
    await service(request).remove_admin(actor, request.path_params["name"])
    return Response(status_code=204)


# -- one's own credentials ---------------------------------------------------------
# Under /me every administrator, the operator included, manages only their own
# password, API tokens and second factor (the CLI and the panel can do more).
# A change of them (not a listing, not a revocation) carries the administrator's
# current password: a token alone does not take the account over. A wrong one
# is 403 and a failed login to the throttle; a banned address gets 429.

CURRENT = {"current_password": Field("string", required=True)}


@endpoint
async def me_password(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), {**CURRENT, "password": Field("string", required=True)})
    await service(request).set_admin_password(actor, actor.name, body["password"],
                                              current_password=body["current_password"])
    return Response(status_code=204)


def _token(t: TokenView) -> dict[str, Any]:
    return asdict(t)


@endpoint
async def me_tokens_list(request: Request, actor: Actor) -> Response:
    found = await service(request).list_tokens(actor, actor.name)
    return JSONResponse([_token(t) for t in found])


@endpoint
async def me_tokens_create(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), {**CURRENT, "label": Field("string")})
    made = await service(request).create_token(actor, actor.name, body.get("label", ""),
                                               current_password=body["current_password"])
    return JSONResponse({"token": _token(made.token), "secret": made.secret}, status_code=201)


@endpoint
async def me_token_delete(request: Request, actor: Actor) -> Response:
    raw = request.path_params["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 1 <= int(raw) <= MAX_ID:
        raise BodyError(422, f"a token id is an integer from 1 to {MAX_ID}")
    await service(request).revoke_token(actor, actor.name, int(raw))
    return Response(status_code=204)


@endpoint
async def me_totp_enrol(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), CURRENT)
    made = await service(request).enrol_totp(actor, actor.name,
                                             current_password=body["current_password"])
    return JSONResponse({"secret": made.secret, "uri": made.uri}, status_code=201)


@endpoint
async def me_totp_remove(request: Request, actor: Actor) -> Response:
    body = check(await read_json(request), CURRENT)
    await service(request).remove_totp(actor, actor.name,
                                       current_password=body["current_password"])
    return Response(status_code=204)


# -- audit -----------------------------------------------------------------------

def _int_param(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not low <= int(raw) <= high:
        raise BodyError(422, f"{name} must be an integer from {low} to {high}")
    return int(raw)


async def _audit_list(request: Request, actor: Actor) -> Response:
    limit = _int_param(request, "limit", 100, 1, MAX_AUDIT_LIMIT)
    before = _int_param(request, "before", None, 1, MAX_ID)
    found = await service(request).list_audit(actor, before=before, limit=limit or 100)
    return JSONResponse([_audit(e) for e in found])


audit_list = endpoint(_audit_list, query=("limit", "before"))


def resource(path: str, **handlers: Callable[[Request], Awaitable[Response]]) -> Route:
    """One route per path, so that a 405 lists in `Allow` every method the path has."""
    table = {method.upper(): handler for method, handler in handlers.items()}

    async def dispatch(request: Request) -> Response:
        return await table["GET" if request.method == "HEAD" else request.method](request)

    return Route(path, dispatch, methods=list(table))


ROUTES = [
    resource("/domains", get=domains_list, post=domains_add),
    resource("/domains/{domain}", get=domain_get, patch=domain_patch, delete=domain_delete),
    resource("/domains/{domain}/mailboxes", get=mailboxes_list, post=mailboxes_create),
    resource("/domains/{domain}/aliases", get=aliases_list, post=aliases_add),
    resource("/domains/{domain}/aliases/{source}", delete=alias_delete),
    resource("/mailboxes/{address}", get=mailbox_get, patch=mailbox_patch, delete=mailbox_delete),
    resource("/mailboxes/{address}/password", put=mailbox_password, post=mailbox_password),
    resource("/mailboxes/{address}/forwarding", get=forwarding_get, put=forwarding_put),
    resource("/mailboxes/{address}/vacation", get=vacation_get, put=vacation_put),
    resource("/admins", get=admins_list, post=admins_add),
    resource("/admins/{name}", delete=admin_delete),
    resource("/me/password", put=me_password),
    resource("/me/tokens", get=me_tokens_list, post=me_tokens_create),
    resource("/me/tokens/{id}", delete=me_token_delete),
    resource("/me/totp", post=me_totp_enrol, delete=me_totp_remove),
    resource("/audit", get=audit_list),
]
