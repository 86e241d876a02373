"""Reading a message: headers, its text and HTML parts, attachments, inline
``cid:`` images and the source, read through the mailbox service as IMAP FETCH
reads them (the parse-once record and byte ranges of the stored message).

The HTML part is not part of the page: it is its own document
(`message_body`), sanitised (`sanitize`) and served under `security.body_csp`
into a sandboxed frame. Remote content stays blocked unless the URL asks for
it (``remote=1``, the "show remote content" button), per message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from starlette.responses import HTMLResponse, Response

from postbus import executor
from postbus.mailbox import query as q
from postbus.mailbox.fetch import Fetched, Span
from postbus.mailbox.types import INBOX, Mailbox
from postbus.message import Address, decode_text
from postbus.message.model import MessageMeta, Part
from postbus.preferences import InvalidPreference
from postbus.preferences.limits import MAX_REMOTE_SENDER_CHARS
from postbus.web.webmail.context import BadRequest, Web, action, page
from postbus.web.webmail.frame import render_page
from postbus.web.webmail.limits import MAX_FOLDER_PARAM, MAX_SHOWN_TEXT
from postbus.web.webmail.parts import (
    Path,
    attachment_list,
    body_parts,
    find_cid,
    parse_path,
    path_text,
)
from postbus.web.webmail.present import addresses_text, full_when, size_text, subject_text
from postbus.web.webmail.sanitize import sanitise
from postbus.web.webmail.security import body_csp
from postbus.web.webmail.services import time_zone, user_services

SEEN = "\\Seen"
#: HTML longer than this (characters) is sanitised on the executor's CPU pool.
INLINE_SANITISE = 64 * 1024
#: Image types shown inline (as cid: images); any other part is only downloaded.
INLINE_IMAGES = frozenset({"image/png", "image/gif", "image/jpeg", "image/webp"})


@dataclass(frozen=True, slots=True)
class Target:
    mailbox: Mailbox
    uid: int


async def _target(web: Web) -> Target:
    params = web.request.query_params
    folder = params.get("folder") or INBOX
    if len(folder) > MAX_FOLDER_PARAM:
        raise BadRequest(web._("The address of this page is not valid."))
    try:
        uid = int(params.get("uid", ""))
    except ValueError as e:
        raise BadRequest(web._("The address of this page is not valid.")) from e
    return Target(await web.mailboxes.get(web.account_id, folder), uid)


async def _fetch(web: Web, target: Target, *, sections: tuple[q.Section, ...] = ()) -> Fetched:
    items = q.FetchItems(info=True, record=True, sections=sections)
    async for fetched in web.mailboxes.fetch(target.mailbox.id, [target.uid], items):
        if not fetched.gone:
            return fetched
    raise BadRequest(web._("The message or folder no longer exists."), 404)


async def _content(fetched: Fetched, section: q.Section) -> bytes:
    content, _ = await fetched.section(section)
    if isinstance(content, Span):
        assert fetched.reader is not None
        return await fetched.reader.read(content.start, content.end)
    return content


def _part(meta: MessageMeta, path: Path) -> Part | None:
    from postbus.message import resolve_section

    return resolve_section(meta, path)


@dataclass(frozen=True, slots=True)
class ShownPart:
    html: bool
    text: str  # the plain text (empty for HTML)
    url: str  # the frame's URL (HTML only)


@page
async def message(web: Web) -> Response:
    target = await _target(web)
    fetched = await _fetch(web, target)
    assert fetched.info is not None
    meta = await fetched.record()
    if SEEN not in fetched.info.flags:
        await web.mailboxes.store_flags(target.mailbox.id, [target.uid], "add", [SEEN])
    env = meta.envelope
    sender = _sender(env.from_)
    prefs = user_services(web.app).preferences
    always = bool(sender) and await prefs.allows_remote(web.account, sender)
    remote = always or web.request.query_params.get("remote") == "1"
    folder, uid = target.mailbox.name, target.uid
    shown: list[ShownPart] = []
    texts = [s for s in body_parts(meta.body) if not s.html]
    plain: dict[Path, str] = {}
    if texts:
        sections = tuple(q.Section(part=s.path, decode=True) for s in texts)
        reading = await _fetch(web, target, sections=sections)
        for s, section in zip(texts, sections, strict=True):
            raw = await _content(reading, section)
            plain[s.path] = decode_text(raw[:MAX_SHOWN_TEXT], s.part.charset)
    for s in body_parts(meta.body):
        if s.html:
            url = web.url("message_body", folder=folder, uid=uid, part=path_text(s.path),
                          remote="1" if remote else None)
            shown.append(ShownPart(True, "", url))
        else:
            shown.append(ShownPart(False, plain[s.path], ""))
    attachments = [
        {"name": a.name, "size": size_text(a.part.size, web.language), "type": a.part.mime_type,
         "url": web.url("message_part", folder=folder, uid=uid, part=path_text(a.path))}
        for a in attachment_list(meta.body, web._("attachment"))]
    return await render_page(
        web, "message.html", folder=folder, uid=uid,
        subject=subject_text(env.subject) or web._("(no subject)"),
        sender=addresses_text(env.from_), to=addresses_text(env.to), cc=addresses_text(env.cc),
        date=full_when(meta.sort_date or fetched.info.internal_date, web.language,
                       zone=await time_zone(web.app, web.account)),
        flagged="\\Flagged" in fetched.info.flags, shown=shown, attachments=attachments,
        remote=remote, has_html=any(s.html for s in shown), sender_address=sender,
        always_remote=always,
        source_url=web.url("message_source", folder=folder, uid=uid),
        remote_url=web.url("message", folder=folder, uid=uid, remote="1"),
        back_url=web.url("mailbox", folder=folder),
    )


def _sender(addresses: Sequence[Address]) -> str:
    """The first From address, lower case ("" when there is none)."""
    for _name, _route, mailbox, host in addresses:
        if mailbox and host:
            return f"{mailbox}@{host}".lower()
    return ""


@action
async def remote_sender(web: Web) -> Response:
    """"Always show remote content from this sender" on an open message, and
    its undoing there or in the settings. The sender is read from the message
    itself when one is named, never taken from the form, so only a real sender
    can be added; the settings page names one only to forget it."""
    allowed = await web.field("mode", limit=8) == "allow"
    folder = await web.field("folder", limit=MAX_FOLDER_PARAM)
    uid = await web.field("uid", limit=10)
    back = web.url("settings")
    if uid:
        if not uid.isdigit():
            raise BadRequest(web._("The form could not be read."))
        target = Target(await web.mailboxes.get(web.account_id, folder or INBOX), int(uid))
        sender = _sender((await (await _fetch(web, target)).record()).envelope.from_)
        back = web.url("message", folder=target.mailbox.name, uid=target.uid)
    elif allowed:
        raise BadRequest(web._("The form could not be read."))
    else:
        sender = await web.field("sender", limit=MAX_REMOTE_SENDER_CHARS)
    if not sender:
        raise BadRequest(web._("This message has no sender address."))
    try:
        await user_services(web.app).preferences.set_remote(web.account, sender, allowed)
    except InvalidPreference as e:
        raise BadRequest(web._("This message has no sender address.")) from e
    return web.redirect(back)


@page
async def body(web: Web) -> Response:
    """The sanitised HTML of one part, as a document of its own (see the module docstring)."""
    target = await _target(web)
    path = parse_path(web.request.query_params.get("part", ""))
    if path is None:
        raise BadRequest(web._("The address of this page is not valid."))
    section = q.Section(part=path, decode=True)
    fetched = await _fetch(web, target, sections=(section,))
    part = _part(await fetched.record(), path)
    if part is None or part.mime_type != "text/html":
        raise BadRequest(web._("The message or folder no longer exists."), 404)
    raw = await _content(fetched, section)
    remote = web.request.query_params.get("remote") == "1"
    folder, uid = target.mailbox.name, target.uid

    def cid_url(content_id: str) -> str:
        return web.url("message_cid", folder=folder, uid=uid, cid=content_id)

    text = decode_text(raw[:MAX_SHOWN_TEXT], part.charset)
    if len(text) > INLINE_SANITISE:  # STYLE habit 7: long work leaves the event loop
        clean = await executor.run(executor.CPU, sanitise, text, cid_url=cid_url, remote=remote)
    else:
        clean = sanitise(text, cid_url=cid_url, remote=remote)
    document = ('<!DOCTYPE html><html><head><meta charset="utf-8">'
                f'<meta name="postbus-remote-blocked" content="{clean.remote_blocked}">'
                f'<link rel="stylesheet" href="{web.static("body.css")}">'
                f'</head><body>{clean.html}</body></html>')
    headers = {"content-security-policy": body_csp(remote), "x-frame-options": "SAMEORIGIN",
               "x-remote-blocked": str(clean.remote_blocked)}
    return HTMLResponse(document, headers=headers)


def _disposition(kind: str, name: str) -> str:
    """RFC 6266 §4.3: an ASCII fallback and the UTF-8 name (RFC 8187)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


async def _serve_part(web: Web, target: Target, path: Path, *, inline: bool) -> Response:
    section = q.Section(part=path, decode=True)
    fetched = await _fetch(web, target, sections=(section,))
    part = _part(await fetched.record(), path)
    if part is None or part.children:
        raise BadRequest(web._("The message or folder no longer exists."), 404)
    data = await _content(fetched, section)
    kind = part.mime_type
    show = inline and kind in INLINE_IMAGES
    name = part.filename or f"part-{path_text(path)}"
    headers = {
        "content-disposition": _disposition("inline" if show else "attachment", name),
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private, max-age=3600",
    }
    media = kind if show else "application/octet-stream"
    return Response(data, media_type=media, headers=headers)


@page
async def part(web: Web) -> Response:
    """An attachment, downloaded (never shown as a page of this site)."""
    target = await _target(web)
    path = parse_path(web.request.query_params.get("part", ""))
    if path is None:
        raise BadRequest(web._("The address of this page is not valid."))
    return await _serve_part(web, target, path, inline=False)


@page
async def cid(web: Web) -> Response:
    """An inline image named by ``cid:`` in the HTML part (RFC 2392)."""
    target = await _target(web)
    fetched = await _fetch(web, target)
    path = find_cid((await fetched.record()).body, web.request.query_params.get("cid", "")[:998])
    if path is None:
        raise BadRequest(web._("The message or folder no longer exists."), 404)
    return await _serve_part(web, target, path, inline=True)


@page
async def source(web: Web) -> Response:
    """The message as stored, as plain text."""
    target = await _target(web)
    section = q.Section()
    fetched = await _fetch(web, target, sections=(section,))
    data = await _content(fetched, section)
    return Response(data, media_type="text/plain; charset=utf-8",
                    headers={"content-security-policy": "default-src 'none'; sandbox"})
