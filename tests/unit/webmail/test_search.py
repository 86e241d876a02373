"""The advanced search: words, dates, one folder or all, unread, attachments."""

from __future__ import annotations

import datetime as dt
import re

import httpx

from postbus.app import App
from postbus.web.webmail.search import AdvancedQuery
from tests.unit.webmail.conftest import ALICE, deliver, message, page_of

ATTACHED = (b"From: Ann <ann@example.net>\r\nSubject: budget with sheet\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
            b"the budget\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;"
            b" filename=s.pdf\r\n\r\nPDF\r\n--b--\r\n")


def found(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<td class="col-subject"><a href="[^"]*">([^<]*)</a></td>\s*'
                      r'<td class="col-folder">([^<]*)</td>', html)


async def test_across_folders_with_filters(app: App, alice: httpx.AsyncClient) -> None:
    await deliver(app, ALICE, message("budget 2026", body="numbers"), flags=("\\Seen",))
    await deliver(app, ALICE, message("lunch", body="the budget for lunch"), folder="Archive")
    await deliver(app, ALICE, ATTACHED, folder="Archive")
    await deliver(app, ALICE, message("unrelated"))
    everywhere = found(await page_of(alice, "/webmail/search?q=budget"))
    assert sorted(everywhere) == [("budget 2026", "Inbox"), ("budget with sheet", "Archive"),
                                  ("lunch", "Archive")]
    assert found(await page_of(alice, "/webmail/search?q=budget&folder=INBOX")) == [
        ("budget 2026", "Inbox")]
    assert sorted(found(await page_of(alice, "/webmail/search?q=budget&unread=1"))) == [
        ("budget with sheet", "Archive"), ("lunch", "Archive")]
    assert found(await page_of(alice, "/webmail/search?q=budget&attachment=1")) == [
        ("budget with sheet", "Archive")]
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    assert found(await page_of(alice, f"/webmail/search?q=budget&since={tomorrow}")) == []
    assert len(found(await page_of(alice, f"/webmail/search?before={tomorrow}"))) == 4
    form = await page_of(alice, "/webmail/search")
    assert "Advanced search" in form and "result" not in form


def test_query_parsing() -> None:
    q = AdvancedQuery.parse({"q": " x ", "since": "2026-01-02", "before": "junk", "unread": "1"})
    assert (q.text, q.since, q.before, q.unread, q.attachment) == ("x", dt.date(2026, 1, 2),
                                                                   None, True, False)
    assert not AdvancedQuery.parse({}).asked
