"""Live updates: a message delivered while the page is open arrives as a
server-sent event, from the same change events IDLE waits on. Runs the real
HTTPS listener (uvicorn on a kernel-chosen port) in the test's loop."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx

from postbus.app import App
from postbus.web.server import start_web
from tests.unit.webmail.conftest import ALICE, deliver, login, message


async def test_new_mail_is_pushed(app: App) -> None:
    listening = socket.create_server(("127.0.0.1", 0))
    handle = await start_web(app, "https", [listening])
    try:
        async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{handle.port}",
                                     verify=False) as client:
            assert (await login(client)).status_code == 303
            async with client.stream("GET", "/webmail/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.aiter_lines()
                assert (await anext(lines)).startswith("retry:")
                await deliver(app, ALICE, message("live"))
                event = data = ""
                while not data:
                    line = await asyncio.wait_for(anext(lines), 30)
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        data = line.split(":", 1)[1].strip()
                assert event == "change"
                payload = json.loads(data)
                assert payload["changed"] == ["INBOX"]
                assert payload["folders"]["INBOX"] == {"unread": 1, "messages": 1}
                assert payload["quota"]["used"] > 0
            client.cookies.clear()
            anonymous = await client.get("/webmail/events", headers={"accept": "text/event-stream"})
            assert anonymous.status_code == 401
    finally:
        await handle.stop()
        listening.close()
