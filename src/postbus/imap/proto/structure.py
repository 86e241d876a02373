"""ENVELOPE and BODYSTRUCTURE encoders (RFC 9051 §7.5.2, §9 ``envelope``, ``body``).

They read duck-typed objects (the message module's parsed records), described
by the Protocols below, and return the wire form.  Only attribute access is
used, so plain dataclasses or ``SimpleNamespace`` objects work.  Strings may be
``str`` (sent as UTF-8) or ``bytes`` (sent as they are); the writer picks
quoted or literal form.  Because ``utf8`` only changes how 8-bit strings are
sent, the non-UTF-8 form (``utf8=False``) is valid for every client and can be
computed once when a message enters and stored ("parse once").

Invariants: ENVELOPE sender and reply-to fall back to from when empty
(RFC 9051 §7.5.2); a multipart with no parts is sent as an empty text/plain
part, because the grammar requires at least one body.
"""

from collections.abc import Sequence
from typing import Protocol

from .writer import NIL, nstring, string

Text = str | bytes


class AddressLike(Protocol):
    """One ``address``.  A group start has ``host`` None and ``mailbox`` the group
    name; a group end has ``mailbox`` and ``host`` None (RFC 9051 §7.5.2)."""

    @property
    def name(self) -> Text | None: ...
    @property
    def adl(self) -> Text | None: ...
    @property
    def mailbox(self) -> Text | None: ...
    @property
    def host(self) -> Text | None: ...


class EnvelopeLike(Protocol):
    """Header values as they appear in the message (encoded-words not decoded)."""

    @property
    def date(self) -> Text | None: ...
    @property
    def subject(self) -> Text | None: ...
    @property
    def from_(self) -> Sequence[AddressLike]: ...
    @property
    def sender(self) -> Sequence[AddressLike]: ...
    @property
    def reply_to(self) -> Sequence[AddressLike]: ...
    @property
    def to(self) -> Sequence[AddressLike]: ...
    @property
    def cc(self) -> Sequence[AddressLike]: ...
    @property
    def bcc(self) -> Sequence[AddressLike]: ...
    @property
    def in_reply_to(self) -> Text | None: ...
    @property
    def message_id(self) -> Text | None: ...


class BodyPartLike(Protocol):
    """One MIME part.

    ``parts`` is non-empty only for multipart types; ``envelope`` and ``body``
    are set for message/rfc822 and message/global; ``lines`` is required for
    text/* and message/rfc822 parts.  ``size`` is the encoded body size in octets.
    """

    @property
    def type(self) -> str: ...
    @property
    def subtype(self) -> str: ...
    @property
    def params(self) -> Sequence[tuple[Text, Text]]: ...
    @property
    def id(self) -> Text | None: ...
    @property
    def description(self) -> Text | None: ...
    @property
    def encoding(self) -> Text | None: ...
    @property
    def size(self) -> int: ...
    @property
    def lines(self) -> int | None: ...
    @property
    def md5(self) -> Text | None: ...
    @property
    def disposition(self) -> Text | None: ...
    @property
    def disposition_params(self) -> Sequence[tuple[Text, Text]]: ...
    @property
    def language(self) -> Sequence[Text] | None: ...
    @property
    def location(self) -> Text | None: ...
    @property
    def parts(self) -> Sequence["BodyPartLike"]: ...
    @property
    def envelope(self) -> EnvelopeLike | None: ...
    @property
    def body(self) -> "BodyPartLike | None": ...


_EMPTY_PART = b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0)'


def address_list(addresses: Sequence[AddressLike], *, utf8: bool = False) -> bytes:
    """``"(" 1*address ")"`` or NIL."""
    if not addresses:
        return NIL
    return b"(%s)" % b"".join(
        b"(%s %s %s %s)" % (
            nstring(a.name, utf8=utf8), nstring(a.adl, utf8=utf8),
            nstring(a.mailbox, utf8=utf8), nstring(a.host, utf8=utf8),
        )
        for a in addresses
    )


def envelope(env: EnvelopeLike, *, utf8: bool = False) -> bytes:
    """The ENVELOPE value (RFC 9051 §7.5.2)."""
    sender_from = address_list(env.from_, utf8=utf8)
    sender = address_list(env.sender, utf8=utf8) if env.sender else sender_from
    reply_to = address_list(env.reply_to, utf8=utf8) if env.reply_to else sender_from
    return b"(%s %s %s %s %s %s %s %s %s %s)" % (
        nstring(env.date, utf8=utf8),
        nstring(env.subject, utf8=utf8),
        sender_from,
        sender,
        reply_to,
        address_list(env.to, utf8=utf8),
        address_list(env.cc, utf8=utf8),
        address_list(env.bcc, utf8=utf8),
        nstring(env.in_reply_to, utf8=utf8),
        nstring(env.message_id, utf8=utf8),
    )


def _params(params: Sequence[tuple[Text, Text]], utf8: bool) -> bytes:
    if not params:
        return NIL
    return b"(%s)" % b" ".join(
        b"%s %s" % (string(k, utf8=utf8), string(v, utf8=utf8)) for k, v in params
    )


def _language(language: Sequence[Text] | None, utf8: bool) -> bytes:
    if not language:
        return NIL
    if len(language) == 1:
        return string(language[0], utf8=utf8)
    return b"(%s)" % b" ".join(string(t, utf8=utf8) for t in language)


def _disposition(part: BodyPartLike, utf8: bool) -> bytes:
    if part.disposition is None:
        return NIL
    return b"(%s %s)" % (
        string(part.disposition, utf8=utf8), _params(part.disposition_params, utf8)
    )


def body_structure(part: BodyPartLike, *, extended: bool = True, utf8: bool = False) -> bytes:
    """BODYSTRUCTURE (``extended``) or the non-extensible BODY form of ``part``."""
    out: list[bytes] = []
    _body(part, extended, utf8, out)
    return b"".join(out)


def _body(part: BodyPartLike, extended: bool, utf8: bool, out: list[bytes]) -> None:
    mtype = part.type.lower()
    if mtype == "multipart":
        out.append(b"(")
        if part.parts:
            for child in part.parts:  # RFC 9051 §9: 1*body, no separator
                _body(child, extended, utf8, out)
        else:
            out.append(_EMPTY_PART)
        out.append(b" %s" % string(part.subtype, utf8=utf8))
        if extended:  # body-ext-mpart
            out.append(b" %s %s %s %s" % (
                _params(part.params, utf8), _disposition(part, utf8),
                _language(part.language, utf8), nstring(part.location, utf8=utf8),
            ))
        out.append(b")")
        return
    out.append(b"(%s %s %s %s %s %s %d" % (
        string(part.type, utf8=utf8), string(part.subtype, utf8=utf8),
        _params(part.params, utf8), nstring(part.id, utf8=utf8),
        nstring(part.description, utf8=utf8), string(part.encoding or "7BIT", utf8=utf8),
        part.size,
    ))
    subtype = part.subtype.lower()
    if (
        mtype == "message" and subtype in ("rfc822", "global")
        and part.envelope is not None and part.body is not None
    ):
        out.append(b" %s " % envelope(part.envelope, utf8=utf8))
        _body(part.body, extended, utf8, out)
        out.append(b" %d" % (part.lines or 0))
    elif mtype == "text":
        out.append(b" %d" % (part.lines or 0))
    if extended:  # body-ext-1part
        out.append(b" %s %s %s %s" % (
            nstring(part.md5, utf8=utf8), _disposition(part, utf8),
            _language(part.language, utf8), nstring(part.location, utf8=utf8),
        ))
    out.append(b")")
