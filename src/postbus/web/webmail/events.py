"""Live updates: server-sent events (HTML Living Standard §9.2) fed by the
store's change events, the same `Mailboxes.watch` subscription IMAP IDLE waits on.

Each event is ``event: change`` with JSON data: every folder's unread and total
counts and the quota used, so the page can update its folder tree and quota bar,
and the names of the folders whose messages changed, so the open list can
reload itself. A comment line keeps the connection open every `KEEPALIVE`
seconds; a stream ends after `MAX_STREAM` seconds and the browser reconnects
(``retry``), so that a session that ended stops being served within that time.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from starlette.responses import Response, StreamingResponse

from postbus.mailbox import errors
from postbus.web.webmail.context import Web, background
from postbus.web.webmail.frame import folder_rows, quota_bar

#: Seconds between keep-alive comments on a quiet stream.
KEEPALIVE = 25.0
#: Seconds a stream lives before the browser must reconnect (and be checked again).
MAX_STREAM = 300.0
#: Milliseconds the browser waits before reconnecting.
RETRY_MS = 3000


async def snapshot(web: Web, changed: list[str]) -> str:
    rows = await folder_rows(web)
    quota = await quota_bar(web)
    data = {
        "folders": {r.name: {"unread": r.unread, "messages": r.messages} for r in rows},
        "changed": changed,
        "quota": {"used": quota.used, "limit": quota.limit, "percent": quota.percent,
                  "level": quota.level, "used_text": quota.used_text},
    }
    return f"event: change\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@background
async def stream(web: Web) -> Response:
    subscription = web.mailboxes.watch(web.account_id)

    async def events() -> AsyncIterator[str]:
        try:
            yield f"retry: {RETRY_MS}\n\n"
            ends = time.monotonic() + MAX_STREAM
            while time.monotonic() < ends and not web.app.closing:
                if not await subscription.wait(timeout=KEEPALIVE):
                    yield ": keep-alive\n\n"
                    continue
                ids = {c.mailbox_id for c in subscription.pending()}
                try:
                    names = [f.mailbox.name for f in await web.mailboxes.tree(web.account_id)
                             if f.mailbox is not None and f.mailbox.id in ids]
                    event = await snapshot(web, names)
                except errors.StoreError:
                    return  # the account is gone: the browser's reconnect is refused
                yield event
        finally:
            subscription.close()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})
