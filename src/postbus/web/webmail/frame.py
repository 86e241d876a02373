"""What every logged-in page shows around its content: the folder tree with
unread counts and special-use icons, and the quota bar (the numbers IMAP
GETQUOTAROOT reports, `Mailboxes.quota`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import HTMLResponse

from postbus.web.webmail.context import Web
from postbus.web.webmail.present import SPECIAL_ICONS, folder_label, size_text

#: The quota bar turns amber, then red, past these fractions of the quota.
QUOTA_WARN = 0.8
QUOTA_FULL = 0.95


@dataclass(frozen=True, slots=True)
class FolderRow:
    name: str  # the folder's full name, as the service knows it
    label: str  # what the user reads
    depth: int
    icon: str
    unread: int
    messages: int
    selectable: bool
    special_use: str | None


@dataclass(frozen=True, slots=True)
class QuotaBar:
    used: int
    limit: int  # 0: unlimited
    percent: int
    level: str  # "ok", "warn" or "full"
    used_text: str
    limit_text: str


async def folder_rows(web: Web) -> list[FolderRow]:
    rows: list[FolderRow] = []
    for folder in await web.mailboxes.tree(web.account_id):
        mailbox = folder.mailbox
        special = mailbox.special_use if mailbox is not None else None
        unread = messages = 0
        if mailbox is not None:
            status = await web.mailboxes.status(mailbox)
            unread, messages = status.unseen, status.messages
        rows.append(FolderRow(folder.name, folder_label(folder.name, special, web._),
                              folder.name.count("/"),
                              "inbox" if folder.name == "INBOX" else SPECIAL_ICONS.get(special, "folder"),
                              unread, messages, mailbox is not None, special))
    return rows


async def quota_bar(web: Web) -> QuotaBar:
    report = await web.mailboxes.quota(web.account_id)
    limit = report.limit_bytes
    fraction = report.used_bytes / limit if limit else 0.0
    level = "full" if fraction >= QUOTA_FULL else "warn" if fraction >= QUOTA_WARN else "ok"
    return QuotaBar(report.used_bytes, limit, min(100, round(fraction * 100)), level,
                    size_text(report.used_bytes, web.language),
                    size_text(limit, web.language) if limit else "")


async def render_page(web: Web, template: str, *, folder: str = "", status: int = 200,
                      **context: Any) -> HTMLResponse:
    """`template` (which extends ``page.html``) with the folder tree and quota bar;
    `folder` is the folder to highlight."""
    rows = await folder_rows(web)
    return web.render(template, status=status, folders=rows, quota=await quota_bar(web),
                      current_folder=folder, **context)
