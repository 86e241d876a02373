"""A property-based test of the JSON API from its own OpenAPI document
(schemathesis): generated requests, valid and invalid, with the operator's
token, against a real server; no answer may be a 5xx or break the document
(status, content type, headers, schema), schema-invalid input must be refused,
and requests without credentials must be refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from postbus.admin import CLI
from postbus.admin.service import generate_password
from postbus.app import App
from postbus.web.api import openapi
from postbus.web.api.body import MAX_STRING
from tests.support.api import ApiServer, api_server

PUBLIC = "https://mail.example.test/api/v1"
# Invalid input may also be refused as too large (413: a body over 64 KiB).
CONFIG = schemathesis.Config.from_str("""
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422]
""")
schema = schemathesis.openapi.from_dict(openapi.document(PUBLIC), config=CONFIG)
LIVE_TOKEN_ID: list[int] = []  # the test's own token, which DELETE /me/tokens/{id} must spare
# root's password, sent as current_password so that /me changes are exercised past
# re-authentication (and so that guesses do not get the test's address banned)
ROOT_PASSWORD: list[str] = []


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, dict[str, str]]]:
    ROOT_PASSWORD[:] = [generate_password()]
    with api_server(tmp_path_factory.mktemp("schemathesis")) as server:
        async def setup(app: App) -> tuple[str, int]:
            await app.admin.add_domain(CLI, "a.test")
            await app.admin.create_mailbox(CLI, "alice@a.test")
            await app.admin.add_admin(CLI, "root", ROOT_PASSWORD[0], operator=True)
            made = await app.admin.create_token(CLI, "root")
            return made.secret, made.token.id

        token, token_id = server.run(setup)
        LIVE_TOKEN_ID.append(token_id)
        yield server, {"Authorization": f"Bearer {token}"}


def test_the_served_document_is_the_tested_one(live: tuple[ApiServer, dict[str, str]]) -> None:
    server, _ = live
    served = httpx.get(server.url + "/api/v1/openapi.json").json()
    # the server names the configured hostname, whatever Host the request carried
    assert served["servers"] == [{"url": "https://mail.example.test/api/v1"}]
    assert served == openapi.document(PUBLIC)


@schema.parametrize()
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_document(case: Any, live: tuple[ApiServer, dict[str, str]]) -> None:
    server, headers = live
    # (schemathesis may give the id as a string: "1")
    if case.method == "DELETE" and str((case.path_parameters or {}).get("id")) in map(
            str, LIVE_TOKEN_ID):
        case.path_parameters["id"] = LIVE_TOKEN_ID[0] + 1  # revoking it would end the run's access
    body = case.body if isinstance(case.body, dict) else {}
    # A current password that is a string within bounds is not what makes a
    # negative case invalid: the right one takes its place.
    if isinstance(body.get("current_password"), str) and len(body["current_password"]) <= MAX_STRING:
        body["current_password"] = ROOT_PASSWORD[0]
    # Every check but positive_data_acceptance: a schema-valid body can still be
    # refused on meaning the schema cannot state (a weak password, "x..x" as a
    # domain name): 422, documented for each operation.
    response = case.call_and_validate(
        base_url=server.url + "/api/v1", headers=headers,
        excluded_checks=[schemathesis.checks.positive_data_acceptance])
    if case.path == "/me/password" and response.status_code == 204:
        ROOT_PASSWORD[0] = body["password"]
