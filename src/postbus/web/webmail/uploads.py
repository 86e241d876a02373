"""Multipart forms: the compose form with its attachments and a contacts import.

Read with Starlette's parser (python-multipart) under named limits: the whole
body is counted as it arrives and refused (413) past its limit, before the
excess is kept; fields and files are counted by the parser. An upload action
is a `context.page` (the session is known before the body is read) that then
checks the origin and the CSRF token, from the ``X-CSRF-Token`` header
(scripts) or the form's own ``csrf`` field (a plain form post).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message

from postbus.web.webmail.context import BadRequest, Endpoint, Web, page
from postbus.web.webmail.security import CSRF_FIELD, CSRF_HEADER, same_origin, tokens_match

#: Octets of a multipart form besides its files (the text fields, the part headers).
MAX_FORM_OVERHEAD = 1 << 20
#: Text fields of a multipart form (addresses, subject, body, kept attachments...).
MAX_UPLOAD_FIELDS = 256
#: Files of one multipart form.
MAX_UPLOAD_FILES = 100
#: Octets of one text field (the body of a message is the largest).
MAX_TEXT_PART = 4 << 20

UploadHandler = Callable[[Web, FormData], Awaitable[Response]]


class _TooLarge(Exception):
    pass


async def multipart(web: Web, limit: int) -> FormData:
    """The multipart form of the request, its body at most `limit` octets."""
    request = web.request
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        raise BadRequest(web._("The form could not be read."), 415)
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BadRequest(web._("The message is too large."), 413)
    seen = 0
    receive = request.receive

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
        return message

    bounded = Request(request.scope, counted)
    try:
        return await bounded.form(max_files=MAX_UPLOAD_FILES, max_fields=MAX_UPLOAD_FIELDS,
                                  max_part_size=MAX_TEXT_PART)
    except _TooLarge:
        raise BadRequest(web._("The message is too large."), 413) from None
    except Exception as e:  # the parser's refusals (too many fields or files, bad syntax)
        if type(e).__name__ in ("HTTPException", "MultiPartException"):
            raise BadRequest(web._("The form could not be read.")) from e
        raise


def upload_action(limit: Callable[[Web], int]) -> Callable[[UploadHandler], Endpoint]:
    """Decorates ``async def handler(web, form)`` for a multipart POST; `limit`
    gives the body's limit for the request (it depends on the message size)."""

    def decorate(handler: UploadHandler) -> Endpoint:
        @functools.wraps(handler)
        async def checked(web: Web) -> Response:
            if not same_origin(web.request):
                return PlainTextResponse(web._("The request came from another site."), 403)
            form = await multipart(web, limit(web))
            try:
                token = web.request.headers.get(CSRF_HEADER) or text(form, CSRF_FIELD)
                if not tokens_match(token, web.csrf_token):
                    return PlainTextResponse(
                        web._("The form has expired. Please reload the page and try again."), 403)
                return await handler(web, form)
            finally:
                await form.close()  # the uploads' temporary files

        return page(checked)

    return decorate


def text(form: FormData, name: str, limit: int = MAX_TEXT_PART) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value[:limit]


def texts(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]


def files(form: FormData, name: str) -> list[UploadFile]:
    return [v for v in form.getlist(name) if isinstance(v, UploadFile) and v.filename]
