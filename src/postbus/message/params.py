"""Content-Type and Content-Disposition: a value and its parameters.

RFC 2045 §5.1 gives the grammar (`type "/" subtype *(";" attribute "=" value)`),
RFC 2231 §3-4 the continuations (`name*0`, `name*1`) and the extended values
(`name*=charset'language'percent-encoded`).

Parameters are stored the way IMAP servers send them in BODYSTRUCTURE (as
Dovecot does): names lower-cased, continuations merged into one parameter,
extended values kept encoded under the name with a trailing star
(`filename*` = `utf-8''na%C3%AFve.txt`), so that the wire form stays ASCII
and clients decode it themselves. `param_value` decodes for our own use
(webmail, search): RFC 2231 first, then RFC 2047 words, which many mailers
put in quoted parameters although RFC 2047 §5 forbids it.
"""

from __future__ import annotations

import re
from urllib.parse import quote_from_bytes, unquote_to_bytes

from postbus.message.charsets import decode_text
from postbus.message.limits import MAX_MIME_VALUE_CHARS, MAX_PARAMS
from postbus.message.words import decode_header_value

Param = tuple[str, str]

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\Z)|\((?:[^()\\]|\\.)*\)|;|[^";(]+|\(', re.S)
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)
_SECTION = re.compile(r"(.+?)\*(?:(\d{1,3})(\*)?)?")
_ATTRIBUTE_SAFE = b"!#$&+-.^_`|~"


def _segments(value: str) -> list[list[tuple[bool, str]]]:
    """`value` cut at unquoted semicolons into (quoted?, text) pieces; comments dropped.

    Reads MAX_MIME_VALUE_CHARS characters and keeps MAX_PARAMS parameters.
    """
    value = value[:MAX_MIME_VALUE_CHARS]
    if '"' not in value and "(" not in value:
        return [[(False, piece)] for piece in value.split(";", MAX_PARAMS + 1)[:MAX_PARAMS + 1]]
    segments: list[list[tuple[bool, str]]] = [[]]
    for match in _TOKENS.finditer(value):
        text = match.group(0)
        first = text[0]
        if first == ";":
            if len(segments) > MAX_PARAMS:
                break
            segments.append([])
        elif first == '"':
            inner = text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:]
            segments[-1].append((True, _QUOTED_PAIR.sub(r"\1", inner)))
        elif first == "(" and len(text) > 1:
            continue  # RFC 822 comment
        else:
            segments[-1].append((False, text))
    return segments


def _param(pieces: list[tuple[bool, str]]) -> Param | None:
    name_parts: list[str] = []
    value_parts: list[tuple[bool, str]] = []
    seen_equals = False
    for quoted, text in pieces:
        if seen_equals:
            value_parts.append((quoted, text))
        elif not quoted and "=" in text:
            before, _, after = text.partition("=")
            name_parts.append(before)
            value_parts.append((False, after))
            seen_equals = True
        else:
            name_parts.append(text)
    name = "".join(name_parts).strip().lower()
    if not seen_equals or not name:
        return None
    quoted_values = [text for quoted, text in value_parts if quoted]
    if len(quoted_values) == 1 and all(t.strip() == "" for q, t in value_parts if not q):
        return name, quoted_values[0]
    return name, "".join(text for _, text in value_parts).strip()


def _merge_rfc2231(params: list[Param]) -> list[Param]:
    """RFC 2231 §3: merge `name*N` / `name*N*` sections into one parameter."""
    if not any("*" in name for name, _ in params):
        return params
    merged: list[tuple[str, str | None]] = []  # None: the place of a merged parameter
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    for name, value in params:
        match = _SECTION.fullmatch(name)
        if match is None or match.group(2) is None:
            merged.append((name, value))
            continue
        base = match.group(1)
        if base not in sections:
            sections[base] = {}
            merged.append((base, None))
        sections[base].setdefault(int(match.group(2)), (value, match.group(3) is not None))
    result: list[Param] = []
    for name, maybe_value in merged:
        if maybe_value is not None:
            result.append((name, maybe_value))
            continue
        parts = sections[name]
        ordered = [parts[i] for i in sorted(parts)]
        if not any(extended for _, extended in ordered):
            result.append((name, "".join(v for v, _ in ordered)))
            continue
        pieces = []
        for index, (piece, extended) in enumerate(ordered):
            if extended:
                pieces.append(piece)
            else:
                encoded = quote_from_bytes(piece.encode("utf-8"), safe=_ATTRIBUTE_SAFE)
                pieces.append(("''" + encoded) if index == 0 else encoded)
        result.append((name + "*", "".join(pieces)))
    return result


def parse_params(segments: list[list[tuple[bool, str]]]) -> list[Param]:
    params = [p for p in (_param(s) for s in segments) if p is not None]
    return _merge_rfc2231(params)


def parse_content_type(value: str) -> tuple[str, str, list[Param]] | None:
    """(type, subtype, params) of a Content-Type value, or None when it is invalid.

    RFC 2045 §5.2: an invalid Content-Type means text/plain; charset=us-ascii,
    which the caller applies. Type and subtype keep the case they were written in.
    """
    segments = _segments(value)
    head = "".join(text for _, text in segments[0]).strip()
    ctype, slash, subtype = head.partition("/")
    ctype, subtype = ctype.strip(), subtype.strip()
    if not slash or not ctype or not subtype or " " in ctype or " " in subtype:
        return None
    return ctype, subtype, parse_params(segments[1:])


def parse_disposition(value: str) -> tuple[str, list[Param]] | None:
    """(disposition type, params) of a Content-Disposition value (RFC 2183), or None."""
    segments = _segments(value)
    kind = "".join(text for _, text in segments[0]).strip()
    if not kind:
        return None
    return kind, parse_params(segments[1:])


def decode_param(name: str, value: str) -> str:
    """The text a stored parameter stands for (RFC 2231 §4, then RFC 2047 words)."""
    if name.endswith("*"):
        charset, sep1, rest = value.partition("'")
        _language, sep2, encoded = rest.partition("'")
        if not (sep1 and sep2):
            charset, encoded = "", value
        return decode_text(unquote_to_bytes(encoded), charset or "utf-8")
    return decode_header_value(value) if "=?" in value else value


def param_value(params: list[Param], name: str) -> str | None:
    """Decoded value of parameter `name` (case-insensitive), the RFC 2231 form first."""
    name = name.lower()
    plain: str | None = None
    for pname, pvalue in params:
        if pname == name + "*":
            return decode_param(pname, pvalue)
        if pname == name and plain is None:
            plain = decode_param(pname, pvalue)
    return plain
