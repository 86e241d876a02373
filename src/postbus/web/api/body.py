"""Request bodies of the JSON API: read with a bound, parsed, and checked by
small explicit validators that mirror the OpenAPI schemas (`openapi.py`).

Pure functions apart from `read_json`: a body is a JSON object with only the
documented fields, each of its documented type and size. Strings that a
store could not keep (NUL, lone surrogates) are refused here, so that they
never reach SQL.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

MAX_BODY_BYTES = 64 * 1024  # a request body; larger is answered 413 unread
MAX_STRING = 1024  # characters of a name, address or password field
MAX_TEXT = 16 * 1024  # characters of a vacation reply's text
MAX_LIST = 50  # items of a list field (forwarding or alias targets, domains)
MAX_QUOTA = 1 << 50
MAX_TIMESTAMP = 253402300799.0  # 9999-12-31T23:59:59Z


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object: 415 unless it is JSON, 413 when too big, 400 when
    it is not JSON, 422 when it is not an object."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise BodyError(415, "the body must be application/json")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise BodyError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY_BYTES:
            raise BodyError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise BodyError(400, "the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BodyError(422, "the body must be a JSON object")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class Field:
    kind: str  # "string" | "text" | "boolean" | "integer" | "number?" | "strings"
    required: bool = False
    minimum: int = 0
    maximum: int = 0  # for integers


def _string(name: str, value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise BodyError(422, f"{name} must be a string")
    if len(value) > limit:
        raise BodyError(422, f"{name} is longer than {limit} characters")
    if "\x00" in value or not _encodable(value):
        raise BodyError(422, f"{name} contains characters that are not allowed")
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check(body: dict[str, Any], fields: dict[str, Field]) -> dict[str, Any]:
    """The fields of `body`, each checked; unknown fields and missing required
    ones are refused (422)."""
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise BodyError(422, f"unknown field {unknown[0][:64]!r}")
    out: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in body:
            if f.required:
                raise BodyError(422, f"{name} is required")
            continue
        value = body[name]
        if f.kind == "string":
            out[name] = _string(name, value, MAX_STRING)
        elif f.kind == "text":
            out[name] = _string(name, value, MAX_TEXT)
        elif f.kind == "boolean":
            if not isinstance(value, bool):
                raise BodyError(422, f"{name} must be true or false")
            out[name] = value
        elif f.kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int) or not (
                    f.minimum <= value <= f.maximum):
                raise BodyError(422, f"{name} must be an integer from {f.minimum} to {f.maximum}")
            out[name] = value
        elif f.kind == "number?":
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)
                                      or not 0 <= value <= MAX_TIMESTAMP):
                raise BodyError(422, f"{name} must be null or seconds since 1970 (UTC)")
            out[name] = None if value is None else float(value)
        elif f.kind == "strings":
            if not isinstance(value, list) or len(value) > MAX_LIST:
                raise BodyError(422, f"{name} must be a list of at most {MAX_LIST} strings")
            out[name] = [_string(name, v, MAX_STRING) for v in value]
        else:  # a typo in a field table is a bug
            raise AssertionError(f.kind)
    return out
