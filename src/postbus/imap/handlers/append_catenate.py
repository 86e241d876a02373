"""CATENATE (RFC 4469): an APPEND message made of TEXT literals and URL parts.

Each ``URL`` is an IMAP URL (RFC 5092, `imap.proto.url`) naming a message, a
section of one (``;SECTION=``) and a range of that (``;PARTIAL=``, URL-PARTIAL,
RFC 5550 §5) in a folder of the logged-in user on this server.  Relative
references resolve against the selected folder (RFC 5092 §7); with none
selected, ``;UID=n`` names nothing.  The octets are read through the mailbox
service as FETCH reads a section (its byte ranges), without setting \\Seen.

Refusals (RFC 4469 §5): a URL that is malformed, names another server or
another user (one without a user is read as this session's),
a folder or message that does not exist, a UIDVALIDITY that no longer holds,
or a part the message lacks, is ``NO [BADURL url]``; a message over the
APPENDLIMIT, or messages of one APPEND over its total, is ``NO [TOOBIG]``,
checked before a part's octets are read.  Every message of the command is
assembled before any is stored, so a MULTIAPPEND with CATENATE (RFC 4469 §4)
stores nothing when one part fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from postbus.imap.proto import AppendMessage, CatText, ImapNo
from postbus.imap.proto.url import BadUrl, ImapUrl, parse_url, response_url
from postbus.mailbox import query
from postbus.mailbox.errors import MessageNotFound, TooBig

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

#: ``;PARTIAL=offset`` without a length: to the end of the section.
_TO_END = 2**63


class Budget:
    """Octets left for the message being built and for the whole APPEND."""

    __slots__ = ("message_limit", "total_left")

    def __init__(self, message_limit: int, total: int) -> None:
        self.message_limit = message_limit
        self.total_left = total

    def left(self, built: int) -> int:
        return min(self.message_limit - built, self.total_left - built)


async def assemble(session: ImapSession, message: AppendMessage, budget: Budget) -> bytes:
    """The octets of one CATENATE message; see the module docstring."""
    assert message.catenate is not None
    out = bytearray()
    for part in message.catenate:
        if isinstance(part, CatText):
            if len(part.data) > budget.left(len(out)):
                raise _too_big(budget)
            out += part.data
            continue
        try:
            out += await _read_url(session, part.url, budget.left(len(out)))
        except TooBig:
            raise _too_big(budget) from None
    budget.total_left -= len(out)
    return bytes(out)


def _too_big(budget: Budget) -> TooBig:
    if budget.total_left < budget.message_limit:  # the command's total binds first
        return TooBig("The messages of this APPEND are too big together")
    return TooBig(f"Message too big (limit {budget.message_limit} octets)")


async def _read_url(session: ImapSession, url: str, limit: int) -> bytes:
    try:
        ref = parse_url(url)
        mailbox_id = await _folder(session, ref)
        section = _section(ref)
        return await session.mailboxes.read_section(mailbox_id, ref.uid, section, max(limit, 0))
    except (BadUrl, MessageNotFound) as exc:
        raise ImapNo(str(exc), f"BADURL {response_url(url)}") from None


async def _folder(session: ImapSession, ref: ImapUrl) -> int:
    """The id of the folder `ref` names, after checking it is this server's and user's."""
    account = session.account
    assert account is not None
    if ref.host is not None:
        _check_server(session, ref)
        # A URL without a user is read as this session's user: in an APPEND the
        # session's own login is the only one it can be resolved with.
        if ref.user is not None and ref.user.lower() != account.address.lower():
            raise BadUrl("The URL names another user")
    selected = session.selected
    if ref.mailbox is None or ref.relative:
        if selected is None:
            raise BadUrl("No folder is selected for a relative URL")
        if ref.mailbox is None:
            _check_validity(ref, selected.uid_validity)
            return selected.mailbox_id
        name = f"{selected.name}/{ref.mailbox}"
    else:
        name = ref.mailbox
    mailbox = await session.mailboxes.find(account.id, name)
    if mailbox is None:
        raise BadUrl(f"No folder named {name}")
    _check_validity(ref, mailbox.uid_validity)
    return mailbox.id


def _check_server(session: ImapSession, ref: ImapUrl) -> None:
    """RFC 4469 §5: only this server's messages; the host is our configured name and a
    port, when given, the one this connection reached."""
    if ref.host != session.app.settings.hostname.lower():
        raise BadUrl("The URL names another server")
    if ref.port is not None:
        transport = session.transport
        local = transport.get_extra_info("sockname") if transport is not None else None
        if not local or ref.port != local[1]:
            raise BadUrl("The URL names another server")


def _check_validity(ref: ImapUrl, uid_validity: int) -> None:
    if ref.uid_validity is not None and ref.uid_validity != uid_validity:
        raise BadUrl("The folder's UIDVALIDITY has changed")


def _section(ref: ImapUrl) -> query.Section:
    """The mailbox section the URL reads: its ``;SECTION=`` narrowed by ``;PARTIAL=``."""
    partial = None
    if ref.partial is not None:
        offset, length = ref.partial
        partial = (offset, _TO_END if length is None else length)
    section = ref.section
    if section is None:
        return query.Section(partial=partial)
    text = cast(query.SectionText, section.text or "")
    return query.Section(section.part, text, section.headers, partial)
