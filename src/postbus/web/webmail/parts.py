"""Which parts of a message the reading screen shows, and their IMAP part numbers.

Part numbers follow IMAP's rules (RFC 9051 §6.4.5, `message.sections`): the
children of a multipart root are 1, 2, ...; a single-part message's body is 1;
inside an encapsulated message/rfc822 at P numbering goes on as P.1, P.2, ....
Pure functions of the parse-once record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from postbus.message import Part, is_attachment
from postbus.web.webmail.limits import MAX_PART_PATH

Path = tuple[int, ...]


def numbered(root: Part) -> Iterator[tuple[Path, Part, bool]]:
    """(part number, part, inside a multipart/related) of every part of the
    top-level message, depth first, not entering encapsulated messages."""
    if not root.children:
        yield (1,), root, False
        return
    stack: list[tuple[Path, Part, bool]] = [
        ((i,), child, root.mime_type == "multipart/related")
        for i, child in reversed(list(enumerate(root.children, 1)))]
    while stack:
        path, part, related = stack.pop()
        yield path, part, related
        if part.children:
            inner = part.mime_type == "multipart/related"
            stack.extend(((*path, i), child, inner)
                         for i, child in reversed(list(enumerate(part.children, 1))))


@dataclass(frozen=True, slots=True)
class Shown:
    path: Path
    part: Part
    html: bool


def body_parts(root: Part) -> list[Shown]:
    """The text parts a reader sees, in order: the HTML alternative where there is
    one (else the plain one), and every inline text part of a mixed message."""
    shown: list[Shown] = []

    def visit(path: Path, part: Part, related: bool) -> None:
        kind = part.mime_type
        if part.children:
            children = [((*path, i) if path else (i,), c) for i, c in enumerate(part.children, 1)]
            if kind == "multipart/alternative":
                best = _best_alternative(children)
                if best is not None:
                    visit(best[0], best[1], False)
            elif kind == "multipart/related":
                visit(children[0][0], children[0][1], True)
            else:
                for child_path, child in children:
                    visit(child_path, child, False)
            return
        if kind in ("text/plain", "text/html") and not is_attachment(part, in_related=related):
            shown.append(Shown(path or (1,), part, kind == "text/html"))

    visit((), root, False)
    return shown


def _best_alternative(children: list[tuple[Path, Part]]) -> tuple[Path, Part] | None:
    """The last alternative we can show (RFC 2046 §5.1.4: the last is the richest)."""
    best = None
    for path, part in children:
        if part.mime_type in ("text/plain", "text/html") or part.children:
            best = (path, part)
    return best


@dataclass(frozen=True, slots=True)
class Attachment:
    path: Path
    part: Part
    name: str


def attachment_list(root: Part, fallback: str) -> list[Attachment]:
    out = []
    for path, part, related in numbered(root):
        if not part.children and is_attachment(part, in_related=related):
            name = part.filename or (fallback + "." + part.subtype.lower())
            out.append(Attachment(path, part, name))
    return out


def find_cid(root: Part, content_id: str) -> Path | None:
    """The part whose Content-ID is `content_id` (angle brackets optional)."""
    wanted = content_id.strip().strip("<>")
    for path, part, _ in numbered(root):
        if part.id and part.id.strip().strip("<>") == wanted:
            return path
    return None


def parse_path(text: str) -> Path | None:
    """"1.2" → (1, 2); None for anything else."""
    pieces = text.split(".")
    if not text or len(pieces) > MAX_PART_PATH or not all(p.isdigit() and len(p) < 6
                                                            for p in pieces):
        return None
    path = tuple(int(p) for p in pieces)
    return path if all(n > 0 for n in path) else None


def path_text(path: Path) -> str:
    return ".".join(map(str, path))
