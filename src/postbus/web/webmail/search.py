"""The advanced search: words, a date range (arrival, as IMAP SINCE/BEFORE),
one folder or all, unread only, with attachments only; run on the server by
`Mailboxes.search`, the search under IMAP SEARCH (RFC 9051 §6.4.4).

"With attachments" has no SEARCH key; it is checked on the parse-once records
of the matches. At most `MAX_PER_FOLDER` newest matches of each folder are
read, and the newest `MAX_RESULTS` of all are shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.responses import Response

from postbus.mailbox import query as q
from postbus.mailbox.view import MailboxView
from postbus.web.webmail.context import BadRequest, Web, page
from postbus.web.webmail.frame import render_page
from postbus.web.webmail.limits import MAX_FOLDER_PARAM, MAX_SEARCH
from postbus.web.webmail.listing import quick_search
from postbus.web.webmail.present import folder_label, sender_name, size_text, subject_text, when

#: Newest matches read per folder, and results shown in all.
MAX_PER_FOLDER = 200
MAX_RESULTS = 100


@dataclass(frozen=True, slots=True)
class AdvancedQuery:
    text: str = ""
    folder: str = ""  # "": every folder
    since: dt.date | None = None
    before: dt.date | None = None
    unread: bool = False
    attachment: bool = False

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> AdvancedQuery:
        text = params.get("q", "").strip()
        folder = params.get("folder", "")
        if len(text) > MAX_SEARCH or len(folder) > MAX_FOLDER_PARAM:
            raise BadRequest("too long")
        return cls(text, folder, _day(params.get("since", "")), _day(params.get("before", "")),
                   params.get("unread") == "1", params.get("attachment") == "1")

    @property
    def asked(self) -> bool:
        return bool(self.text or self.since or self.before or self.unread or self.attachment)

    def criterion(self) -> q.Criterion:
        parts: list[q.Criterion] = []
        if self.text:
            parts.append(quick_search(self.text))
        if self.since:
            parts.append(q.Since(self.since))
        if self.before:
            parts.append(q.Before(self.before))
        if self.unread:
            parts.append(q.Unseen)
        return q.And(tuple(parts))


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Found:
    folder: str
    folder_label: str
    uid: int
    seen: bool
    attachment: bool
    sender: str
    subject: str
    when: str
    size: str
    arrived: float


async def run(web: Web, query: AdvancedQuery) -> tuple[list[Found], bool]:
    """The results, newest first, and whether some were left out."""
    found: list[Found] = []
    more = False
    criterion = query.criterion()
    for folder in await web.mailboxes.tree(web.account_id):
        mailbox = folder.mailbox
        if mailbox is None or (query.folder and folder.name != query.folder):
            continue
        view = await web.mailboxes.open_view(mailbox, True, MailboxView)
        uids = await web.mailboxes.search(mailbox.id, view.entries, criterion)
        if len(uids) > MAX_PER_FOLDER:
            more = True
            uids = uids[-MAX_PER_FOLDER:]
        label = folder_label(folder.name, mailbox.special_use, web._)
        items = q.FetchItems(info=True, record=True)
        async for fetched in web.mailboxes.fetch(mailbox.id, uids, items):
            if fetched.gone or fetched.info is None:
                continue
            meta = await fetched.record()
            if query.attachment and not meta.has_attachments:
                continue
            info = fetched.info
            found.append(Found(
                folder.name, label, fetched.uid, "\\Seen" in info.flags, meta.has_attachments,
                sender_name(meta.envelope.from_), subject_text(meta.envelope.subject),
                when(info.internal_date, web.language), size_text(info.size, web.language),
                info.internal_date))
    found.sort(key=lambda f: f.arrived, reverse=True)
    if len(found) > MAX_RESULTS:
        more = True
        found = found[:MAX_RESULTS]
    return found, more


@page
async def search_page(web: Web) -> Response:
    query = AdvancedQuery.parse(web.request.query_params)
    results: list[Found] = []
    more = False
    if query.asked:
        results, more = await run(web, query)
    return await render_page(web, "search.html", advanced=query, results=results, more=more,
                             max_results=MAX_RESULTS)
