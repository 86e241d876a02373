"""parse(): a raw message to its stored MessageMeta, once, at delivery.

Pure and synchronous; CPU-bound in proportion to the header and text sizes,
not to the attachments (boundaries are found with bytes.find, attachments
are never decoded). Callers run it in the executor for big messages.

`parse` never raises on any input: the walker is tolerant by design, and
should a bug still raise, the message is described minimally (its size,
header end and a text/plain root), the traceback is logged, and delivery
goes on. Tests and fuzzers pass `strict=True` to see such bugs.
"""

from __future__ import annotations

import logging

from postbus.message.dates import parse_date
from postbus.message.envelope import build_envelope, first_values, msg_ids, references
from postbus.message.headers import find_header_end
from postbus.message.limits import MAX_PARTS
from postbus.message.mime import Walker
from postbus.message.model import FORMAT_VERSION, Envelope, MessageMeta, ParseResult, Part
from postbus.message.sortkeys import SORT_KEYS_VERSION, sort_keys
from postbus.message.text import envelope_text, make_preview, search_text
from postbus.message.tree import attachments

log = logging.getLogger(__name__)

_REFERENCES = frozenset(("references",))


def _parse(raw: bytes, max_parts: int) -> MessageMeta:
    size = len(raw)
    walker = Walker(raw, max_parts)
    fields, root = walker.message(0, size, 0, 0)
    envelope = build_envelope(fields)
    keys = sort_keys(envelope)
    message_id = msg_ids(envelope.message_id)
    in_reply_to = msg_ids(envelope.in_reply_to)
    return MessageMeta(
        version=FORMAT_VERSION,
        size=size,
        lines=raw.count(b"\n"),
        header_end=root.body_start,
        envelope=envelope,
        body=root,
        sort_date=parse_date(envelope.date) if envelope.date else None,
        sort_subject=keys.subject,
        sort_from=keys.from_,
        sort_to=keys.to,
        sort_cc=keys.cc,
        sort_display_from=keys.display_from,
        sort_display_to=keys.display_to,
        preview=make_preview(raw, root),
        has_attachments=bool(attachments(root)),
        message_id=message_id[0] if message_id else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=references(first_values(fields, _REFERENCES).get("references")),
        subject_is_reply=keys.subject_is_reply,
        truncated=walker.truncated,
        sort_keys_version=SORT_KEYS_VERSION,
    )


def _minimal(raw: bytes) -> MessageMeta:
    size = len(raw)
    header_end = find_header_end(raw, 0, size)
    root = Part("text", "plain", [("charset", "us-ascii")], size=size - header_end,
                header_start=0, body_start=header_end, end=size)
    return MessageMeta(FORMAT_VERSION, size, raw.count(b"\n"), header_end, Envelope(), root,
                       truncated=True)


RawMessage = bytes | bytearray | memoryview


def parse(raw: RawMessage, *, max_parts: int = MAX_PARTS, strict: bool = False) -> MessageMeta:
    """Describe the raw message `raw` (stored byte-exact) for IMAP, POP3 and webmail.

    At most `max_parts` Part nodes are produced (see `postbus.message.limits`).
    With `strict`, an internal error propagates instead of being logged.
    """
    data = bytes(raw)  # no copy when `raw` is already bytes
    try:
        return _parse(data, max_parts)
    except Exception:
        if strict:
            raise
        log.exception("message parser failed on a %d-octet message", len(data))
        return _minimal(data)


def parse_full(raw: RawMessage, *, max_parts: int = MAX_PARTS,
               strict: bool = False) -> ParseResult:
    """`parse` plus the decoded header and body text for the full-text index."""
    data = bytes(raw)
    meta = parse(data, max_parts=max_parts, strict=strict)
    try:
        header, body = search_text(data, meta)
        envelope = envelope_text(meta)
        if envelope:
            header = f"{header}\n{envelope}" if header else envelope
    except Exception:
        if strict:
            raise
        log.exception("search text extraction failed on a %d-octet message", len(data))
        header, body = "", ""
    return ParseResult(meta, header, body)
