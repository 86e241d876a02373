"""The multipart seam (`context.upload_action`) that the compose screen uses."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from postbus.app import App
from postbus.web.webmail import build_webmail
from postbus.web.webmail.context import Web, upload_action
from tests.unit.webmail.conftest import BASE, csrf_of, login


@upload_action(max_size=10_000, max_files=2)
async def receive(web: Web) -> Response:
    form = await web.request.form()
    upload = form["file"]
    assert not isinstance(upload, str)
    return PlainTextResponse(f"{upload.filename}:{len(await upload.read())}:{form['note']}")


async def test_upload_action(app: App) -> None:
    asgi = Starlette(routes=[Mount("/webmail", app=build_webmail(
        app, extra=(Route("/upload", receive, methods=["POST"]),)))])
    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        assert (await login(client)).status_code == 303
        token = csrf_of((await client.get("/webmail/folders")).text)
        files = {"file": ("a.txt", b"x" * 100, "text/plain")}
        ok = await client.post("/webmail/upload", data={"csrf": token, "note": "hi"}, files=files)
        assert ok.status_code == 200 and ok.text == "a.txt:100:hi"
        forged = await client.post("/webmail/upload", data={"csrf": "nope", "note": "hi"},
                                   files=files)
        assert forged.status_code == 403
        big = await client.post("/webmail/upload", data={"csrf": token, "note": "hi"},
                                files={"file": ("b.bin", b"y" * 20_000, "application/pdf")})
        assert big.status_code == 413
        many = await client.post("/webmail/upload", data={"csrf": token, "note": "hi"}, files=[
            ("file", ("1", b"1", "text/plain")), ("file", ("2", b"2", "text/plain")),
            ("file", ("3", b"3", "text/plain"))])
        assert many.status_code == 400
        urlencoded = await client.post("/webmail/upload", data={"csrf": token})
        assert urlencoded.status_code == 415
