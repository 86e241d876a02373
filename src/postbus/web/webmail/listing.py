"""The message list: a page of a folder, sorted and searched on the server.

Pure pieces (`ListQuery.parse`, `quick_search`, `page_bounds`) are tested on
their own; `message_page` reads through the mailbox service the way IMAP SORT,
SEARCH and FETCH do: UIDs and flags from the folder's cached entries
(`Mailboxes.open_view`), order from `Mailboxes.sort` (or the UIDs themselves
for "received", which costs nothing), and the parse-once records of the one
page shown (`Mailboxes.fetch`).
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from postbus.mailbox import query as q
from postbus.mailbox.types import INBOX, Mailbox
from postbus.mailbox.view import MailboxView
from postbus.web.webmail.context import BadRequest, Web
from postbus.web.webmail.limits import MAX_FOLDER_PARAM, MAX_PAGE, MAX_SEARCH
from postbus.web.webmail.present import sender_name, size_text, subject_text, when
from postbus.web.webmail.services import time_zone

#: sort name in the URL → the mailbox service's sort key (None: UID order, the arrival order)
SORTS: dict[str, q.SortField | None] = {
    "received": None, "date": "date", "from": "display_from", "subject": "subject", "size": "size",
}


#: Sorted or searched orders kept per process (`OrderCache`).
ORDERS_KEPT = 16


@dataclass(frozen=True, slots=True)
class ListQuery:
    folder: str = INBOX
    page: int = 1
    sort: str = "received"
    descending: bool = True
    search: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ListQuery:
        folder = params.get("folder") or INBOX
        search = params.get("q", "").strip()
        if len(folder) > MAX_FOLDER_PARAM or len(search) > MAX_SEARCH:
            raise BadRequest("too long")
        try:
            page = int(params.get("page", "1"))
        except ValueError:
            page = 1
        sort = params.get("sort", "received")
        if sort not in SORTS:
            sort = "received"
        descending = params.get("order", "desc" if sort in ("received", "date", "size") else
                                "asc") != "asc"
        return cls(folder, min(max(page, 1), MAX_PAGE), sort, descending, search)

    def params(self, **change: object) -> dict[str, object]:
        """The query string of this list, with `change` applied (for links)."""
        values: dict[str, object] = {"folder": self.folder, "page": self.page, "sort": self.sort,
                                     "order": "desc" if self.descending else "asc",
                                     "q": self.search}
        values.update(change)
        if values["page"] == 1:
            values["page"] = ""
        return values


def quick_search(text: str) -> q.Criterion:
    """Subject, From, To or the body contains every word, as IMAP SEARCH
    ``OR SUBJECT w OR FROM w OR TO w BODY w`` per word, ANDed (RFC 9051 §6.4.4)."""
    words = text.split()[:8]
    return q.And(tuple(q.Or((q.Subject(w), q.From(w), q.To(w), q.Body(w))) for w in words))


def page_bounds(total: int, page: int, size: int) -> tuple[int, int, int]:
    """(first index, end index, number of pages); a page past the end shows the last."""
    pages = max(1, -(-total // size))
    page = min(page, pages)
    start = (page - 1) * size
    return start, min(total, start + size), pages


@dataclass(frozen=True, slots=True)
class Row:
    uid: int
    seen: bool
    flagged: bool
    answered: bool
    attachment: bool
    sender: str
    subject: str
    preview: str
    when: str
    size: str


@dataclass(frozen=True, slots=True)
class MessagePage:
    mailbox: Mailbox
    rows: list[Row]
    total: int
    page: int
    pages: int


class OrderCache:
    """The last few orders computed by sort or search, so that the next page of a
    sorted list or of a search does not sort or search again.

    A key names the folder's set of messages by (id, uid_validity, uid_next,
    number of messages): an append moves uid_next, an expunge the count, and
    flag changes alter neither the sort keys nor the quick search's fields.
    At most `size` orders are kept (LRU); each is an array of 4-byte UIDs."""

    def __init__(self, size: int = ORDERS_KEPT) -> None:
        self.size = size
        self._orders: OrderedDict[tuple[object, ...], array[int]] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> array[int] | None:
        found = self._orders.get(key)
        if found is not None:
            self._orders.move_to_end(key)
        return found

    def put(self, key: tuple[object, ...], uids: Sequence[int]) -> array[int]:
        kept = array("I", uids)
        self._orders[key] = kept
        while len(self._orders) > self.size:
            self._orders.popitem(last=False)
        return kept


async def ordered_uids(web: Web, mailbox: Mailbox, query: ListQuery) -> Sequence[int]:
    view = await web.mailboxes.open_view(mailbox, True, MailboxView)
    entries = view.entries
    field = SORTS[query.sort]
    if field is None and not query.search:
        uids = entries.uids
        return uids[::-1] if query.descending else uids
    cache: OrderCache = web.request.app.state.orders
    key = (mailbox.id, mailbox.uid_validity, view.uid_next, len(entries), query.sort,
           query.descending, query.search)
    found = cache.get(key)
    if found is not None:
        return found
    matched: Sequence[int] = entries.uids
    if query.search:
        matched = await web.mailboxes.search(mailbox.id, entries, quick_search(query.search))
    if field is None:
        ordered: Sequence[int] = matched[::-1] if query.descending else matched
    else:
        ordered = await web.mailboxes.sort(mailbox.id, matched,
                                           [q.SortKey(field, query.descending)])
    return cache.put(key, ordered)


async def message_page(web: Web, query: ListQuery, page_size: int) -> MessagePage:
    mailbox = await web.mailboxes.get(web.account_id, query.folder)
    uids = await ordered_uids(web, mailbox, query)
    start, end, pages = page_bounds(len(uids), query.page, page_size)
    rows: list[Row] = []
    zone = await time_zone(web.app, web.account)
    items = q.FetchItems(info=True, record=True)
    async for fetched in web.mailboxes.fetch(mailbox.id, list(uids[start:end]), items):
        if fetched.gone or fetched.info is None:
            continue
        meta = await fetched.record()
        flags = fetched.info.flags
        rows.append(Row(
            fetched.uid, "\\Seen" in flags, "\\Flagged" in flags, "\\Answered" in flags,
            meta.has_attachments, sender_name(meta.envelope.from_),
            subject_text(meta.envelope.subject), meta.preview[:120],
            when(fetched.info.internal_date, web.language, zone=zone),
            size_text(fetched.info.size, web.language),
        ))
    return MessagePage(mailbox, rows, len(uids), min(query.page, pages), pages)
