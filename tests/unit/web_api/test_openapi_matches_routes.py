"""The hand-written OpenAPI document and the routes describe the same API:
the same paths with the same methods, and request schemas that carry the
validators' bounds (so that what the document promises is what is checked)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from postbus.web.api import body, openapi
from postbus.web.api.routes import ROUTES

METHODS = {"get", "put", "post", "patch", "delete"}


def test_paths_and_methods_match_exactly() -> None:
    doc = openapi.document("https://mail.example.test/api/v1")
    documented = {(path, m.upper()) for path, item in doc["paths"].items()
                  for m in item if m in METHODS}
    routed = {(r.path, m) for r in ROUTES for m in (r.methods or set()) if m != "HEAD"}
    assert documented == routed
    for path, item in doc["paths"].items():
        params = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert params == declared, path


def _schemas(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [op["requestBody"]["content"]["application/json"]["schema"]
            for item in doc["paths"].values() for m, op in item.items()
            if m in METHODS and "requestBody" in op]


def test_every_request_schema_is_closed_and_bounded() -> None:
    for schema in _schemas(openapi.document("https://x/api/v1")):
        assert schema["additionalProperties"] is False
        for name, prop in schema["properties"].items():
            if prop.get("type") == "string":
                assert prop["maxLength"] <= body.MAX_TEXT, name
            if prop.get("type") == "array":
                assert prop["maxItems"] == body.MAX_LIST, name
                assert prop["items"]["maxLength"] == body.MAX_STRING, name


def test_the_document_names_the_given_server() -> None:
    doc = openapi.document("https://mail.example.test/api/v1")
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "https://mail.example.test/api/v1"}]


@pytest.mark.parametrize(("value", "fields", "status"), [
    ({"x": 1}, {"name": body.Field("string")}, 422),
    ({}, {"name": body.Field("string", required=True)}, 422),
    ({"name": 5}, {"name": body.Field("string")}, 422),
    ({"name": "a\x00b"}, {"name": body.Field("string")}, 422),
    ({"name": "\udc80"}, {"name": body.Field("string")}, 422),
    ({"name": "x" * (body.MAX_STRING + 1)}, {"name": body.Field("string")}, 422),
    ({"on": 1}, {"on": body.Field("boolean")}, 422),
    ({"n": True}, {"n": body.Field("integer", maximum=5)}, 422),
    ({"n": 6}, {"n": body.Field("integer", maximum=5)}, 422),
    ({"n": 1.5}, {"n": body.Field("integer", maximum=5)}, 422),
    ({"t": -1}, {"t": body.Field("number?")}, 422),
    ({"t": 1e300}, {"t": body.Field("number?")}, 422),
    ({"l": ["a"] * (body.MAX_LIST + 1)}, {"l": body.Field("strings")}, 422),
    ({"l": [1]}, {"l": body.Field("strings")}, 422),
])
def test_the_validators_refuse(value: dict[str, Any], fields: dict[str, body.Field],
                               status: int) -> None:
    with pytest.raises(body.BodyError) as caught:
        body.check(value, fields)
    assert caught.value.status == status


def test_the_validators_accept() -> None:
    fields = {"s": body.Field("string", required=True), "b": body.Field("boolean"),
              "n": body.Field("integer", maximum=10), "t": body.Field("number?"),
              "l": body.Field("strings"), "x": body.Field("text")}
    assert body.check({"s": "é", "b": False, "n": 0, "t": None, "l": [], "x": "a\nb"}, fields) == {
        "s": "é", "b": False, "n": 0, "t": None, "l": [], "x": "a\nb"}
    assert body.check({"s": "", "t": 5}, fields) == {"s": "", "t": 5.0}
