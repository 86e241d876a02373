"""Ingest: every way a message enters (SMTP, IMAP APPEND, webmail, import)
ends here: the body becomes a durable blob and is parsed exactly once.

Parsing is CPU work; messages above `INLINE_PARSE_LIMIT` are parsed on the
executor's cpu pool so that the event loop stays free (a full pool raises
`executor.Overloaded`, a temporary failure). A message streamed in chunks is
written to the blob store as it arrives and read back once for parsing, so a
12 MB message is never held twice in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from postbus import executor
from postbus.executor import CPU
from postbus.mailbox.keys import message_keys
from postbus.message import encode_meta, parse_full
from postbus.message.model import MessageMeta
from postbus.store import Store
from postbus.store.model import BlobRef, Parsed

# Parsing a few KB takes ~100 µs: cheaper inline than a thread hop.
INLINE_PARSE_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class Ingested:
    blob: BlobRef
    parsed: Parsed
    meta: MessageMeta


def parse_for_store(raw: bytes) -> tuple[Parsed, MessageMeta]:
    result = parse_full(raw)
    parsed = Parsed(encode_meta(result.meta), result.header_text, result.body_text,
                    message_keys(result.meta))
    return parsed, result.meta


async def parse(raw: bytes) -> tuple[Parsed, MessageMeta]:
    if len(raw) <= INLINE_PARSE_LIMIT:
        return parse_for_store(raw)
    return await executor.run(CPU, parse_for_store, raw)


async def ingest_bytes(store: Store, raw: bytes) -> Ingested:
    """Stores and parses a message held in memory."""
    blob = await store.put_blob(raw)
    parsed, meta = await parse(raw)
    return Ingested(blob, parsed, meta)


async def ingest_blob(store: Store, blob: BlobRef, head: bytes | None = None) -> Ingested:
    """Parses a message already written with a BlobWriter. `head` is the whole
    message when the caller still holds it (small messages), else None."""
    raw = head if head is not None and len(head) == blob.size else await store.read_blob(blob.id)
    parsed, meta = await parse(raw)
    return Ingested(blob, parsed, meta)
