"""IMAP URLs (RFC 5092) naming a message or a part of one, as CATENATE uses them
(RFC 4469 §5), with ``;PARTIAL=`` (URL-PARTIAL, RFC 5550 §5).

:func:`parse_url` says what a URL names; whether that is on this server, for
this user, and which folder a relative reference means is the session's to
decide (``imap/handlers/append_catenate.py``).  The forms understood
(RFC 5092 §11; relative references §7, resolved as RFC 3986 §5.2 does against a
base of ``imap://user@host/<selected folder>/``)::

    imap://[user[;AUTH=mech]@]host[:port]/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]
    //[user@]host[:port]/mailbox...      network-path reference
    /mailbox[;UIDVALIDITY=n]/;UID=n...    absolute path: a folder of this server
    mailbox[;UIDVALIDITY=n]/;UID=n...     relative path: a child of the selected folder
    ;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]  a message of the selected folder

Names and sections are %-decoded; a mailbox name is UTF-8 (RFC 5092 changed
this from RFC 2192's modified UTF-7).  A URL that names no single message (a mailbox, a search, a
bare ``;SECTION=``), carries URLAUTH (not offered), or is malformed raises
:class:`BadUrl`.  Every number is bounded as RFC 5092 bounds it (32 bits).
"""

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from .errors import ImapBad
from .fetch import Section, parse_section_spec
from .limits import MAX_NUMBER


class BadUrl(Exception):
    """The URL does not name a message or part this parser understands (``BADURL``)."""


@dataclass(frozen=True, slots=True)
class ImapUrl:
    """What a URL names.

    ``host`` is None for a path-only reference (this server, this user);
    ``mailbox`` is None for ``;UID=n`` (the selected folder) and ``relative`` marks a
    relative-path name (a child of the selected folder).  ``partial`` is
    ``(offset, length)``, length None meaning to the end.
    """

    host: str | None
    port: int | None
    user: str | None
    mailbox: str | None
    relative: bool
    uid_validity: int | None
    uid: int
    section: Section | None
    partial: tuple[int, int | None] | None


_SCHEME = re.compile(r"imap:", re.I)
#: RFC 3986 §3.1; a relative path whose first segment holds ":" is written "./a:b" (§4.2).
_ANY_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_COMMAND = re.compile(
    r"(?P<mailbox>[^;?#]*?)"
    r"(?:;UIDVALIDITY=(?P<uidvalidity>[0-9]{1,10}))?"
    r"/;UID=(?P<uid>[0-9]{1,10})"
    r"(?:/;SECTION=(?P<section>[^/;?#]+))?"
    r"(?:/;PARTIAL=(?P<offset>[0-9]{1,10})(?:\.(?P<length>[0-9]{1,10}))?)?"
    r"(?P<urlauth>;(?:EXPIRE|URLAUTH)=.*)?",
    re.I | re.S,
)
_AUTHORITY = re.compile(
    r"(?:(?P<userinfo>[^@/]*)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/@\[\]]+)(?::(?P<port>[0-9]{1,5}))?",
)
_AUTH = re.compile(r";AUTH=", re.I)
_UID_FIRST = re.compile(r";UID=", re.I)


def parse_url(url: str) -> ImapUrl:
    """What `url` names (see the module docstring); BadUrl when it names no message."""
    host = user = None
    port = None
    rest = url
    network = False
    if _SCHEME.match(rest):
        rest = rest[5:]
        if not rest.startswith("//"):
            raise BadUrl("An imap URL needs a server")
        network = True
    elif _ANY_SCHEME.match(rest):
        raise BadUrl("Not an imap URL")
    elif rest.startswith("//"):
        network = True
    if network:
        end = rest.find("/", 2)
        authority, rest = (rest[2:], "") if end < 0 else (rest[2:end], rest[end:])
        host, port, user = _authority(authority)
    if rest.startswith("/"):
        return _command(rest[1:], host, port, user, relative=False)
    if network:
        raise BadUrl("The URL names no message")
    if _UID_FIRST.match(rest):  # ";UID=n...": a message of the selected folder
        return _command("/" + rest, None, None, None, relative=False, selected=True)
    # RFC 3986 §4.2: a first segment holding ":" is written "./a:b".
    return _command(rest.removeprefix("./"), None, None, None, relative=True)


def _authority(authority: str) -> tuple[str, int | None, str | None]:
    m = _AUTHORITY.fullmatch(authority)
    if m is None:
        raise BadUrl("Invalid server in the URL")
    user = None
    if m["userinfo"] is not None:
        enc_user = _AUTH.split(m["userinfo"], maxsplit=1)[0]
        user = _text(enc_user) if enc_user else None
    port = int(m["port"]) if m["port"] else None
    return m["host"].lower(), port, user


def _command(text: str, host: str | None, port: int | None, user: str | None, *,
             relative: bool, selected: bool = False) -> ImapUrl:
    m = _COMMAND.fullmatch(text)
    if m is None:
        raise BadUrl("The URL names no message")
    if m["urlauth"]:
        raise BadUrl("URLAUTH is not supported")
    mailbox = None
    if not selected:
        if not m["mailbox"]:
            raise BadUrl("The URL names no mailbox")
        mailbox = _text(m["mailbox"])
        if any(seg in (".", "..") for seg in mailbox.split("/")):
            raise BadUrl("Dot segments are not allowed in the mailbox name")
    elif m["mailbox"] or m["uidvalidity"]:
        raise BadUrl("The URL names no message")
    section = None
    if m["section"]:
        try:
            section = parse_section_spec(unquote_to_bytes(m["section"]))
        except ImapBad as exc:
            raise BadUrl(f"Invalid section: {exc.message}") from None
    partial = None
    if m["offset"] is not None:
        length = _number(m["length"], nonzero=True) if m["length"] is not None else None
        partial = (_number(m["offset"], nonzero=False), length)
    return ImapUrl(
        host, port, user, mailbox, relative,
        _number(m["uidvalidity"], nonzero=True) if m["uidvalidity"] else None,
        _number(m["uid"], nonzero=True), section, partial,
    )


def _number(digits: str, *, nonzero: bool) -> int:
    n = int(digits)
    if n > MAX_NUMBER or (nonzero and n == 0):
        raise BadUrl("A number in the URL is out of range")
    return n


def _text(encoded: str) -> str:
    try:
        text = unquote_to_bytes(encoded).decode("utf-8")
    except UnicodeDecodeError:
        raise BadUrl("The URL is not UTF-8") from None
    if any(c in text for c in "\x00\r\n"):
        raise BadUrl("Invalid character in the URL")
    return text


def response_url(url: str) -> str:
    """`url` as ``url-resp-text`` for ``[BADURL ...]`` (RFC 4469 §5, erratum 2002):
    octets outside %x21-7E and ``]`` %-encoded, so the code stays one token and ends
    at its bracket; an empty URL is sent as ``""``."""
    if not url:
        return '""'
    out = []
    for byte in url.encode("utf-8"):
        if 0x21 <= byte <= 0x7E and byte != 0x5D:
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


__all__ = ["BadUrl", "ImapUrl", "parse_url", "response_url"]
