"""Untagged data responses (RFC 9051 §7 and the extensions' response grammars).

Each function returns one complete ``* ...\\r\\n`` line (with literals inline
where a value needs one), built from values through ``writer.py`` so that no
handler formats wire syntax itself.
"""

from collections.abc import Iterable, Sequence

from .sequence import format_ordered, format_set
from .writer import NIL, astring, flag_list, mailbox, nstring, quoted, string


def capability(capabilities: Iterable[str]) -> bytes:
    return b"* CAPABILITY %s\r\n" % " ".join(capabilities).encode("ascii")


def enabled(capabilities: Iterable[str]) -> bytes:
    """RFC 5161 §3.2: ``* ENABLED`` with the capabilities just enabled (maybe none)."""
    caps = " ".join(capabilities).encode("ascii")
    return b"* ENABLED %s\r\n" % caps if caps else b"* ENABLED\r\n"


def exists(count: int) -> bytes:
    return b"* %d EXISTS\r\n" % count


def recent(count: int) -> bytes:
    return b"* %d RECENT\r\n" % count


def expunge(seq: int) -> bytes:
    return b"* %d EXPUNGE\r\n" % seq


def vanished(uids: Iterable[int], earlier: bool = False) -> bytes:
    """RFC 7162 §3.2.10: ``* VANISHED [(EARLIER)] uid-set``."""
    return b"* VANISHED %s%s\r\n" % (
        b"(EARLIER) " if earlier else b"", format_set(uids).encode("ascii")
    )


def flags(flag_names: Iterable[str]) -> bytes:
    return b"* FLAGS %s\r\n" % flag_list(flag_names)


def fetch(seq: int, items: Iterable[bytes]) -> bytes:
    """``* seq FETCH (item value ...)``; each item is ``att.key + b" " + value``."""
    return b"* %d FETCH (%s)\r\n" % (seq, b" ".join(items))


def search(numbers: Iterable[int], modseq: int | None = None) -> bytes:
    """``* SEARCH n...`` with the RFC 7162 §3.1.5 ``(MODSEQ n)`` when given."""
    body = b"".join(b" %d" % n for n in numbers)
    if modseq is not None:
        body += b" (MODSEQ %d)" % modseq
    return b"* SEARCH%s\r\n" % body


def sort(numbers: Iterable[int]) -> bytes:
    return b"* SORT%s\r\n" % b"".join(b" %d" % n for n in numbers)


#: A node of a THREAD response: a message number (None for a dummy) and its children.
ThreadNode = tuple[int | None, Sequence["ThreadNode"]]


def thread(threads: Iterable[ThreadNode]) -> bytes:
    """RFC 5256 §4 ``* THREAD (3 6 (4 23)(44 7 96))``: one parenthesised list per
    thread; an only child follows its parent in the same list, several children
    are each parenthesised; a dummy parent writes no number, as in ``((3)(5))``.

    Built with an explicit stack: a thread is as deep as its senders make it.
    """
    out = bytearray(b"* THREAD")
    first = True
    for root in threads:
        if first:
            out += b" "
            first = False
        stack: list[bytes | ThreadNode] = [b")", root, b"("]
        while stack:
            item = stack.pop()
            if isinstance(item, bytes):
                if item == b"(" and out[-1:].isdigit():
                    out += b" "
                out += item
                continue
            node: ThreadNode = item
            while True:  # a chain of only children stays in one list
                number, children = node
                if number is not None:
                    if out[-1:].isdigit():
                        out += b" "
                    out += b"%d" % number
                if len(children) != 1:
                    break
                node = children[0]
            for child in reversed(children):
                stack += [b")", child, b"("]
    return bytes(out) + b"\r\n"


def esearch(
    tag: str | None,
    uid: bool,
    *,
    min: int | None = None,
    max: int | None = None,
    count: int | None = None,
    all: Iterable[int] | None = None,
    modseq: int | None = None,
    partial: tuple[tuple[int, int], Sequence[int]] | None = None,
    in_order: bool = False,
) -> bytes:
    """RFC 4731 §3.1 ``* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n] [ALL set]``.

    `in_order` keeps the order of `all` and of the `partial` results (ESORT,
    RFC 5267 §3.2: "in the requested sort order"), merging only ascending runs;
    `partial` is (the range as requested, the results in it): ``PARTIAL (lo:hi set)``,
    or ``NIL`` for no results (RFC 9394 §3.1).
    """
    fmt = format_ordered if in_order else format_set
    parts = [b"* ESEARCH"]
    if tag is not None:
        parts.append(b"(TAG %s)" % quoted(tag.encode("ascii")))
    if uid:
        parts.append(b"UID")
    if min is not None:
        parts.append(b"MIN %d" % min)
    if max is not None:
        parts.append(b"MAX %d" % max)
    if count is not None:
        parts.append(b"COUNT %d" % count)
    if all is not None:
        text = fmt(all)
        if text:  # RFC 4731 §3.1: ALL is omitted when nothing matched
            parts.append(b"ALL %s" % text.encode("ascii"))
    if partial is not None:
        (lo, hi), found = partial
        text = fmt(found) or "NIL"
        parts.append(b"PARTIAL (%d:%d %s)" % (lo, hi, text.encode("ascii")))
    if modseq is not None:
        parts.append(b"MODSEQ %d" % modseq)
    return b" ".join(parts) + b"\r\n"


def esearch_update(tag: str, uid: bool, kind: str, numbers: Iterable[int]) -> bytes:
    """RFC 5267 §4.3.3/§4.3.4 ``* ESEARCH (TAG "t") [UID] ADDTO (0 set)`` (or
    ``REMOVEFROM``): position 0, a SEARCH context's results being in mailbox order."""
    parts = [b"* ESEARCH (TAG %s)" % quoted(tag.encode("ascii"))]
    if uid:
        parts.append(b"UID")
    parts.append(b"%s (0 %s)" % (kind.encode("ascii"), format_set(numbers).encode("ascii")))
    return b" ".join(parts) + b"\r\n"


def esearch_positions(tag: str, uid: bool, kind: str, pairs: Iterable[tuple[int, int]]) -> bytes:
    """RFC 5267 §4.3.3/§4.3.4 for a sorted context: ``ADDTO (pos n pos n ...)``, each pair
    applied in order (a position counts in the list as the pairs before it left it)."""
    parts = [b"* ESEARCH (TAG %s)" % quoted(tag.encode("ascii"))]
    if uid:
        parts.append(b"UID")
    body = b" ".join(b"%d %d" % pair for pair in pairs)
    parts.append(b"%s (%s)" % (kind.encode("ascii"), body))
    return b" ".join(parts) + b"\r\n"


def _delimiter(delimiter: str | None) -> bytes:
    return NIL if delimiter is None else quoted(delimiter.encode("utf-8"))


def list_(
    attributes: Iterable[str],
    delimiter: str | None,
    name: str,
    *,
    utf8: bool = False,
    command: str = "LIST",
    extended: Iterable[bytes] = (),
) -> bytes:
    """``* LIST (attrs) "/" name [(extended items)]`` (RFC 9051 §7.3.1, RFC 5258 §4)."""
    ext = b" (%s)" % b" ".join(extended) if extended else b""
    return b"* %s %s %s %s%s\r\n" % (
        command.encode("ascii"), flag_list(attributes), _delimiter(delimiter),
        mailbox(name, utf8=utf8), ext,
    )


def status(name: str, items: Iterable[tuple[str, int | str]], *, utf8: bool = False) -> bytes:
    """``* STATUS name (MESSAGES 3 UIDNEXT 9)`` (RFC 9051 §7.3.2); a text value is
    sent as it is (``MAILBOXID (F1)``, RFC 8474 §4.2)."""
    body = b" ".join(b"%s %s" % (k.encode("ascii"), str(v).encode("ascii")) for k, v in items)
    return b"* STATUS %s (%s)\r\n" % (mailbox(name, utf8=utf8), body)


def quota(root: str, resources: Iterable[tuple[str, int, int]]) -> bytes:
    """``* QUOTA root (STORAGE used limit ...)`` (RFC 9208 §5.1); STORAGE is in KiB."""
    body = b" ".join(b"%s %d %d" % (r.encode("ascii"), used, limit) for r, used, limit in resources)
    return b"* QUOTA %s (%s)\r\n" % (astring(root), body)


def quotaroot(name: str, roots: Iterable[str], *, utf8: bool = False) -> bytes:
    """``* QUOTAROOT mailbox root...`` (RFC 9208 §5.2)."""
    body = b"".join(b" %s" % astring(r) for r in roots)
    return b"* QUOTAROOT %s%s\r\n" % (mailbox(name, utf8=utf8), body)


Namespace = Sequence[tuple[str, str | None]] | None


def namespace(personal: Namespace, other: Namespace = None, shared: Namespace = None) -> bytes:
    """``* NAMESPACE (("" "/")) NIL NIL`` (RFC 2342, RFC 9051 §7.3.3)."""

    def one(spaces: Namespace) -> bytes:
        if not spaces:
            return NIL
        return b"(%s)" % b"".join(
            b"(%s %s)" % (string(prefix), _delimiter(delim)) for prefix, delim in spaces
        )

    return b"* NAMESPACE %s %s %s\r\n" % (one(personal), one(other), one(shared))


def id_(params: Sequence[tuple[str, str | None]] | None) -> bytes:
    """``* ID ("name" "Postbus" ...)`` or ``* ID NIL`` (RFC 2971 §3.2)."""
    if not params:
        return b"* ID NIL\r\n"
    body = b" ".join(b"%s %s" % (string(k), nstring(v)) for k, v in params)
    return b"* ID (%s)\r\n" % body
