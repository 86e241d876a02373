"""What is stored about a message: MessageMeta, its ENVELOPE and its part tree.

These are msgspec Structs encoded as MessagePack arrays (`array_like`), so a
stored record carries no field names. Invariants a reader may rely on:

* every offset is within [0, size]; for every Part
  `header_start <= body_start <= end`, and children lie inside their
  parent's body, in order;
* a Part whose type is multipart (any case) has at least one child; a Part
  whose type is message/rfc822 or message/global has `envelope` and `body`
  (the encapsulated message's root part); every other Part has neither.
  A multipart or message that could not be descended into (no boundary,
  a limit reached, an encoded message/rfc822) is stored as a leaf whose type
  was rewritten (see `postbus.message.mime`);
* strings are valid Unicode; header octets that are not UTF-8 were read as
  latin-1.

FORMAT_VERSION changes whenever a field changes meaning; new fields are added
at the end with a default, so older records still decode. A record with an
older version should be re-parsed from the stored raw message.
"""

from __future__ import annotations

import msgspec

from postbus.message.addresses import Address

FORMAT_VERSION = 1

Param = tuple[str, str]


class Envelope(msgspec.Struct, array_like=True, gc=False, frozen=True):
    """RFC 3501 §7.4.2 / RFC 9051 §7.5.2 ENVELOPE, raw header values (None: absent)."""

    date: str | None = None
    subject: str | None = None
    from_: list[Address] = []
    sender: list[Address] = []
    reply_to: list[Address] = []
    to: list[Address] = []
    cc: list[Address] = []
    bcc: list[Address] = []
    in_reply_to: str | None = None
    message_id: str | None = None


class Part(msgspec.Struct, array_like=True, gc=False):
    """One MIME entity: BODYSTRUCTURE fields plus its byte offsets in the raw message.

    `size` is the octet count of the body (`end - body_start`); `lines` the
    number of line feeds in the body, set for text/* and message/* parts
    (RFC 3501 body-fld-lines). `params` and `disposition` params are in the
    form IMAP sends (see `postbus.message.params`); `filename` is the decoded
    file name from the disposition's filename or the type's name parameter.
    """

    type: str
    subtype: str
    params: list[Param] = []
    id: str | None = None
    description: str | None = None
    encoding: str = "7BIT"
    size: int = 0
    lines: int = 0
    md5: str | None = None
    disposition: tuple[str, list[Param]] | None = None
    language: list[str] | None = None
    location: str | None = None
    header_start: int = 0
    body_start: int = 0
    end: int = 0
    children: list[Part] = []
    envelope: Envelope | None = None
    body: Part | None = None
    filename: str | None = None

    @property
    def mime_type(self) -> str:
        """"type/subtype" in lower case, for comparisons."""
        return f"{self.type}/{self.subtype}".lower()

    @property
    def is_multipart(self) -> bool:
        return bool(self.children)

    @property
    def is_message(self) -> bool:
        """An encapsulated message (message/rfc822 or message/global) we descended into."""
        return self.body is not None

    @property
    def charset(self) -> str | None:
        for name, value in self.params:
            if name == "charset":
                return value
        return None

    @property
    def disposition_type(self) -> str | None:
        return self.disposition[0].lower() if self.disposition else None


class MessageMeta(msgspec.Struct, array_like=True, gc=False):
    """Everything IMAP FETCH/SEARCH/SORT, POP3 TOP and the webmail list need.

    `lines` counts line feeds in the whole message; `header_end` is where the
    top-level body starts (just after the blank line; `size` if there is none).
    `sort_*` are RFC 5256 §3 / RFC 5957 keys: `sort_date` is epoch seconds from
    Date: (None: use INTERNALDATE), `sort_subject` the §2.1 base subject
    and the others in their RFC 5051 i;unicode-casemap form, made under the
    rules `sort_keys_version` names (`postbus.message.sortkeys`).
    `message_id` and `in_reply_to` are msg-id
    contents without angle brackets; `references` likewise. `truncated` is set
    when a limit in `postbus.message.limits` stopped the parser.
    """

    version: int
    size: int
    lines: int
    header_end: int
    envelope: Envelope
    body: Part
    sort_date: float | None = None
    sort_subject: str = ""
    sort_from: str = ""
    sort_to: str = ""
    sort_cc: str = ""
    sort_display_from: str = ""
    sort_display_to: str = ""
    preview: str = ""
    has_attachments: bool = False
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = []
    subject_is_reply: bool = False
    truncated: bool = False
    sort_keys_version: int = 0


class ParseResult(msgspec.Struct, gc=False):
    """`parse_full`'s answer: the stored record plus the text for the full-text index."""

    meta: MessageMeta
    header_text: str
    body_text: str


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(MessageMeta)


def encode_meta(meta: MessageMeta) -> bytes:
    """MessagePack bytes of `meta`, for the store."""
    return _ENCODER.encode(meta)


def decode_meta(data: bytes) -> MessageMeta:
    """The MessageMeta encoded by `encode_meta` (raises msgspec.DecodeError if corrupt)."""
    return _DECODER.decode(data)
