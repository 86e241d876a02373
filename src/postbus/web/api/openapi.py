"""The OpenAPI 3.1 document of /api/v1, written by hand.

It is the contract: `tests/web/test_api_openapi.py` checks that its paths and
methods are exactly the routes of `routes.py` and that its request schemas
carry the bounds of `body.py`, and the schemathesis test checks every
response against it.
"""

from __future__ import annotations

from typing import Any

from postbus.web.api.body import MAX_LIST, MAX_QUOTA, MAX_STRING, MAX_TEXT, MAX_TIMESTAMP
from postbus.web.api.routes import MAX_AUDIT_LIMIT, MAX_ID

JSON = "application/json"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*codes: int, meanings: dict[int, str] | None = None) -> dict[str, Any]:
    meaning = {
        400: "The body is not JSON.",
        401: "No administrator API token (Authorization: Bearer).",
        403: "Only an operator may do this.",
        404: "No such thing, or not one of this administrator's domains.",
        409: "It exists already.",
        413: "The body is too large.",
        415: "The body is not application/json.",
        422: "A value is refused (malformed, weak password, out of bounds).",
        429: "Too many failed logins from this address (a wrong current password is one);"
             " Retry-After says when to try again.",
    } | (meanings or {})
    out: dict[str, Any] = {
        str(c): {"description": meaning[c], "content": {JSON: {"schema": _ref("Error")}}}
        for c in codes}
    if "429" in out:
        out["429"]["headers"] = {"Retry-After": {
            "description": "Seconds until the address may try again (RFC 9110 §10.2.3).",
            "required": True, "schema": {"type": "integer", "minimum": 1}}}
    return out


READ = (401, 403, 404, 422)  # 403 never for domain-scoped reads, kept for uniformity
WRITE = (400, 401, 403, 404, 409, 413, 415, 422)


def _ok(code: int, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    if schema is None:
        return {str(code): {"description": description}}
    return {str(code): {"description": description, "content": {JSON: {"schema": schema}}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": 320}}


def _op(op_id: str, summary: str, responses: dict[str, Any], *, codes: tuple[int, ...],
        body: dict[str, Any] | None = None, parameters: list[dict[str, Any]] | None = None,
        meanings: dict[int, str] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": op_id, "summary": summary,
                          "responses": {**responses, **_errors(*codes, meanings=meanings)}}
    if body is not None:
        op["requestBody"] = _body(body)
    if parameters:
        op["parameters"] = parameters
    return op


STRING = {"type": "string", "maxLength": MAX_STRING}
STRINGS = {"type": "array", "maxItems": MAX_LIST, "items": STRING}
TIMESTAMP = {"type": ["number", "null"], "minimum": 0, "maximum": MAX_TIMESTAMP,
             "description": "Seconds since 1970-01-01T00:00:00Z, or null."}
QUOTA = {"type": "integer", "minimum": 0, "maximum": MAX_QUOTA,
         "description": "Bytes over all folders; 0 is unlimited."}


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": {"type": "string"}}, ("error",)),
    "Domain": _object({"name": {"type": "string"}, "suspended": {"type": "boolean"}},
                      ("name", "suspended")),
    "NewDomain": _object({"name": {"type": "string"}, "suspended": {"type": "boolean"},
                          "dkim_txt": {"type": "string"}}, ("name", "suspended", "dkim_txt")),
    "Mailbox": _object({
        "address": {"type": "string"}, "domain": {"type": "string"},
        "quota_bytes": {"type": "integer", "minimum": 0},
        "used_bytes": {"type": "integer", "minimum": 0},
        "used_messages": {"type": "integer", "minimum": 0},
        "enabled": {"type": "boolean"},
        "last_login": {"type": ["string", "null"], "format": "date-time",
                       "description": "The last successful login by any protocol, in UTC"
                                      " (recorded at most every 5 minutes); null: never."},
    }, ("address", "domain", "quota_bytes", "used_bytes", "used_messages", "enabled",
        "last_login")),
    "NewMailbox": _object({
        "mailbox": _ref("Mailbox"),
        "password": {"type": ["string", "null"],
                     "description": "The generated password, shown only now; null when chosen."},
    }, ("mailbox", "password")),
    "Password": _object({"password": {"type": ["string", "null"]}}, ("password",)),
    "Forwarding": _object({"targets": {"type": "array", "items": {"type": "string"}},
                           "keep_copy": {"type": "boolean"}}, ("targets", "keep_copy")),
    "Vacation": _object({
        "enabled": {"type": "boolean"}, "subject": {"type": "string"},
        "body": {"type": "string"}, "start": {"type": ["number", "null"]},
        "end": {"type": ["number", "null"]}, "interval_days": {"type": "integer"},
    }, ("enabled", "subject", "body", "start", "end", "interval_days")),
    "Alias": _object({"source": {"type": "string"},
                      "targets": {"type": "array", "items": {"type": "string"}}},
                     ("source", "targets")),
    "Admin": _object({"name": {"type": "string"}, "operator": {"type": "boolean"},
                      "domains": {"type": "array", "items": {"type": "string"}},
                      "totp": {"type": "boolean"}}, ("name", "operator", "domains", "totp")),
    "Token": _object({
        "id": {"type": "integer", "minimum": 1}, "admin": {"type": "string"},
        "label": {"type": "string"},
        "created": {"type": "number", "description": "Seconds since 1970-01-01T00:00:00Z."},
    }, ("id", "admin", "label", "created")),
    "NewToken": _object({
        "token": _ref("Token"),
        "secret": {"type": "string", "description": "The bearer token, shown only now."},
    }, ("token", "secret")),
    "TotpEnrolment": _object({
        "secret": {"type": "string", "description": "The RFC 6238 key, base32."},
        "uri": {"type": "string", "description": "otpauth://totp/... for an authenticator app."},
    }, ("secret", "uri")),
    "AuditEntry": _object({
        "id": {"type": "integer"}, "at": {"type": "number"}, "actor": {"type": "string"},
        "remote": {"type": "string"}, "action": {"type": "string"},
        "target": {"type": "string"}, "domain": {"type": "string"},
        "detail": {"type": "string"},
    }, ("id", "at", "actor", "remote", "action", "target", "domain", "detail")),
}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


# A change of one's own credentials under /me carries one's current password.
CURRENT_PASSWORD = {**STRING, "description": "This administrator's current password: a token"
                                             " alone cannot change the account's credentials."}
REAUTH = (*WRITE, 429)
REAUTH_REFUSED = {403: "The current password is wrong (counted as a failed login)."}

DOMAIN = _path_param("domain", "A hosted domain.")
ADDRESS = _path_param("address", "A mailbox address, local@domain.")

PATHS: dict[str, Any] = {
    "/domains": {
        "get": _op("listDomains", "The domains this administrator manages.",
                   _ok(200, "The domains.", _list("Domain")), codes=(401, 422)),
        "post": _op("addDomain", "Host a new domain (operators).",
                    _ok(201, "Added; publish dkim_txt at the selector.", _ref("NewDomain")),
                    codes=WRITE, body=_object({"name": STRING}, ("name",))),
    },
    "/domains/{domain}": {
        "parameters": [DOMAIN],
        "get": _op("getDomain", "One domain.", _ok(200, "The domain.", _ref("Domain")),
                   codes=READ),
        "patch": _op("suspendDomain", "Suspend or resume a domain (operators).",
                     _ok(200, "The domain.", _ref("Domain")), codes=WRITE,
                     body=_object({"suspended": {"type": "boolean"}}, ("suspended",))),
        "delete": _op("removeDomain", "Remove a domain with its mailboxes and mail (operators).",
                      _ok(204, "Removed."), codes=READ),
    },
    "/domains/{domain}/mailboxes": {
        "parameters": [DOMAIN],
        "get": _op("listMailboxes", "The mailboxes of a domain.",
                   _ok(200, "The mailboxes.", _list("Mailbox")), codes=READ),
        "post": _op("createMailbox",
                    "Create a mailbox; without a password a strong one is generated and"
                    " returned once.",
                    _ok(201, "Created.", _ref("NewMailbox")), codes=WRITE,
                    body=_object({"local_part": STRING, "password": STRING,
                                  "quota_bytes": QUOTA}, ("local_part",))),
    },
    "/domains/{domain}/aliases": {
        "parameters": [DOMAIN],
        "get": _op("listAliases", "The aliases of a domain (\"@domain\" is the catch-all).",
                   _ok(200, "The aliases.", _list("Alias")), codes=READ),
        "post": _op("addAlias",
                    "Add targets to an alias (created when new); source \"*\" or \"\" is the"
                    " catch-all.",
                    _ok(201, "The alias.", _ref("Alias")), codes=WRITE,
                    body=_object({"source": STRING, "targets": STRINGS}, ("source", "targets"))),
    },
    "/domains/{domain}/aliases/{source}": {
        "parameters": [DOMAIN, _path_param("source", "The alias: local part or address;"
                                                     " \"*\" for the catch-all.")],
        "delete": _op("removeAlias", "Remove an alias.", _ok(204, "Removed."), codes=READ),
    },
    "/mailboxes/{address}": {
        "parameters": [ADDRESS],
        "get": _op("getMailbox", "A mailbox with its use and quota.",
                   _ok(200, "The mailbox.", _ref("Mailbox")), codes=READ),
        "patch": _op("updateMailbox", "Change the quota or enable/disable the mailbox.",
                     _ok(200, "The mailbox.", _ref("Mailbox")), codes=WRITE,
                     body=_object({"quota_bytes": QUOTA, "enabled": {"type": "boolean"}})),
        "delete": _op("deleteMailbox", "Remove a mailbox with all its mail.",
                      _ok(204, "Removed."), codes=READ),
    },
    "/mailboxes/{address}/password": {
        "parameters": [ADDRESS],
        **{method: _op(f"setPassword{method.title()}",
                       "Set the password (it must pass the policy), or without one generate a"
                       " strong password, returned once.",
                       _ok(200, "Set.", _ref("Password")), codes=WRITE,
                       body=_object({"password": STRING}))
           for method in ("put", "post")},
    },
    "/mailboxes/{address}/forwarding": {
        "parameters": [ADDRESS],
        "get": _op("getForwarding", "Where the mailbox's mail is forwarded.",
                   _ok(200, "The rule; no targets when none.", _ref("Forwarding")), codes=READ),
        "put": _op("setForwarding", "Forward to targets (none: stop forwarding).",
                   _ok(200, "The rule.", _ref("Forwarding")), codes=WRITE,
                   body=_object({"targets": STRINGS, "keep_copy": {"type": "boolean"}},
                                ("targets",))),
    },
    "/mailboxes/{address}/vacation": {
        "parameters": [ADDRESS],
        "get": _op("getVacation", "The vacation auto-reply (RFC 3834).",
                   _ok(200, "The reply; enabled false when off.", _ref("Vacation")), codes=READ),
        "put": _op("setVacation",
                   "Turn the auto-reply on or off. Subject and body are plain text, never a"
                   " template.",
                   _ok(200, "The reply.", _ref("Vacation")), codes=WRITE,
                   body=_object({
                       "enabled": {"type": "boolean"},
                       "subject": {"type": "string", "maxLength": MAX_STRING},
                       "body": {"type": "string", "maxLength": MAX_TEXT},
                       "start": TIMESTAMP, "end": TIMESTAMP,
                       "interval_days": {"type": "integer", "minimum": 1, "maximum": 365},
                   }, ("enabled",))),
    },
    "/admins": {
        "get": _op("listAdmins", "The administrators (operators).",
                   _ok(200, "The administrators.", _list("Admin")), codes=(401, 403, 422)),
        "post": _op("addAdmin", "Add an administrator (operators).",
                    _ok(201, "Added.", _ref("Admin")), codes=WRITE,
                    body=_object({"name": STRING, "password": STRING,
                                  "operator": {"type": "boolean"}, "domains": STRINGS},
                                 ("name", "password"))),
    },
    "/admins/{name}": {
        "parameters": [_path_param("name", "An administrator's name.")],
        "delete": _op("removeAdmin", "Remove an administrator and their API tokens (operators).",
                      _ok(204, "Removed."), codes=READ),
    },
    "/me/password": {
        "put": _op("setOwnPassword",
                   "Change this administrator's own password (it must pass the policy),"
                   " given the current one.",
                   _ok(204, "Changed."), codes=REAUTH, meanings=REAUTH_REFUSED,
                   body=_object({"current_password": CURRENT_PASSWORD, "password": STRING},
                                ("current_password", "password"))),
    },
    "/me/tokens": {
        "get": _op("listOwnTokens", "This administrator's API tokens (never their secrets).",
                   _ok(200, "The tokens.", _list("Token")), codes=(401, 422)),
        "post": _op("createOwnToken",
                    "A new API token of this administrator, shown once, given their current"
                    " password.",
                    _ok(201, "Created; keep the secret now.", _ref("NewToken")), codes=REAUTH,
                    meanings=REAUTH_REFUSED,
                    body=_object({"current_password": CURRENT_PASSWORD, "label": STRING},
                                 ("current_password",))),
    },
    "/me/tokens/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "description": "A token id of this administrator.",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}],
        "delete": _op("revokeOwnToken", "Revoke one of this administrator's API tokens.",
                      _ok(204, "Revoked."), codes=READ),
    },
    "/me/totp": {
        "post": _op("enrolOwnTotp",
                    "A new RFC 6238 second factor for this administrator's panel logins"
                    " (replacing any), shown once, given their current password.",
                    _ok(201, "Enrolled.", _ref("TotpEnrolment")), codes=REAUTH,
                    meanings=REAUTH_REFUSED,
                    body=_object({"current_password": CURRENT_PASSWORD}, ("current_password",))),
        "delete": _op("removeOwnTotp",
                      "Remove this administrator's second factor, given their current password.",
                      _ok(204, "Removed."), codes=REAUTH, meanings=REAUTH_REFUSED,
                      body=_object({"current_password": CURRENT_PASSWORD},
                                   ("current_password",))),
    },
    "/audit": {
        "get": _op("listAudit",
                   "Who changed what, newest first; a domain administrator sees their"
                   " domains' entries.",
                   _ok(200, "The entries.", _list("AuditEntry")), codes=(401, 422),
                   parameters=[
                       {"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_AUDIT_LIMIT}},
                       {"name": "before", "in": "query", "required": False,
                        "description": "Only entries with a lower id (the next page).",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
                   ]),
    },
}


def document(server_url: str) -> dict[str, Any]:
    """The document, naming the configured server (never the request's Host)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Postbus administration API", "version": "1",
                 "description": "Domains, mailboxes, aliases, forwarding, vacation replies,"
                                " administrators, the audit log, and under /me one's own"
                                " password, API tokens and second factor, with the"
                                " permissions of the admin panel. Authenticate with an"
                                " administrator's API token (`postbus admin token NAME`)."},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
