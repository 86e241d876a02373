"""The MIME walker: raw bytes to a Part tree with byte offsets (RFC 2045, RFC 2046).

Theory of operation. An entity is a header block, a blank line and a body.
`find_header_end` cuts the header; the Content-* fields give the type. A
multipart body is split at its delimiter lines with `bytes.find` on the raw
buffer, so attachments are never copied or decoded; each piece is then an
entity of its own. A message/rfc822 (or message/global) body is a whole
message again. Offsets follow RFC 2046 §5.1.1: the line break before a
delimiter line belongs to the delimiter, not to the part before it;
the preamble and epilogue belong to no part.

Tolerance, and what it becomes:
* no Content-Type, or an invalid one: text/plain; charset=us-ascii
  (RFC 2045 §5.2), or message/rfc822 inside multipart/digest (RFC 2046 §5.1.5);
* multipart without a boundary parameter: text/plain (an invalid Content-Type);
* an entity with no blank line is all header and has an empty body, as
  Dovecot reads it (so a part that starts with text and no header has no body);
* a delimiter line may carry trailing white space; a close delimiter
  anything after its "--"; a missing close delimiter ends the last part at
  the end of the enclosing body; a multipart with no delimiter at all gets
  one empty text/plain child, as Dovecot reports it;
* message/rfc822 with a non-identity Content-Transfer-Encoding cannot be
  walked and becomes a leaf application/octet-stream;
* past MAX_MIME_DEPTH, MAX_MESSAGE_DEPTH or `max_parts`, a multipart or
  message becomes a leaf application/octet-stream, later siblings are left
  in the parent's body, and `truncated` is set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from postbus.message.envelope import build_envelope
from postbus.message.headers import Field, fields_of_block, find_header_end
from postbus.message.limits import MAX_MESSAGE_DEPTH, MAX_MIME_DEPTH, MAX_MIME_VALUE_CHARS
from postbus.message.model import Envelope, Param, Part
from postbus.message.params import param_value, parse_content_type, parse_disposition

_IDENTITY_ENCODINGS = frozenset(("7bit", "8bit", "binary"))
_DEFAULT_PARAMS: list[Param] = [("charset", "us-ascii")]
_OCTET_STREAM = ("application", "octet-stream")
_COMMENT = re.compile(r"\([^()]*\)")
#: False delimiter candidates tolerated before switching to a compiled search.
_FIND_MISSES = 32


class Walker:
    """One walk over one raw message; counts parts against `max_parts`."""

    __slots__ = ("buf", "count", "max_parts", "truncated")

    def __init__(self, buf: bytes, max_parts: int) -> None:
        self.buf = buf
        self.max_parts = max(1, max_parts)
        self.count = 0
        self.truncated = False

    def message(self, start: int, end: int, depth: int, msg_depth: int) -> tuple[list[Field], Part]:
        """Header fields and root part of the message in buf[start:end]."""
        body_start = find_header_end(self.buf, start, end)
        fields = fields_of_block(self.buf[start:body_start])
        root = self.entity(fields, start, body_start, end, depth, msg_depth, in_digest=False)
        return fields, root

    def entity(self, fields: list[Field], header_start: int, body_start: int, end: int,
               depth: int, msg_depth: int, *, in_digest: bool) -> Part:
        self.count += 1
        content: dict[str, str] = {}
        for name, value in fields:
            if name[0] in "Cc" and name[:8].lower() == "content-":
                content.setdefault(name.lower(), value)
        raw_type = content.get("content-type")
        parsed = parse_content_type(raw_type) if raw_type is not None else None
        if parsed is not None:
            ctype, subtype, params = parsed
        elif in_digest and raw_type is None:
            ctype, subtype, params = "message", "rfc822", []
        else:
            ctype, subtype, params = "text", "plain", list(_DEFAULT_PARAMS)
        encoding = content.get("content-transfer-encoding") or "7BIT"
        children: list[Part] = []
        envelope: Envelope | None = None
        nested: Part | None = None
        lower_type, lower_subtype = ctype.lower(), subtype.lower()
        if lower_type == "multipart":
            boundary = (param_value(params, "boundary") or "").rstrip(" ")
            if not boundary:
                ctype, subtype = "text", "plain"
            elif depth >= MAX_MIME_DEPTH or self.count >= self.max_parts:
                ctype, subtype = _OCTET_STREAM
                self.truncated = True
            else:
                children = self.multipart(boundary, body_start, end, depth + 1, msg_depth,
                                          in_digest=lower_subtype == "digest")
        elif lower_type == "message" and lower_subtype in ("rfc822", "global"):
            if encoding.lower() not in _IDENTITY_ENCODINGS:
                ctype, subtype = _OCTET_STREAM
            elif (depth >= MAX_MIME_DEPTH or msg_depth >= MAX_MESSAGE_DEPTH
                  or self.count >= self.max_parts):
                ctype, subtype = _OCTET_STREAM
                self.truncated = True
            else:
                nested_fields, nested = self.message(body_start, end, depth + 1, msg_depth + 1)
                envelope = build_envelope(nested_fields)
        counts_lines = nested is not None or ctype.lower() == "text"
        disposition = None
        if "content-disposition" in content:
            disposition = parse_disposition(content["content-disposition"])
        filename = param_value(disposition[1], "filename") if disposition else None
        return Part(
            type=ctype,
            subtype=subtype,
            params=params,
            id=content.get("content-id"),
            description=content.get("content-description"),
            encoding=encoding,
            size=end - body_start,
            lines=self.buf.count(b"\n", body_start, end) if counts_lines else 0,
            md5=content.get("content-md5"),
            disposition=disposition,
            language=_languages(content.get("content-language")),
            location=content.get("content-location"),
            header_start=header_start,
            body_start=body_start,
            end=end,
            children=children,
            envelope=envelope,
            body=nested,
            filename=filename or param_value(params, "name") or None,
        )

    def multipart(self, boundary: str, start: int, end: int, depth: int, msg_depth: int,
                  *, in_digest: bool) -> list[Part]:
        """The parts of the multipart body buf[start:end] (never empty)."""
        regions = self._split(_boundary_bytes(self.buf, boundary, start, end), start, end)
        children: list[Part] = []
        for part_start, part_end in regions:
            if self.count >= self.max_parts:
                self.truncated = True
                break
            body_start = find_header_end(self.buf, part_start, part_end)
            fields = fields_of_block(self.buf[part_start:body_start])
            children.append(self.entity(fields, part_start, body_start, part_end, depth,
                                        msg_depth, in_digest=in_digest))
        if not children:  # the walk entered this multipart with room for one more part
            self.count += 1
            children.append(Part("text", "plain", list(_DEFAULT_PARAMS),
                                 header_start=end, body_start=end, end=end))
        return children

    def _split(self, boundary: bytes, start: int, end: int) -> list[tuple[int, int]]:
        """(start, end) of each body part between the delimiter lines of `boundary`."""
        budget = self.max_parts - self.count
        regions: list[tuple[int, int]] = []
        part_start = -1
        for found, line_end, closing in _delimiters(self.buf, boundary, start, end):
            if part_start >= 0:
                cut = found
                if cut > part_start and self.buf[cut - 1] == 0x0A:
                    cut -= 1
                    if cut > part_start and self.buf[cut - 1] == 0x0D:
                        cut -= 1
                regions.append((part_start, cut))
            if closing:
                return regions
            if len(regions) >= budget:
                self.truncated = True
                return regions
            part_start = line_end
        if part_start >= 0:
            regions.append((part_start, end))
        return regions


def _delimiters(buf: bytes, boundary: bytes, start: int, end: int) -> Iterator[tuple[int, int, bool]]:
    """(offset, end of line, is close delimiter) of each delimiter line in buf[start:end].

    RFC 2046 §5.1.1: a delimiter is "--" boundary at the start of a line,
    followed by white space only, or by "--" for the close delimiter. Candidates
    are found with bytes.find; after _FIND_MISSES false candidates (a hostile
    body full of near-misses) the search switches to one compiled expression,
    whose compilation costs more than a normal message's whole scan.
    """
    delimiter = b"--" + boundary
    pos = start
    misses = 0
    while misses < _FIND_MISSES:
        found = buf.find(delimiter, pos, end)
        if found < 0:
            return
        pos = found + 1
        after = found + len(delimiter)
        eol = buf.find(b"\n", after, end)
        line_end = end if eol < 0 else eol + 1
        closing = buf.startswith(b"--", after, end)
        if (found > start and buf[found - 1] != 0x0A) or (
                not closing and buf[after:line_end].strip(b" \t\r\n")):
            misses += 1
            continue
        yield found, line_end, closing
        pos = line_end
    pattern = re.compile(b"\n" + re.escape(delimiter) + rb"(?:(--)|[ \t\r]*(?:\n|\Z))")
    while True:
        match = pattern.search(buf, pos - 1, end)
        if match is None:
            return
        found = match.start() + 1
        if match.group(1) is not None:
            eol = buf.find(b"\n", match.end(), end)
            yield found, end if eol < 0 else eol + 1, True
            return
        yield found, match.end(), False
        pos = match.end()


def _boundary_bytes(buf: bytes, boundary: str, start: int, end: int) -> bytes:
    """The boundary's octets: UTF-8, or latin-1 when the header was read as latin-1."""
    encoded = boundary.encode("utf-8")
    if not encoded.isascii() and buf.find(encoded, start, end) < 0:
        try:
            return boundary.encode("latin-1")
        except UnicodeEncodeError:
            pass
    return encoded


def _languages(value: str | None) -> list[str] | None:
    """Content-Language (RFC 3282) tags; comments dropped."""
    if not value:
        return None
    tags = _COMMENT.sub(" ", value[:MAX_MIME_VALUE_CHARS]).replace(",", " ").split()
    return tags or None
