"""Token reader over one framed command (RFC 9051 §9 lexical rules).

The receiver hands the parser a command as *segments* (the text of each line,
CRLF and trailing literal marker removed) and the *literals* between them:
``segments[0] literal[0] segments[1] ... segments[n]``.  A :class:`Cursor`
walks them; a string is read from a literal exactly when the cursor stands at
the end of a segment that a literal follows.

Invariant: every malformed token raises :class:`~.errors.ImapBad`; nothing
else escapes (the fuzzer checks this).
"""

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from . import mutf7
from .errors import ImapBad, ImapNo
from .limits import MAX_NUMBER, MAX_NUMBER64

#: The decoded form of a LIST/LSUB pattern that is not valid modified UTF-7:
#: NUL is in no mailbox name (`Cursor.decode_mailbox` refuses it), so the
#: pattern, alone or joined to a reference, matches no folder.
NO_MATCH = "\x00"

T = TypeVar("T")

# ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ]
ATOM = re.compile(rb"[\x21\x23\x24\x26\x27\x2b-\x5b\x5e-\x7a\x7c-\x7e]+")
# ASTRING-CHAR = ATOM-CHAR / "]"
ASTRING = re.compile(rb"[\x21\x23\x24\x26\x27\x2b-\x5b\x5d-\x7a\x7c-\x7e]+")
# list-char = ATOM-CHAR / list-wildcards / resp-specials
LIST_CHARS = re.compile(rb"[\x21\x23-\x27\x2a-\x5b\x5d-\x7a\x7c-\x7e]+")
# tag = 1*<any ASTRING-CHAR except "+">
TAG = re.compile(rb"[\x21\x23\x24\x26\x27\x2c-\x5b\x5d-\x7a\x7c-\x7e]+")
NUMBER = re.compile(rb"[0-9]+")
_QUOTED_PLAIN = re.compile(rb'"([^"\\\r\n\x00]*)"')
_QUOTED = re.compile(rb'"((?:[^"\\\r\n\x00]|\\["\\])*)"')
_UNESCAPE = re.compile(rb'\\(["\\])')

# RFC 9051 §2.3.2: system flags are case-insensitive; keep one spelling.
SYSTEM_FLAGS = {
    f.lower(): f
    for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent")
}

#: One literal as framed by the receiver: its octets and whether it was literal8.
LiteralPart = tuple[bytearray, bool]


class Cursor:
    """Position in a framed command; methods consume one grammar token each."""

    __slots__ = ("_index", "_literals", "_segments", "buf", "pos", "utf8")

    def __init__(
        self, segments: Sequence[bytes], literals: Sequence[LiteralPart], utf8: bool = False
    ) -> None:
        self._segments = segments
        self._literals = literals
        self._index = 0
        self.buf = segments[0]
        self.pos = 0
        self.utf8 = utf8

    # -- position ---------------------------------------------------------
    def at_end(self) -> bool:
        return self.pos >= len(self.buf) and self._index >= len(self._literals)

    def at_literal(self) -> bool:
        return self.pos >= len(self.buf) and self._index < len(self._literals)

    def peek(self) -> int:
        """The next octet, or -1 at the end of a segment."""
        return self.buf[self.pos] if self.pos < len(self.buf) else -1

    def skip(self, token: bytes) -> bool:
        if self.buf.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def skip_word(self, word: bytes) -> bool:
        """Consume ``word`` (case-insensitive) if it is followed by SP, ")" or the end."""
        end = self.pos + len(word)
        if self.buf[self.pos : end].upper() != word:
            return False
        if end < len(self.buf) and self.buf[end] not in b" )":
            return False
        self.pos = end
        return True

    def expect(self, token: bytes, what: str | None = None) -> None:
        if not self.buf.startswith(token, self.pos):
            raise ImapBad(f"Expected {what or repr(token.decode())}")
        self.pos += len(token)

    def sp(self) -> None:
        if not self.buf.startswith(b" ", self.pos):
            raise ImapBad("Expected a space" if not self.at_end() else "Missing arguments")
        self.pos += 1

    def end(self) -> None:
        if not self.at_end():
            raise ImapBad("Unexpected extra arguments")

    def match(self, pattern: re.Pattern[bytes]) -> bytes | None:
        m = pattern.match(self.buf, self.pos)
        if m is None:
            return None
        self.pos = m.end()
        return m.group()

    # -- atoms and numbers ---------------------------------------------------
    def atom(self, what: str = "an atom") -> str:
        m = ATOM.match(self.buf, self.pos)
        if m is None:
            raise ImapBad(f"Expected {what}")
        self.pos = m.end()
        return m.group().decode("ascii")

    def keyword(self, what: str = "a keyword") -> str:
        return self.atom(what).upper()

    def number(self, maximum: int = MAX_NUMBER, what: str = "a number") -> int:
        m = NUMBER.match(self.buf, self.pos)
        if m is None:
            raise ImapBad(f"Expected {what}")
        digits = m.group()
        self.pos = m.end()
        if len(digits) > 20 or int(digits) > maximum:
            raise ImapBad(f"{what.capitalize()} is out of range")
        return int(digits)

    def nz_number(self, maximum: int = MAX_NUMBER, what: str = "a number") -> int:
        n = self.number(maximum, what)
        if n == 0:
            raise ImapBad(f"{what.capitalize()} must not be zero")
        return n

    def number64(self, what: str = "a number") -> int:
        return self.number(MAX_NUMBER64, what)

    # -- strings ---------------------------------------------------------------
    def literal(self) -> LiteralPart:
        if not self.at_literal():
            raise ImapBad("Expected a literal")
        lit = self._literals[self._index]
        self._index += 1
        self.buf = self._segments[self._index]
        self.pos = 0
        return lit

    def _string_literal(self) -> bytes:
        data, binary = self.literal()
        if binary:
            raise ImapBad("literal8 is not allowed here")
        if b"\x00" in data:
            raise ImapBad("NUL is not allowed in a string")
        return bytes(data)

    def quoted(self) -> bytes:
        m = _QUOTED_PLAIN.match(self.buf, self.pos)
        if m is not None:
            self.pos = m.end()
            return m.group(1)
        m = _QUOTED.match(self.buf, self.pos)
        if m is None:
            raise ImapBad("Invalid quoted string")
        self.pos = m.end()
        return _UNESCAPE.sub(rb"\1", m.group(1))

    def string(self, what: str = "a string") -> bytes:
        c = self.peek()
        if c == 0x22:
            return self.quoted()
        if c == -1 and self.at_literal():
            return self._string_literal()
        raise ImapBad(f"Expected {what}")

    def astring(self, what: str = "a string") -> bytes:
        c = self.peek()
        if c == 0x22:
            return self.quoted()
        if c == -1 and self.at_literal():
            return self._string_literal()
        m = ASTRING.match(self.buf, self.pos)
        if m is None:
            raise ImapBad(f"Expected {what}")
        self.pos = m.end()
        return m.group()

    def nstring(self, what: str = "a string") -> bytes | None:
        if self.skip_word(b"NIL"):
            return None
        return self.string(what)

    def text(self, raw: bytes) -> str:
        """Decode client text as UTF-8 (a superset of the US-ASCII of IMAP4rev1)."""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ImapBad("Invalid UTF-8 in string") from None

    def astring_text(self, what: str = "a string") -> str:
        return self.text(self.astring(what))

    # -- mailbox names -----------------------------------------------------------
    def decode_mailbox(self, raw: bytes, *, pattern: bool = False) -> str:
        """Wire name -> Unicode name; mUTF-7 unless UTF8=ACCEPT (RFC 6855 §3).

        A name that is not valid modified UTF-7 is well-formed syntax (an
        astring) naming no possible folder: the command is refused with NO,
        not BAD, which is for syntax (RFC 3501 §7.1.3, §5.1.3). A LIST/LSUB
        pattern like it matches nothing (`NO_MATCH`), so the LIST is OK and empty.
        """
        if raw.isascii() and not self.utf8:
            try:
                name = mutf7.decode(raw.decode("ascii"))
            except ValueError as exc:
                if pattern:
                    return NO_MATCH
                raise ImapNo(f"Invalid mailbox name: {exc}", "CANNOT") from None
        else:
            # Without UTF8=ACCEPT 8-bit names are still accepted when they are UTF-8.
            name = self.text(raw)
        if "\x00" in name or "\r" in name or "\n" in name:
            raise ImapBad("Invalid character in mailbox name")
        # RFC 9051 §5.1: INBOX is case-insensitive.
        return "INBOX" if len(name) == 5 and name.upper() == "INBOX" else name

    def mailbox(self) -> str:
        return self.decode_mailbox(self.astring("a mailbox name"))

    def list_mailbox(self) -> str:
        """``list-mailbox = 1*list-char / string`` (RFC 9051 §9)."""
        c = self.peek()
        if c == 0x22 or (c == -1 and self.at_literal()):
            raw = self.string("a mailbox pattern")
        else:
            m = LIST_CHARS.match(self.buf, self.pos)
            if m is None:
                raise ImapBad("Expected a mailbox pattern")
            self.pos = m.end()
            raw = m.group()
        if not raw:
            return ""
        return self.decode_mailbox(raw, pattern=True)

    # -- composites ----------------------------------------------------------------
    def paren_list(self, item: Callable[[], T], allow_empty: bool = True) -> list[T]:
        """``"(" [item *(SP item)] ")"``."""
        self.expect(b"(")
        out: list[T] = []
        if self.skip(b")"):
            if not allow_empty:
                raise ImapBad("Empty list")
            return out
        while True:
            out.append(item())
            if self.skip(b")"):
                return out
            self.sp()

    def flag(self) -> str:
        """``flag`` (RFC 9051 §9): a system flag, ``\\`` atom, or a keyword."""
        if self.skip(b"\\"):
            name = "\\" + self.atom("a flag name")
            return SYSTEM_FLAGS.get(name.lower(), name)
        return self.atom("a flag")

    def flag_list(self) -> tuple[str, ...]:
        return tuple(self.paren_list(self.flag))
