"""The address book screens: list and search, add (also the sender of an open
message), edit, delete, import (vCard or CSV) and export. The rules and limits
are the address book service's (`postbus.addressbook`)."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.responses import Response

from postbus.addressbook import ContactRefused, NewContact
from postbus.addressbook.limits import MAX_CONTACTS, MAX_IMPORT_BYTES, MAX_QUERY_CHARS
from postbus.compose import ComposeRefused, Source
from postbus.web.webmail.context import BadRequest, Web, action, page
from postbus.web.webmail.frame import render_page
from postbus.web.webmail.limits import MAX_FOLDER_PARAM
from postbus.web.webmail.present import size_text
from postbus.web.webmail.services import user_services
from postbus.web.webmail.uploads import MAX_FORM_OVERHEAD, files, upload_action

#: Characters of the contact form's fields (the service checks its own limits after).
MAX_CONTACT_FIELD = 8000
EXPORTS = {"vcard": ("contacts.vcf", "text/vcard; charset=utf-8"),
           "vcard3": ("contacts.vcf", "text/vcard; charset=utf-8"),
           "csv": ("contacts.csv", "text/csv; charset=utf-8")}


def refusal_text(web: Web, e: ContactRefused) -> str:
    _ = web._
    return {
        "email": _("This is not an e-mail address: %(address)s", address=e.detail),
        "name": _("The name is too long (at most %(limit)s characters).", limit=e.detail),
        "notes": _("The notes are too long (at most %(limit)s characters).", limit=e.detail),
        "limit": _("The address book is full (at most %(limit)s contacts).", limit=e.detail),
        "too_big": _("The file is too large (at most %(limit)s).",
                     limit=size_text(MAX_IMPORT_BYTES, web.language)),
        "too_many": _("The file has too many contacts (at most %(limit)s).", limit=e.detail),
        "line_too_long": _("The file has a line that is too long."),
        "format": _("The file is not a vCard or CSV file with an e-mail column."),
        "not_found": _("That contact no longer exists."),
    }.get(e.kind, _("That is not possible."))


async def _list(web: Web, *, error: str = "", notice: str = "", status: int = 200,
                entered: NewContact | None = None) -> Response:
    query = web.request.query_params.get("q", "")[:MAX_QUERY_CHARS]
    contacts = await user_services(web.app).addressbook.contacts(web.account_id, query)
    return await render_page(web, "contacts.html", status=status, contacts=contacts, q=query,
                             error=error, notice=notice, entered=entered or NewContact("", ""),
                             max_contacts=MAX_CONTACTS)


@page
async def contacts_page(web: Web) -> Response:
    return await _list(web)


async def _entered(web: Web) -> NewContact:
    return NewContact(await web.field("name", limit=MAX_CONTACT_FIELD),
                      await web.field("email", limit=MAX_CONTACT_FIELD),
                      await web.field("notes", limit=MAX_CONTACT_FIELD))


@action
async def contact_add(web: Web) -> Response:
    entered = await _entered(web)
    try:
        await user_services(web.app).addressbook.add(web.account_id, entered)
    except ContactRefused as e:
        return await _list(web, error=refusal_text(web, e), status=400, entered=entered)
    return web.redirect(web.url("contacts"))


@action
async def contact_from_message(web: Web) -> Response:
    """"Add to contacts" on an open message: its sender."""
    folder = await web.field("folder", limit=MAX_FOLDER_PARAM)
    uid = await web.field("uid", limit=10)
    if not uid.isdigit():
        raise BadRequest(web._("The form could not be read."))
    services = user_services(web.app)
    try:
        original = await services.compose.original(web.account, Source(folder, int(uid)))
    except ComposeRefused as e:
        raise BadRequest(web._("The message or draft no longer exists."), 404) from e
    if not original.from_:
        raise BadRequest(web._("This message has no sender address."))
    sender = original.from_[0]
    book = services.addressbook
    known = [c for c in await book.contacts(web.account_id) if c.email.lower() == sender.address.lower()]
    try:
        contact = known[0] if known else await book.add(
            web.account_id, NewContact(sender.name, sender.address))
    except ContactRefused as e:
        return await _list(web, error=refusal_text(web, e), status=400)
    return web.redirect(web.url("contact_edit", id=contact.id))


@page
async def contact_edit(web: Web) -> Response:
    raw = web.request.query_params.get("id", "")
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(web._("That contact no longer exists."), 404)
    try:
        contact = await user_services(web.app).addressbook.get(web.account_id, int(raw))
    except ContactRefused as e:
        raise BadRequest(refusal_text(web, e), 404) from e
    return await render_page(web, "contact.html", contact=contact, error="")


@action
async def contact_save(web: Web) -> Response:
    raw = await web.field("id", limit=18)
    if not raw.isdigit():
        raise BadRequest(web._("That contact no longer exists."), 404)
    entered = await _entered(web)
    book = user_services(web.app).addressbook
    try:
        await book.update(web.account_id, int(raw), entered)
    except ContactRefused as e:
        if e.kind == "not_found":
            raise BadRequest(refusal_text(web, e), 404) from e
        contact = await book.get(web.account_id, int(raw))
        return await render_page(web, "contact.html", status=400, error=refusal_text(web, e),
                                 contact=contact)
    return web.redirect(web.url("contacts"))


@action
async def contact_delete(web: Web) -> Response:
    ids = [int(v) for v in (await web.form()).get("id", []) if v.isdigit() and len(v) <= 18]
    await user_services(web.app).addressbook.remove(web.account_id, ids[:MAX_CONTACTS])
    return web.redirect(web.url("contacts"))


def _import_limit(web: Web) -> int:
    return MAX_IMPORT_BYTES + MAX_FORM_OVERHEAD


@upload_action(_import_limit)
async def contact_import(web: Web, form: FormData) -> Response:
    uploads = files(form, "file")
    if not uploads:
        return await _list(web, error=web._("Choose a file to import."), status=400)
    upload = uploads[0]
    data = await upload.read(MAX_IMPORT_BYTES + 1)
    try:
        made = await user_services(web.app).addressbook.import_file(
            web.account_id, data, upload.filename or "")
    except ContactRefused as e:
        return await _list(web, error=refusal_text(web, e), status=400)
    return await _list(web, notice=web.ngettext("%(num)d contact imported.",
                                                "%(num)d contacts imported.", len(made)))


@page
async def contact_export(web: Web) -> Response:
    kind = web.request.query_params.get("format", "vcard")
    if kind not in EXPORTS:
        kind = "vcard"
    name, media = EXPORTS[kind]
    body = await user_services(web.app).addressbook.export(web.account_id, kind)
    return Response(body.encode(), media_type=media,
                    headers={"content-disposition": f'attachment; filename="{name}"'})


ROUTES: tuple[tuple[str, object, tuple[str, ...], str], ...] = (
    ("/contacts", contacts_page, ("GET",), "contacts"),
    ("/contacts/add", contact_add, ("POST",), "contact_add"),
    ("/contacts/from-message", contact_from_message, ("POST",), "contact_from_message"),
    ("/contacts/edit", contact_edit, ("GET",), "contact_edit"),
    ("/contacts/edit", contact_save, ("POST",), "contact_save"),
    ("/contacts/delete", contact_delete, ("POST",), "contact_delete"),
    ("/contacts/import", contact_import, ("POST",), "contact_import"),
    ("/contacts/export", contact_export, ("GET",), "contact_export"),
)
