"""The compose screen: new message, reply, reply-all, forward (inline or as
attachment), drafts (saved by a button and autosaved by ``compose.js``), the
attachments of a draft, and address completion (JSON).

Every rule is the compose service's (`postbus.compose`): the From address is
checked there on every save and send, whatever this form posted. This module
turns a form into a `Draft` (`draft_from_form`, a pure function) and the
service's refusals into the user's words (`refusal_text`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from starlette.datastructures import FormData
from starlette.responses import JSONResponse, Response

from postbus.addressbook import Suggestion
from postbus.compose import Attachment, AttachmentInfo, ComposeRefused, Draft, Source
from postbus.web.webmail.context import BadRequest, Web, page
from postbus.web.webmail.frame import render_page
from postbus.web.webmail.limits import MAX_FOLDER_PARAM
from postbus.web.webmail.present import size_text
from postbus.web.webmail.services import user_services
from postbus.web.webmail.uploads import (
    MAX_FORM_OVERHEAD,
    files,
    text,
    texts,
    upload_action,
)

#: Characters of a completion query, and of the hidden threading fields.
MAX_COMPLETE_QUERY = 100
MAX_REFERENCES_FIELD = 64 << 10
MAX_ID_FIELD = 998


def _int(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 10:
        return None
    return int(value)


def _source(folder: str, uid: str) -> Source | None:
    n = _int(uid)
    if not folder or n is None:
        return None
    return Source(folder[:MAX_FOLDER_PARAM], n)


def draft_from_form(form: Mapping[str, str], drop: list[str],
                    attachments: tuple[Attachment, ...]) -> Draft:
    """The Draft a compose form describes (bounded; the service checks the rest)."""
    mode = form.get("forward_mode", "")
    return Draft(
        from_address=form.get("from", "")[:320],
        to=form.get("to", ""), cc=form.get("cc", ""), bcc=form.get("bcc", ""),
        subject=form.get("subject", ""), body=form.get("body", ""),
        attachments=attachments,
        in_reply_to=form.get("in_reply_to", "")[:MAX_ID_FIELD],
        references=form.get("references", "")[:MAX_REFERENCES_FIELD],
        draft_uid=_int(form.get("draft")),
        drop=tuple(n for n in (_int(d) for d in drop[:1000]) if n is not None),
        replied=_source(form.get("replied_folder", ""), form.get("replied_uid", "")),
        forwarded=_source(form.get("forwarded_folder", ""), form.get("forwarded_uid", "")),
        forward_mode=mode if mode in ("inline", "attachment") else "",
    )


def refusal_text(web: Web, e: ComposeRefused) -> str:
    _ = web._
    limit = size_text(web.app.settings.max_message_size, web.language)
    texts_by_kind = {
        "from": _("You cannot send as %(address)s: it is not one of your addresses.",
                  address=e.detail),
        "recipient": _("This address cannot receive mail: %(address)s", address=e.detail),
        "no_recipient": _("Add at least one recipient."),
        "too_many_recipients": _("Too many recipients (at most %(limit)s).", limit=e.detail),
        "too_big": _("The message is larger than %(limit)s, the most that can be sent. "
                     "Remove an attachment or send the files in several messages.", limit=limit),
        "limit": _("A limit was reached: %(detail)s", detail=e.detail),
        "mailbox_full": _("A mailbox is full; the message was not sent. Try again later."),
        "sending_limit": _("Your mailbox may not send more messages now (a sending limit, or "
                           "a block by your administrator). The message was not sent."),
        "not_found": _("The message or draft no longer exists."),
        "temporary": _("The message could not be sent now. Try again later."),
    }
    return texts_by_kind.get(e.kind, _("That is not possible."))


def _upload_limit(web: Web) -> int:
    return web.app.settings.max_message_size + MAX_FORM_OVERHEAD


async def _render(web: Web, d: Draft, parts: tuple[AttachmentInfo, ...] = (), *,
                  error: str = "", status: int = 200) -> Response:
    services = user_services(web.app)
    prefs = await services.preferences.get(web.account)
    choices = [(i.address, f"{i.name} <{i.address}>" if i.name else i.address)
               for i in prefs.identities]
    for address in await services.preferences.owned(web.account):
        if prefs.identity_for(address) is None:
            choices.append((address, address))
    if d.from_address and all(a.lower() != d.from_address.lower() for a, _ in choices):
        choices.append((d.from_address, d.from_address))
    return await render_page(
        web, "compose.html", status=status, draft=d, choices=choices, error=error,
        parts=[(p, size_text(p.size, web.language)) for p in parts],
        max_size=size_text(web.app.settings.max_message_size, web.language))


@page
async def compose(web: Web) -> Response:
    """GET: a new message (``to=``), a reply (``reply=UID&folder=``, ``all=1``), a
    forward (``forward=UID&folder=&mode=attachment``) or a saved draft (``draft=UID``)."""
    q = web.request.query_params
    service = user_services(web.app).compose
    _ = web._
    folder = q.get("folder", "")[:MAX_FOLDER_PARAM]
    try:
        if (uid := _int(q.get("draft"))) is not None:
            d, parts = await service.open_draft(web.account, uid)
            return await _render(web, d, parts)
        if (uid := _int(q.get("reply"))) is not None and folder:
            d = await service.reply(web.account, Source(folder, uid), everyone=q.get("all") == "1",
                                    attribution=_("On %(date)s, %(name)s wrote:",
                                                  date="{date}", name="{name}"))
            return await _render(web, d)
        if (uid := _int(q.get("forward"))) is not None and folder:
            d = await service.forward(
                web.account, Source(folder, uid), inline=q.get("mode") != "attachment",
                heading=_("Forwarded message"),
                labels={"subject": _("Subject"), "date": _("Date"), "from": _("From"),
                        "to": _("To")})
            return await _render(web, d)
    except ComposeRefused as e:
        raise BadRequest(refusal_text(web, e), 404) from e
    d = await service.blank(web.account)
    to = q.get("to", "")[:1000]
    return await _render(web, Draft(from_address=d.from_address, to=to, body=d.body))


async def _form_draft(form: FormData, *, with_files: bool) -> Draft:
    fields = {k: text(form, k) for k in (
        "from", "to", "cc", "bcc", "subject", "body", "in_reply_to", "references", "draft",
        "replied_folder", "replied_uid", "forwarded_folder", "forwarded_uid", "forward_mode")}
    uploads: list[Attachment] = []
    if with_files:
        for f in files(form, "attachment"):
            uploads.append(Attachment(f.filename or "attachment",
                                      f.content_type or "application/octet-stream",
                                      await f.read()))
    return draft_from_form(fields, texts(form, "drop"), tuple(uploads))


@upload_action(_upload_limit)
async def compose_post(web: Web, form: FormData) -> Response:
    """The compose form's buttons: send, save the draft, discard the draft."""
    service = user_services(web.app).compose
    op = text(form, "op", 16)
    d = await _form_draft(form, with_files=op != "discard")
    try:
        if op == "discard":
            if d.draft_uid is not None:
                await service.discard_draft(web.account, d.draft_uid)
            return web.redirect(web.url("mailbox", folder="INBOX"))
        if op == "save":
            saved = await service.save_draft(web.account, d)
            return web.redirect(web.url("compose", draft=saved.uid))
        await service.send(web.account, d)
    except ComposeRefused as e:
        return await _refused(web, d, e, keep=op == "send")
    return web.redirect(web.url("mailbox", folder="Sent", sent="1"))


#: Refusals of a send after which the form is kept as a draft, uploads included,
#: so that the user corrects it without choosing the files again.
KEEP_AS_DRAFT = frozenset({"recipient", "no_recipient", "too_many_recipients", "limit",
                           "sending_limit", "mailbox_full", "temporary"})


async def _refused(web: Web, d: Draft, e: ComposeRefused, *, keep: bool) -> Response:
    service = user_services(web.app).compose
    status = 413 if e.kind == "too_big" else 400
    if keep and e.kind in KEEP_AS_DRAFT and (d.attachments or d.draft_uid is None):
        try:
            saved = await service.save_draft(web.account, d)
        except ComposeRefused:
            pass  # the draft cannot be kept either: the form as it came
        else:
            d = replace(d, draft_uid=saved.uid, attachments=(), drop=(), forward_mode="")
            return await _render(web, d, saved.attachments, error=refusal_text(web, e),
                                 status=status)
    parts: tuple[AttachmentInfo, ...] = ()
    if d.draft_uid is not None:
        try:
            parts = (await service.open_draft(web.account, d.draft_uid))[1]
        except ComposeRefused:
            pass
    return await _render(web, d, parts, error=refusal_text(web, e), status=status)


@upload_action(_upload_limit)
async def autosave(web: Web, form: FormData) -> Response:
    """compose.js: the form's text saved as the draft; JSON ``{"draft": uid}``."""
    d = await _form_draft(form, with_files=False)
    try:
        saved = await user_services(web.app).compose.save_draft(web.account, d, autosave=True)
    except ComposeRefused as e:
        return JSONResponse({"error": refusal_text(web, e)}, status_code=400)
    return JSONResponse({"draft": saved.uid})


@page
async def draft_attachment(web: Web) -> Response:
    q = web.request.query_params
    uid, index = _int(q.get("draft")), _int(q.get("index"))
    if uid is None or index is None:
        raise BadRequest(web._("The message or draft no longer exists."), 404)
    try:
        part = await user_services(web.app).compose.draft_attachment(web.account, uid, index)
    except ComposeRefused as e:
        raise BadRequest(refusal_text(web, e), 404) from e
    return Response(part.data, media_type="application/octet-stream", headers={
        "content-disposition": _attachment_disposition(part.filename),
        "x-content-type-options": "nosniff"})


def _attachment_disposition(filename: str) -> str:
    """RFC 6266 §4.3: an ASCII fallback and the UTF-8 name (RFC 8187)."""
    from urllib.parse import quote

    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                       for c in filename) or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@page
async def complete(web: Web) -> Response:
    """Address completion for the To/Cc/Bcc fields: JSON list of suggestions."""
    query = web.request.query_params.get("q", "")[:MAX_COMPLETE_QUERY]
    found: list[Suggestion] = await user_services(web.app).addressbook.complete(
        web.account_id, query)
    return JSONResponse([{"name": s.name, "address": s.address, "display": s.display()}
                         for s in found])


ROUTES: tuple[tuple[str, object, tuple[str, ...], str], ...] = (
    ("/compose", compose, ("GET",), "compose"),
    ("/compose", compose_post, ("POST",), "compose_post"),
    ("/compose/autosave", autosave, ("POST",), "compose_autosave"),
    ("/compose/attachment", draft_attachment, ("GET",), "draft_attachment"),
    ("/complete", complete, ("GET",), "complete"),
)
