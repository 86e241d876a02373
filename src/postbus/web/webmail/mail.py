"""The mail screens: the message list of a folder and what can be done to a
selection of its messages (mark read/unread, flag, move, delete, empty).

Every change goes through the mailbox service's calls IMAP STORE, MOVE and
EXPUNGE use, so an IMAP client sees it at once (and is told by its IDLE).
"""

from __future__ import annotations

from starlette.responses import Response

from postbus.mailbox.flags import FlagMode
from postbus.mailbox.types import INBOX, Mailbox
from postbus.web.webmail.auth import is_local
from postbus.web.webmail.context import BadRequest, Web, action, page
from postbus.web.webmail.frame import render_page
from postbus.web.webmail.limits import MAX_FOLDER_PARAM, MAX_NEXT, MAX_SELECTED
from postbus.web.webmail.listing import SORTS, ListQuery, message_page
from postbus.web.webmail.services import user_services

SEEN = "\\Seen"
FLAGGED = "\\Flagged"
#: Folders whose "empty" button removes every message for good (RFC 6154 roles).
EMPTIABLE = ("\\Trash", "\\Junk")


@page
async def home(web: Web) -> Response:
    return web.redirect(web.url("mailbox", folder=INBOX))


@page
async def mailbox(web: Web) -> Response:
    query = ListQuery.parse(web.request.query_params)
    page_size = await user_services(web.app).preferences.page_size(
        web.account, web.app.settings.webmail.page_size)  # the user's setting, else the operator's
    listed = await message_page(web, query, page_size)
    return await render_page(web, "mailbox.html", folder=listed.mailbox.name, listed=listed,
                             query=query, sorts=SORTS, emptiable=EMPTIABLE)


async def special_folder(web: Web, special_use: str) -> Mailbox | None:
    for folder in await web.mailboxes.tree(web.account_id):
        if folder.mailbox is not None and folder.mailbox.special_use == special_use:
            return folder.mailbox
    return None


async def _selected(web: Web) -> list[int]:
    values = (await web.form()).get("uid", [])
    if len(values) > MAX_SELECTED:
        raise BadRequest(web._("Too many messages are selected at once."))
    try:
        return sorted({int(v) for v in values})
    except ValueError as e:
        raise BadRequest(web._("The form could not be read.")) from e


async def _back(web: Web, folder: str) -> str:
    back = await web.field("next", limit=MAX_NEXT)
    if is_local(web.url("home"), back):
        return back
    return web.url("mailbox", folder=folder)


async def delete_messages(web: Web, source: Mailbox, uids: list[int]) -> None:
    """Delete as users expect: to Trash, or for good when already in Trash (or
    when there is no Trash)."""
    trash = await special_folder(web, "\\Trash")
    if trash is None or trash.id == source.id:
        await web.mailboxes.expunge(source.id, uids)
    else:
        await web.mailboxes.copy(source.id, uids, trash, move=True)


@action
async def messages_action(web: Web) -> Response:
    """One form for the selection's buttons: ``op`` names what to do."""
    folder = await web.field("folder", INBOX, limit=MAX_FOLDER_PARAM)
    op = await web.field("op")
    source = await web.mailboxes.get(web.account_id, folder)
    uids = await _selected(web)
    if uids:
        if op in ("read", "unread", "flag", "unflag"):
            flag = SEEN if op in ("read", "unread") else FLAGGED
            mode: FlagMode = "add" if op in ("read", "flag") else "remove"
            await web.mailboxes.store_flags(source.id, uids, mode, [flag])
        elif op == "move":
            target = await web.mailboxes.get(
                web.account_id, await web.field("target", limit=MAX_FOLDER_PARAM))
            if target.id != source.id:
                await web.mailboxes.copy(source.id, uids, target, move=True)
        elif op == "delete":
            await delete_messages(web, source, uids)
        else:
            raise BadRequest(web._("Unknown action."))
    return web.redirect(await _back(web, source.name))


@action
async def empty_folder(web: Web) -> Response:
    """"Empty Trash" / "Empty Junk": every message of the folder, for good."""
    folder = await web.mailboxes.get(
        web.account_id, await web.field("folder", limit=MAX_FOLDER_PARAM))
    if folder.special_use not in EMPTIABLE:
        raise BadRequest(web._("Only Trash and Junk can be emptied."))
    uids = [e.uid for e in await web.mailboxes.messages(folder.id)]
    await web.mailboxes.expunge(folder.id, uids)
    return web.redirect(await _back(web, folder.name))


@page
async def folders_page(web: Web) -> Response:
    return await render_page(web, "folders.html")


@action
async def folder_create(web: Web) -> Response:
    name = (await web.field("name", limit=MAX_FOLDER_PARAM)).strip()
    parent = await web.field("parent", limit=MAX_FOLDER_PARAM)
    if not name or "/" in name:
        raise BadRequest(web._("A folder name may not be empty or contain “/”."))
    await web.mailboxes.create(web.account_id, f"{parent}/{name}" if parent else name)
    return web.redirect(web.url("folders_page"))


@action
async def folder_rename(web: Web) -> Response:
    old = await web.field("folder", limit=MAX_FOLDER_PARAM)
    name = (await web.field("name", limit=MAX_FOLDER_PARAM)).strip()
    if not name or "/" in name:
        raise BadRequest(web._("A folder name may not be empty or contain “/”."))
    if old == INBOX:
        raise BadRequest(web._("The Inbox cannot be renamed here."))
    parent = old.rpartition("/")[0]
    await web.mailboxes.rename(web.account_id, old, f"{parent}/{name}" if parent else name)
    return web.redirect(web.url("folders_page"))


@action
async def folder_delete(web: Web) -> Response:
    await web.mailboxes.delete(web.account_id, await web.field("folder", limit=MAX_FOLDER_PARAM))
    return web.redirect(web.url("folders_page"))
