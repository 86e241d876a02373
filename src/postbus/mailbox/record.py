"""The parse-once record of a stored message, as fetch, search and sort read it.

`MessageInfo.meta` is the record `postbus.message` encoded at delivery. It is
decoded here and nowhere else above the store. A record that does not decode,
or that an older parser wrote (`FORMAT_VERSION`), is rebuilt from the stored
raw message, so that an upgrade or a damaged row never fails a FETCH; the
rebuilt record is not written back (the store has no call for it).
"""

from __future__ import annotations

import msgspec

from postbus import executor
from postbus.message import FORMAT_VERSION, MessageMeta, decode_meta, parse
from postbus.store.contract import Store
from postbus.store.model import MessageInfo

#: Raw messages above this size are re-parsed in the executor (STYLE habit 7).
INLINE_REPARSE_LIMIT = 64 * 1024


def decode(info: MessageInfo) -> MessageMeta | None:
    """The stored record of `info`, or None when it must be rebuilt."""
    try:
        meta = decode_meta(info.meta)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return meta if meta.version == FORMAT_VERSION else None


async def reparse(store: Store, blob_id: str) -> MessageMeta:
    """A fresh record parsed from the stored raw message."""
    raw = await store.read_blob(blob_id)
    if len(raw) <= INLINE_REPARSE_LIMIT:
        return parse(raw)
    return await executor.run(executor.CPU, parse, raw)


async def load(store: Store, info: MessageInfo) -> MessageMeta:
    """The record of `info`: decoded, or rebuilt when stale or corrupt."""
    meta = decode(info)
    if meta is None:
        meta = await reparse(store, info.blob_id)
    return meta
