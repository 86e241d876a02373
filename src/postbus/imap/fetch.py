"""FETCH (RFC 3501 §6.4.5, RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 CHANGEDSINCE).

The session resolves the sequence set and calls :func:`fetch` with the
(sequence number, entry) pairs; this module translates the FETCH items into
the mailbox service's `FetchItems` and sections, reads through
`mailbox.fetch`, and writes the responses:

* FLAGS, UID and MODSEQ come from the session's entries; nothing is read.
  THREADID is NIL: threads are not tracked (RFC 8474 §5.2 allows it).
* EMAILID (RFC 8474 §5.1) is named after the stored body (its SHA-256), so it
  stays the same through COPY and MOVE; identical octets stored twice share
  one body and so one EMAILID.
* SAVEDATE (RFC 8514) is when the message entered this folder (APPEND,
  delivery, COPY, MOVE), kept by the store.
* ENVELOPE, BODYSTRUCTURE, BODY and PREVIEW come from the parse-once record
  (their bytes memoised per blob in `fetch_structure`: the record is not even
  decoded when they are known); message bodies are not read for them. A FETCH
  of ENVELOPE and entry items over `KEPT_ENVELOPES_MIN` messages or more keeps
  the ENVELOPEs it encoded beside the records' stored keys
  (`Mailboxes.remember_envelopes`), and the next one writes them as kept, reading
  nothing else (issue 12: FETCH 1:* (FLAGS ENVELOPE) of a large folder).
* Body sections read only their byte range; literals larger than 64 KB are
  streamed from the blob store (`fetch_output`).

Invariants: \\Seen is set in one `store_flags` call before anything is
written, so each response shows the new flags, and never when `readonly`
(EXAMINE); a response that carries FLAGS because of that change is listed in
`FetchOutcome.seen` so the session does not announce it again. NO
[UNKNOWN-CTE] (RFC 3516 §4.2) is raised before any \\Seen or output.
FLAGS are the entry's flags as the session holds them, plus \\Recent for the
UIDs in `recent` (the store keeps no \\Recent; an IMAP4rev1 session passes the
messages it claimed, RFC 3501 §2.3.2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace

from postbus.imap import fetch_structure
from postbus.imap.fetch_output import Output
from postbus.imap.proto.dates import format_date_time
from postbus.imap.proto.errors import ImapNo
from postbus.imap.proto.fetch import FetchAtt, Section
from postbus.imap.proto.writer import string
from postbus.mailbox import query
from postbus.mailbox.fetch import Fetched, UnknownEncoding
from postbus.mailbox.service import Mailboxes
from postbus.mailbox.types import MessageEntry

# RFC 9051 §2.3.2 system flags, in the order Dovecot sends them; keywords follow, sorted.
_SYSTEM_ORDER = {f: i for i, f in enumerate(
    ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent"))}
_FLAG_CACHE: dict[frozenset[str], bytes] = {}
_FLAG_CACHE_SIZE = 4096

# Items answered from the session's entry alone.
_ENTRY_ITEMS = frozenset(("FLAGS", "UID", "MODSEQ", "THREADID"))
#: Added to the FLAGS of the messages \Recent in the session (RFC 3501 §2.3.2).
RECENT = frozenset(("\\Recent",))
# Items answered from MessageInfo without the parse-once record.
_INFO_ITEMS = frozenset(("INTERNALDATE", "RFC822.SIZE", "EMAILID", "SAVEDATE"))

#: Messages from which a FETCH of ENVELOPE (with entry items only) reads the
#: ENVELOPEs kept encoded beside the stored keys, and keeps those it had to encode.
KEPT_ENVELOPES_MIN = 256

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


def email_id(blob_id: str) -> str:
    """RFC 8474 §5.1 EMAILID: ``M`` and the first 96 bits of the body's SHA-256."""
    return "M" + blob_id[:24]


def _response_att(att: FetchAtt) -> FetchAtt:
    """`att` with the HEADER.FIELDS names of its response key upper-cased, as Dovecot sends."""
    section = att.section
    if section is None or not section.headers:
        return att
    upper = Section(section.part, section.text, tuple(h.upper() for h in section.headers))
    key = f"{att.name}[{upper}]" + (f"<{att.partial[0]}>" if att.partial else "")
    return replace(att, key=key.encode("utf-8"))


# The RFC822 items are BODY[] forms (RFC 9051 §6.4.5): name -> section text
_RFC822: dict[str, query.SectionText] = {
    "RFC822": "", "RFC822.HEADER": "HEADER", "RFC822.TEXT": "TEXT"}
# The parser's section-text specifiers (None: the whole part)
_SECTION_TEXTS: dict[str | None, query.SectionText] = {
    None: "", "HEADER": "HEADER", "HEADER.FIELDS": "HEADER.FIELDS",
    "HEADER.FIELDS.NOT": "HEADER.FIELDS.NOT", "TEXT": "TEXT", "MIME": "MIME"}


def is_body_item(att: FetchAtt) -> bool:
    """Whether `att` is answered with message octets (a literal)."""
    return att.name in _RFC822 or att.section is not None


def section_of(att: FetchAtt) -> query.Section:
    """The mailbox section a body item reads (BODY[...], BINARY[...], BINARY.SIZE[...],
    RFC822.*)."""
    if att.name in _RFC822:
        return query.Section(text=_RFC822[att.name])
    section = att.section
    assert section is not None
    if att.name.startswith("BINARY"):  # RFC 3516 §4.2: the part's decoded content
        return query.Section(section.part, partial=att.partial, decode=True)
    return query.Section(section.part, _SECTION_TEXTS[section.text], section.headers, att.partial)


@dataclass(frozen=True, slots=True)
class _Plan:
    items: tuple[FetchAtt, ...]
    reads: query.FetchItems
    binary_parts: bool
    has_flags: bool
    uid_first: bool
    envelope_only: bool  # ENVELOPE is the one item that needs the message read


def _plan(atts: Sequence[FetchAtt], uid_command: bool, changed_since: int | None,
          condstore: bool = False) -> _Plan:
    items: list[FetchAtt] = []
    keys: set[bytes] = set()
    taken: set[tuple[str, bytes]] = set()
    for att in map(_response_att, atts):
        # One response item per key: BODY[] and BODY.PEEK[] are one. PREVIEW and
        # PREVIEW (FUZZY) share a key but not a form: both are answered, as Dovecot does.
        if (att.name, att.key) not in taken:
            taken.add((att.name, att.key))
            keys.add(att.key)
            items.append(att)
    # RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ; once CONDSTORE is enabled, flags
    # come with their mod-sequence (§3.1), as Dovecot sends them.
    wants_modseq = changed_since is not None or (
        condstore and (b"FLAGS" in keys or any(a.sets_seen for a in atts)))
    if wants_modseq and b"MODSEQ" not in keys:
        items.append(_MODSEQ)
    if uid_command and b"UID" not in keys:  # RFC 9051 §6.4.9: UID FETCH always returns UID
        items.append(_UID)
    # UID (of UID FETCH) first, then the entry items, then the rest, as Dovecot orders them:
    # a client sees which message and its flags before any literal.
    items.sort(key=lambda a: 0 if uid_command and a.name == "UID" else
               1 if a.name in _ENTRY_ITEMS else 2)
    sections = tuple(section_of(a) for a in items if is_body_item(a))
    reads = query.FetchItems(
        info=any(a.name in _INFO_ITEMS for a in items),
        record=any(a.name not in _ENTRY_ITEMS and a.name not in _INFO_ITEMS for a in items),
        sections=sections,
        mark_seen=any(a.sets_seen for a in atts),
    )
    return _Plan(
        items=tuple(items),
        reads=reads,
        binary_parts=any(a.name.startswith("BINARY") and a.section is not None
                         and a.section.part for a in items),
        has_flags=b"FLAGS" in keys,
        uid_first=uid_command,
        envelope_only=b"ENVELOPE" in keys and not reads.mark_seen and all(
            a.name in _ENTRY_ITEMS or a.name == "ENVELOPE" for a in items),
    )


async def fetch(
    mailboxes: Mailboxes,
    mailbox_id: int,
    targets: Sequence[tuple[int, MessageEntry]],
    atts: Sequence[FetchAtt],
    *,
    uid_command: bool,
    readonly: bool,
    utf8: bool,
    changed_since: int | None,
    write: Callable[[bytes], Awaitable[None]],
    recent: Collection[int] = frozenset(),
    condstore: bool = False,
) -> FetchOutcome:
    """Write ``* n FETCH (...)`` for each target through `write`; see the module docstring."""
    try:
        plan = _plan(atts, uid_command, changed_since, condstore)
        if changed_since is not None:  # RFC 7162 §3.1.4.1: only messages changed since
            targets = [(seq, e) for seq, e in targets if e.modseq > changed_since]
        uids = [e.uid for _, e in targets]
        if plan.binary_parts:
            await mailboxes.check_decodable(mailbox_id, uids, plan.reads.sections)
        changed: dict[int, MessageEntry] = {}
        if plan.reads.mark_seen and not readonly:
            changed = {e.uid: e for e in await mailboxes.mark_seen(
                mailbox_id, [e for _, e in targets])}
        out = Output(write)
        missing: list[int] = []
        reads = plan.reads
        kept: dict[int, bytes] = {}
        if plan.envelope_only and not utf8 and len(targets) >= KEPT_ENVELOPES_MIN:
            kept = await mailboxes.envelopes(mailbox_id, uids)
        if not (reads.info or reads.record or reads.sections) or (
                kept and len(kept) == len(targets)):
            # FLAGS, UID, MODSEQ only: the view holds them and nothing is read; with
            # ENVELOPE, when every one was kept encoded (`Mailboxes.envelopes`)
            for seq, entry in targets:
                new = changed.get(entry.uid)
                await _respond(out, seq, new or entry, None, _items(plan, new), utf8, recent,
                               kept.get(entry.uid))
        else:
            position = 0
            made: list[tuple[str, bytes]] = []
            async for m in mailboxes.fetch(mailbox_id, uids, reads):
                seq, entry = targets[position]
                position += 1
                if m.gone:
                    missing.append(m.uid)
                    continue
                new = changed.get(entry.uid)
                envelope = kept.get(entry.uid)
                await _respond(out, seq, new or entry, m, _items(plan, new), utf8, recent,
                               envelope)
                if plan.envelope_only and envelope is None and not utf8 and m.info is not None:
                    value = fetch_structure.cached(m.info.blob_id, "ENVELOPE", False)
                    if value is not None:
                        made.append((m.info.blob_id, value))
            if len(made) >= KEPT_ENVELOPES_MIN:
                # Kept for the next large FETCH (the encoding is this module's).
                await mailboxes.remember_envelopes(made)
        await out.flush()
        return FetchOutcome(list(changed.values()), missing)
    except UnknownEncoding:
        # RFC 3516 §4.2: NO [UNKNOWN-CTE] when the encoding cannot be undone
        raise ImapNo("Unknown Content-Transfer-Encoding", "UNKNOWN-CTE") from None


def _items(plan: _Plan, seen_set: MessageEntry | None) -> tuple[FetchAtt, ...]:
    if seen_set is None or plan.has_flags:
        return plan.items
    # RFC 3501 §6.4.5: include FLAGS when FETCH set \Seen (after UID, as Dovecot)
    at = 1 if plan.uid_first else 0
    return (*plan.items[:at], _FLAGS, *plan.items[at:])


async def _respond(
    out: Output, seq: int, entry: MessageEntry, m: Fetched | None, items: tuple[FetchAtt, ...],
    utf8: bool, recent: Collection[int], envelope: bytes | None = None,
) -> None:
    parts: list[bytes] = [b"* %d FETCH (" % seq]
    for index, att in enumerate(items):
        if index:
            parts.append(b" ")
        name = att.name
        if name == "FLAGS":
            flags = entry.flags | RECENT if entry.uid in recent else entry.flags
            parts.append(b"FLAGS " + flag_list(flags))
        elif name == "UID":
            parts.append(b"UID %d" % entry.uid)
        elif name == "MODSEQ":
            parts.append(b"MODSEQ (%d)" % entry.modseq)  # RFC 7162 §3.1.4.1
        elif name == "THREADID":
            parts.append(b"THREADID NIL")  # RFC 8474 §5.2
        elif name == "ENVELOPE" and envelope is not None:
            parts.append(b"ENVELOPE " + envelope)
        elif m is None:
            raise AssertionError(f"{name} needs the message read")  # pragma: no cover
        elif name != "BINARY.SIZE" and is_body_item(att):
            parts.append(att.key + b" ")
            out.add_now(b"".join(parts))
            parts.clear()
            content, binary = await m.section(section_of(att))
            assert m.reader is not None
            # RFC 3516 §4.2: decoded octets may hold NUL, so they go in a literal8; a part
            # sent as stored (7bit, 8bit) is a plain literal, as Dovecot answers, unless
            # it holds a NUL (a message appended with a literal8 may).
            await out.literal(content, m.reader, binary=binary,
                              nul_check=att.name.startswith("BINARY"))
        else:
            parts.append(att.key + b" " + await _value(att, m, utf8))
    parts.append(b")\r\n")
    await out.add(b"".join(parts))


async def _value(att: FetchAtt, m: Fetched, utf8: bool) -> bytes:
    name = att.name
    info = m.info
    assert info is not None
    if name == "RFC822.SIZE":
        return b"%d" % info.size
    if name == "EMAILID":
        return b"(%s)" % email_id(info.blob_id).encode("ascii")
    if name == "INTERNALDATE":
        return format_date_time(dt.datetime.fromtimestamp(info.internal_date, dt.UTC))
    if name == "SAVEDATE":  # RFC 8514 §4.3; messages stored before save dates: the arrival
        saved = info.internal_date if info.saved is None else info.saved
        return format_date_time(dt.datetime.fromtimestamp(saved, dt.UTC))
    if name in fetch_structure.STRUCTURE_ITEMS:
        value = fetch_structure.cached(info.blob_id, name, utf8)
        if value is not None:
            return value
        return fetch_structure.encode(info.blob_id, await m.record(), name, utf8)
    if name == "BINARY.SIZE":
        return b"%d" % await m.decoded_size(section_of(att))
    if name == "PREVIEW":  # RFC 8970 §3
        return string((await m.record()).preview, utf8=utf8)
    if name in ("PREVIEW.FUZZY", "SNIPPET"):  # the drafts' form (proto.fetch), as Dovecot's
        return b"(FUZZY " + string((await m.record()).preview, utf8=utf8) + b")"
    raise AssertionError(f"unexpected FETCH item {name}")  # pragma: no cover - parser's set
