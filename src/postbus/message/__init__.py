"""Parse once: everything IMAP, POP3 and webmail need from a message, at delivery.

When a message enters Postbus (SMTP delivery, IMAP APPEND, import) it is
parsed once by `parse` (or `parse_full`, which adds the full-text index
input) and the resulting `MessageMeta` is stored next to the raw message,
which is kept byte-exact and never re-serialized. FETCH ENVELOPE,
BODYSTRUCTURE, BODY[section], RFC822.SIZE, SEARCH, SORT, PREVIEW, the
webmail list and POP3 TOP are answered from that record and from slices
of the raw bytes at the offsets it holds.

Invariants: `parse` is pure, synchronous and never raises on any input;
every offset in a MessageMeta lies in [0, size] and parts are ordered and
nested inside their parents; every limit is a named constant in
`postbus.message.limits`. Nothing here imports asyncio or the store.
"""

from postbus.message.addresses import GROUP_END, Address, parse_address_list
from postbus.message.charsets import decode_text
from postbus.message.dates import parse_date
from postbus.message.headers import find_header_end, get_header, header_fields
from postbus.message.limits import MAX_BODY_TEXT, MAX_MESSAGE_DEPTH, MAX_MIME_DEPTH, MAX_PARTS
from postbus.message.model import (
    FORMAT_VERSION,
    Envelope,
    MessageMeta,
    ParseResult,
    Part,
    decode_meta,
    encode_meta,
)
from postbus.message.params import decode_param, param_value
from postbus.message.parser import parse, parse_full
from postbus.message.sections import SECTION_KINDS, resolve_section, section_ranges
from postbus.message.sortkeys import base_subject
from postbus.message.text import html_to_text, part_text, search_text
from postbus.message.transfer import decode_body
from postbus.message.tree import attachments, is_attachment, iter_parts
from postbus.message.words import decode_header_value

__all__ = [
    "FORMAT_VERSION",
    "GROUP_END",
    "MAX_BODY_TEXT",
    "MAX_MESSAGE_DEPTH",
    "MAX_MIME_DEPTH",
    "MAX_PARTS",
    "SECTION_KINDS",
    "Address",
    "Envelope",
    "MessageMeta",
    "ParseResult",
    "Part",
    "attachments",
    "base_subject",
    "decode_body",
    "decode_header_value",
    "decode_meta",
    "decode_param",
    "decode_text",
    "encode_meta",
    "find_header_end",
    "get_header",
    "header_fields",
    "html_to_text",
    "is_attachment",
    "iter_parts",
    "param_value",
    "parse",
    "parse_address_list",
    "parse_date",
    "parse_full",
    "part_text",
    "resolve_section",
    "search_text",
    "section_ranges",
]
