"""RFC 5322 address lists as IMAP ENVELOPE address structures.

Each address is `(name, adl, mailbox, host)` (RFC 3501 §7.4.2, RFC 9051
§7.5.2). Group syntax `name: a, b;` becomes a start marker
`(None, None, name, None)`, the members, then an end marker
`(None, None, None, None)`. Values stay raw: encoded words in display names
are not decoded, a quoted local part keeps its quotes, and quoted display
names lose theirs (they are the phrase's content). A mailbox with no
display name but a trailing comment (`joe@example.org (Joe)`) takes the
comment as its name, as c-client and Dovecot do.

The parser is tolerant: unbalanced quotes, comments and angle brackets end
at the end of the value; a missing local part or domain becomes
`MISSING_MAILBOX` / `MISSING_DOMAIN`, because a NIL host would read as
group syntax. At most MAX_ADDRESSES structures are returned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from postbus.message.limits import MAX_ADDRESS_LIST_CHARS, MAX_ADDRESSES

Address = tuple[str | None, str | None, str | None, str | None]
GROUP_END: Address = (None, None, None, None)
MISSING_MAILBOX = "MISSING_MAILBOX"
MISSING_DOMAIN = "MISSING_DOMAIN"

# kinds of token
_ATOM, _QUOTED, _COMMENT, _LITERAL, _SPECIAL = range(5)
Token = tuple[int, str, bool]  # (kind, text as written, white space before it)

_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\n]+)
    |(?P<quoted>"(?:[^"\\]|\\.)*(?:"|\Z))
    |(?P<literal>\[(?:[^\[\]\\]|\\.)*(?:\]|\Z))
    |(?P<atom>[^ \t\r\n"(),.:;<>@\[\]\\]+)
    |(?P<special>[<>@,;:.])
    |(?P<other>.)""",
    re.X | re.S,
)
_GROUP_KINDS = {"quoted": _QUOTED, "literal": _LITERAL, "atom": _ATOM, "special": _SPECIAL}
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)


def _comment_end(value: str, pos: int) -> int:
    """Index just past the comment opening at value[pos] ('('), nesting allowed."""
    depth = 0
    length = len(value)
    while pos < length:
        char = value[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    return length


def tokenize(value: str) -> Iterator[Token]:
    """The RFC 5322 lexical tokens of `value`, lazily (callers may stop early)."""
    pos = 0
    space = False
    length = len(value)
    while pos < length:
        if value[pos] == "(":
            end = _comment_end(value, pos)
            yield (_COMMENT, value[pos:end], space)
            space, pos = False, end
            continue
        match = _TOKEN.match(value, pos)
        if match is None:  # pragma: no cover - "other" matches any character
            break
        kind = match.lastgroup
        pos = match.end()
        if kind == "ws":
            space = True
            continue
        yield (_GROUP_KINDS.get(kind or "", _ATOM), match.group(0), space)
        space = False


def unquote(text: str) -> str:
    """Content of a quoted string (its quotes and backslash escapes removed)."""
    inner = text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:]
    return _QUOTED_PAIR.sub(r"\1", inner)


def _comment_text(text: str) -> str:
    inner = text[1:-1] if text.endswith(")") else text[1:]
    return _QUOTED_PAIR.sub(r"\1", inner).strip()


def _phrase(tokens: list[Token]) -> str:
    out: list[str] = []
    gap = False
    for kind, text, space in tokens:
        if kind == _COMMENT:
            gap = True
            continue
        if out and (space or gap):
            out.append(" ")
        out.append(unquote(text) if kind == _QUOTED else text)
        gap = False
    return "".join(out)


def _local_part(tokens: list[Token]) -> str:
    out: list[str] = []
    previous_word = False
    for kind, text, space in tokens:
        word = kind != _SPECIAL
        if out and space and word and previous_word:
            out.append(" ")
        out.append(text)
        previous_word = word
    return "".join(out)


def _mailbox(tokens: list[Token]) -> Address | None:
    words = [t for t in tokens if t[0] != _COMMENT]
    if not words:
        return None
    name: str | None
    opening = next((i for i, t in enumerate(tokens) if t[0] == _SPECIAL and t[1] == "<"), -1)
    if opening >= 0:
        name = _phrase(tokens[:opening]) or None
        spec = tokens[opening + 1:]
        closing = next((i for i, t in enumerate(spec) if t[0] == _SPECIAL and t[1] == ">"), -1)
        if closing >= 0:
            spec = spec[:closing]
        spec = [t for t in spec if t[0] != _COMMENT]
    else:
        comments = [t[1] for t in tokens if t[0] == _COMMENT]
        name = _comment_text(comments[-1]) or None if comments else None
        spec = [t for t in words if t[:2] != (_SPECIAL, ">")]
    adl: str | None = None
    if spec and spec[0][:2] == (_SPECIAL, "@"):  # RFC 5322 §4.4 obs-route
        colon = next((i for i, t in enumerate(spec) if t[0] == _SPECIAL and t[1] == ":"), -1)
        if colon >= 0:
            adl = "".join(t[1] for t in spec[:colon]) or None
            spec = spec[colon + 1:]
    at = next((i for i in range(len(spec) - 1, -1, -1) if spec[i][:2] == (_SPECIAL, "@")), -1)
    local_tokens, domain_tokens = (spec[:at], spec[at + 1:]) if at >= 0 else (spec, [])
    mailbox = _local_part(local_tokens) or MISSING_MAILBOX
    host = "".join(t[1] for t in domain_tokens) or MISSING_DOMAIN
    if opening < 0 and not local_tokens and not domain_tokens:
        return None
    return (name, adl, mailbox, host)


# The common shapes, `addr@host`, `Name <addr@host>` and `"Name" <addr@host>`,
# parsed in one regular expression; anything else takes the general path.
_SPEC = r"([^\s<>@,;:\"()\[\]\\]+)@([^\s<>@,;:\"()\[\]\\]+)"
_SIMPLE = re.compile(
    r'[ \t]*(?:(?:"((?:[^"\\\r\n]|\\.)*)"|([^",:;<>@()\[\]\\\r\n]*?))[ \t]*<'
    + _SPEC + r">|" + _SPEC + r")[ \t]*(?:,|\Z)"
)
_BLANK_RUN = re.compile(r"[ \t]+")


def _simple_list(value: str, limit: int) -> list[Address] | None:
    out: list[Address] = []
    pos = 0
    length = len(value)
    while pos < length and len(out) < limit:
        match = _SIMPLE.match(value, pos)
        if match is None:
            return None
        quoted, name, local, host, bare_local, bare_host = match.groups()
        if local is None:
            out.append((None, None, bare_local, bare_host))
        else:
            display = (_QUOTED_PAIR.sub(r"\1", quoted) if quoted is not None
                       else _BLANK_RUN.sub(" ", name).strip(" \t"))
            out.append((display or None, None, local, host))
        pos = match.end()
    return out


def parse_address_list(value: str, limit: int = MAX_ADDRESSES) -> list[Address]:
    """ENVELOPE address structures for a raw (unfolded) address-list header value."""
    simple = _simple_list(value, limit)
    if simple is not None:
        return simple
    return parse_address_list_general(value, limit)


def parse_address_list_general(value: str, limit: int = MAX_ADDRESSES) -> list[Address]:
    """`parse_address_list` without the fast path for the common shapes.

    Reads at most MAX_ADDRESS_LIST_CHARS characters of `value`.
    """
    value = value[:MAX_ADDRESS_LIST_CHARS]
    out: list[Address] = []
    current: list[Token] = []
    current_has_special = False
    in_angle = False
    in_group = False

    def flush() -> None:
        nonlocal current_has_special
        if current:
            address = _mailbox(current)
            if address is not None:
                out.append(address)
            current.clear()
        current_has_special = False

    for token in tokenize(value):
        if len(out) >= limit:
            break
        kind, text, _ = token
        if kind != _SPECIAL:
            current.append(token)
            continue
        if in_angle:
            in_angle = text != ">"
        elif text == "<":
            in_angle = True
        elif text == ",":
            flush()
            continue
        elif text == ":" and not in_group and not current_has_special:
            out.append((None, None, _phrase(current), None))  # RFC 3501: group start
            current.clear()
            in_group = True
            continue
        elif text == ";":
            flush()
            if in_group:
                out.append(GROUP_END)
                in_group = False
            continue
        current.append(token)
        current_has_special = True
    if len(out) < limit:
        flush()
    del out[limit:]
    if in_group:
        out.append(GROUP_END)
    return out
