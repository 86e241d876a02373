"""FETCH (RFC 3501 §6.4.5, RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 CHANGEDSINCE).

The session resolves the sequence set and calls :func:`fetch` with the
(sequence number, entry) pairs; this module answers from the store:

* FLAGS, UID and MODSEQ come from the session's entries; nothing is read.
* Anything else reads `MessageInfo` in batches of `BATCH` UIDs, and ENVELOPE,
  BODYSTRUCTURE, BODY and PREVIEW come from the parse-once record (memoised
  per blob in `fetch_structure`); message bodies are not read for them.
* Body sections read only their byte range (`fetch_body`); literals larger
  than 64 KB are streamed from the blob store (`fetch_output`).

Invariants: \\Seen is set in one `store_flags` call before anything is
written, so each response shows the new flags, and never when `readonly`
(EXAMINE); a response that carries FLAGS because of that change is listed in
`FetchOutcome.seen` so the session does not announce it again. NO
[UNKNOWN-CTE] (RFC 3516 §4.2) is raised before any \\Seen or output.
FLAGS are the entry's flags as the session holds them (the store keeps no
\\Recent; a rev1 session that wants it there must add it to the entries).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from postbus.imap import fetch_body, fetch_structure
from postbus.imap.fetch_body import RawMessage
from postbus.imap.fetch_output import Output
from postbus.imap.proto.dates import format_date_time
from postbus.imap.proto.fetch import FetchAtt, Section
from postbus.imap.proto.writer import string
from postbus.mailbox import record as fetch_meta
from postbus.message import MessageMeta
from postbus.store.contract import Store
from postbus.store.model import MessageEntry, MessageInfo

#: UIDs per `store.fetch_info` call.
BATCH = 500

#: Messages whose blob reads (for body sections) are started together.
READ_AHEAD = 16

SEEN = "\\Seen"

# RFC 9051 §2.3.2 system flags, in the order Dovecot sends them; keywords follow, sorted.
_SYSTEM_ORDER = {f: i for i, f in enumerate(
    ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent"))}
_FLAG_CACHE: dict[frozenset[str], bytes] = {}
_FLAG_CACHE_SIZE = 4096

# Items answered from the session's entry alone.
_ENTRY_ITEMS = frozenset(("FLAGS", "UID", "MODSEQ"))
# Items answered from MessageInfo without the parse-once record.
_INFO_ITEMS = frozenset(("INTERNALDATE", "RFC822.SIZE"))

_UID = FetchAtt("UID", key=b"UID")
_FLAGS = FetchAtt("FLAGS", key=b"FLAGS")
_MODSEQ = FetchAtt("MODSEQ", key=b"MODSEQ")


@dataclass
class FetchOutcome:
    """What FETCH changed: the entries whose \\Seen it set (new flags and mod-sequence).

    `missing` lists the UIDs whose records were gone (expunged by another
    session since the view was taken); they got no response, and the session
    may say so, e.g. with ``NO [EXPUNGEISSUED]`` (RFC 9051 §7.1).
    """

    seen: list[MessageEntry]
    missing: list[int] = field(default_factory=list)


def flag_list(flags: frozenset[str]) -> bytes:
    """``(\\Seen $Label)``: system flags in a fixed order, then keywords sorted."""
    cached = _FLAG_CACHE.get(flags)
    if cached is None:
        ordered = sorted(flags, key=lambda f: (_SYSTEM_ORDER.get(f, 99), f))
        cached = b"(%s)" % " ".join(ordered).encode("utf-8", "replace")
        if len(_FLAG_CACHE) >= _FLAG_CACHE_SIZE:
            _FLAG_CACHE.clear()
        _FLAG_CACHE[flags] = cached
    return cached


def _response_att(att: FetchAtt) -> FetchAtt:
    """`att` with the HEADER.FIELDS names of its response key upper-cased, as Dovecot sends."""
    section = att.section
    if section is None or not section.headers:
        return att
    upper = Section(section.part, section.text, tuple(h.upper() for h in section.headers))
    key = f"{att.name}[{upper}]" + (f"<{att.partial[0]}>" if att.partial else "")
    return replace(att, key=key.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class _Plan:
    items: tuple[FetchAtt, ...]
    needs_info: bool
    needs_raw: bool
    header_only: bool  # every body item lies in the top-level header
    sets_seen: bool
    binary_parts: bool
    has_flags: bool
    uid_first: bool


def _plan(atts: Sequence[FetchAtt], uid_command: bool, changed_since: int | None) -> _Plan:
    items: list[FetchAtt] = []
    keys: set[bytes] = set()
    for att in map(_response_att, atts):
        if att.key not in keys:  # one response item per key: BODY[] and BODY.PEEK[] are one
            keys.add(att.key)
            items.append(att)
    if changed_since is not None and b"MODSEQ" not in keys:  # RFC 7162 §3.1.4.1
        items.append(_MODSEQ)
    if uid_command and b"UID" not in keys:  # RFC 9051 §6.4.9: UID FETCH always returns UID
        items.append(_UID)
    # UID (of UID FETCH) first, then the entry items, then the rest, as Dovecot orders them:
    # a client sees which message and its flags before any literal.
    items.sort(key=lambda a: 0 if uid_command and a.name == "UID" else
               1 if a.name in _ENTRY_ITEMS else 2)
    return _Plan(
        items=tuple(items),
        needs_info=any(a.name not in _ENTRY_ITEMS for a in items),
        needs_raw=any(fetch_body.is_body_item(a) for a in items),
        header_only=all(fetch_body.in_header(a) for a in items if fetch_body.is_body_item(a)),
        sets_seen=any(a.sets_seen for a in atts),
        binary_parts=any(a.name.startswith("BINARY") and a.section is not None
                         and a.section.part for a in items),
        has_flags=b"FLAGS" in keys,
        uid_first=uid_command,
    )


async def fetch(
    store: Store,
    mailbox_id: int,
    targets: Sequence[tuple[int, MessageEntry]],
    atts: Sequence[FetchAtt],
    *,
    uid_command: bool,
    readonly: bool,
    utf8: bool,
    changed_since: int | None,
    write: Callable[[bytes], Awaitable[None]],
) -> FetchOutcome:
    """Write ``* n FETCH (...)`` for each target through `write`; see the module docstring."""
    plan = _plan(atts, uid_command, changed_since)
    if changed_since is not None:  # RFC 7162 §3.1.4.1: only messages changed since
        targets = [(seq, e) for seq, e in targets if e.modseq > changed_since]
    if plan.binary_parts:
        await _check_encodings(store, mailbox_id, targets, plan)
    changed: dict[int, MessageEntry] = {}
    if plan.sets_seen and not readonly:
        unseen = [e.uid for _, e in targets if SEEN not in e.flags]
        if unseen:
            updated, _ = await store.store_flags(mailbox_id, unseen, "add", (SEEN,))
            changed = {e.uid: e for e in updated}
    out = Output(write)
    missing: list[int] = []
    for start in range(0, len(targets), BATCH):
        batch = targets[start:start + BATCH]
        infos: dict[int, MessageInfo] = {}
        if plan.needs_info:
            found = await store.fetch_info(mailbox_id, [e.uid for _, e in batch])
            infos = {i.uid: i for i in found}
        messages: list[_Message] = []
        for seq, entry in batch:
            info = infos.get(entry.uid)
            if plan.needs_info and info is None:
                missing.append(entry.uid)
                continue
            new = changed.get(entry.uid)
            items = plan.items
            if new is not None and not plan.has_flags:
                # RFC 3501 §6.4.5: include FLAGS when FETCH set \Seen (after UID, as Dovecot)
                at = 1 if plan.uid_first else 0
                items = (*items[:at], _FLAGS, *items[at:])
            messages.append(_Message(seq, new or entry, info, items))
        for group_start in range(0, len(messages), READ_AHEAD):
            group = messages[group_start:group_start + READ_AHEAD]
            if plan.needs_raw:  # overlap the blob reads of the next few messages
                await asyncio.gather(*(_load(store, m, plan, utf8) for m in group))
            else:
                for m in group:
                    await _load(store, m, plan, utf8)
            for m in group:
                await _respond(out, m, utf8)
    await out.flush()
    return FetchOutcome(list(changed.values()), missing)


async def _check_encodings(
    store: Store, mailbox_id: int, targets: Sequence[tuple[int, MessageEntry]], plan: _Plan,
) -> None:
    binary = [a for a in plan.items if a.name.startswith("BINARY")]
    for start in range(0, len(targets), BATCH):
        uids = [e.uid for _, e in targets[start:start + BATCH]]
        for info in await store.fetch_info(mailbox_id, uids):
            fetch_body.check_binary(await fetch_meta.load(store, info), binary)


@dataclass(slots=True)
class _Message:
    """One message being answered: its entry, record and what was read of it."""

    seq: int
    entry: MessageEntry
    info: MessageInfo | None
    items: tuple[FetchAtt, ...]
    meta: MessageMeta | None = None
    raw: RawMessage | None = None


async def _load(store: Store, m: _Message, plan: _Plan, utf8: bool) -> None:
    info = m.info
    if info is None:
        return
    if _needs_meta(m.items, info.blob_id, utf8):
        m.meta = await fetch_meta.load(store, info)
    if plan.needs_raw:
        assert m.meta is not None
        m.raw = RawMessage(store, info.blob_id, info.size)
        await m.raw.prepare(m.meta.header_end if plan.header_only else info.size)


async def _respond(out: Output, m: _Message, utf8: bool) -> None:
    entry, info, meta, raw = m.entry, m.info, m.meta, m.raw
    parts: list[bytes] = [b"* %d FETCH (" % m.seq]
    for index, att in enumerate(m.items):
        if index:
            parts.append(b" ")
        name = att.name
        if name == "FLAGS":
            parts.append(b"FLAGS " + flag_list(entry.flags))
        elif name == "UID":
            parts.append(b"UID %d" % entry.uid)
        elif name == "MODSEQ":
            parts.append(b"MODSEQ (%d)" % entry.modseq)  # RFC 7162 §3.1.4.1
        else:
            assert info is not None
            if name != "BINARY.SIZE" and fetch_body.is_body_item(att):
                assert meta is not None and raw is not None
                parts.append(att.key + b" ")
                out.add_now(b"".join(parts))
                parts.clear()
                await _literal(out, raw, meta, att)
            else:
                parts.append(att.key + b" " + await _value(att, info, meta, raw, utf8))
    parts.append(b")\r\n")
    await out.add(b"".join(parts))


def _needs_meta(items: Sequence[FetchAtt], blob_id: str, utf8: bool) -> bool:
    for att in items:
        name = att.name
        if name in _ENTRY_ITEMS or name in _INFO_ITEMS:
            continue
        if att.section is None and name in fetch_structure.STRUCTURE_ITEMS:
            if fetch_structure.cached(blob_id, name, utf8) is not None:
                continue
        return True
    return False


async def _value(
    att: FetchAtt, info: MessageInfo, meta: MessageMeta | None, raw: RawMessage | None,
    utf8: bool,
) -> bytes:
    name = att.name
    if name == "RFC822.SIZE":
        return b"%d" % info.size
    if name == "INTERNALDATE":
        return format_date_time(dt.datetime.fromtimestamp(info.internal_date, dt.UTC))
    if name in fetch_structure.STRUCTURE_ITEMS:
        value = fetch_structure.cached(info.blob_id, name, utf8)
        if value is not None:
            return value
        assert meta is not None
        return fetch_structure.encode(info.blob_id, meta, name, utf8)
    assert meta is not None
    if name == "BINARY.SIZE":
        assert raw is not None
        return b"%d" % await fetch_body.binary_size(raw, meta, att)
    if name == "PREVIEW":  # RFC 8970 §3
        return string(meta.preview, utf8=utf8)
    raise AssertionError(f"unexpected FETCH item {name}")  # pragma: no cover - parser's set


async def _literal(out: Output, raw: RawMessage, meta: MessageMeta, att: FetchAtt) -> None:
    binary = False
    if att.name == "BINARY":
        # RFC 3516 §4.2: decoded octets may hold NUL, so they go in a literal8; a part
        # sent as stored (7bit, 8bit) is a plain literal, as Dovecot answers.
        content, binary = await fetch_body.binary_content(raw, meta, att)
    else:
        content = await fetch_body.body_content(raw, meta, att)
    await out.literal(content, raw, binary=binary)
