"""SPF macros (RFC 7208 §7): syntax checks and expansion of macro-strings.

Pure functions, no DNS: the caller passes the values of the macro letters
(the `p` letter, the only one that needs DNS, is looked up by the caller
beforehand when the string uses it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

# RFC 7208 §7.1: c, r and t are only valid in "exp" explanations, which we ignore.
MACRO_LETTERS = frozenset("slodiphv")
EXP_ONLY_LETTERS = frozenset("crt")
DELIMITERS = ".-+,/_="
MAX_DOMAIN_LENGTH = 253  # RFC 7208 §7.3 truncation point

_EXPAND = re.compile(r"\{([A-Za-z])(\d*)(r?)([.\-+,/_=]*)\}", re.IGNORECASE)
_TOPLABEL = re.compile(r"(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])")


class MacroError(ValueError):
    """A macro-string that does not follow RFC 7208 §7.1 (permerror)."""


def _tokens(text: str) -> list[tuple[str, str, int, bool, str]]:
    """("lit", text, ...) or ("mac", letter, digits, reverse, delimiters)."""
    out: list[tuple[str, str, int, bool, str]] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "%":
            if not ("\x21" <= c <= "\x7e"):
                raise MacroError(f"character {c!r} is not allowed in a macro-string")
            out.append(("lit", c, 0, False, ""))
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt in ("%", "_", "-"):
            out.append(("lit", {"%": "%", "_": " ", "-": "%20"}[nxt], 0, False, ""))
            i += 2
            continue
        m = _EXPAND.match(text, i + 1)
        if not m:
            raise MacroError(f"bad macro at {text[i:i + 12]!r}")
        letter, digits, reverse, delims = m.groups()
        if letter.lower() not in MACRO_LETTERS:
            raise MacroError(f"macro letter {letter!r} is not allowed here")
        if digits and int(digits) == 0:
            raise MacroError("a macro cannot keep zero labels")
        out.append(("mac", letter, int(digits or 0), bool(reverse), delims or "."))
        i = m.end()
    return out


def letters_used(text: str) -> set[str]:
    return {t[1].lower() for t in _tokens(text) if t[0] == "mac"}


def check_macro_string(text: str) -> None:
    _tokens(text)


def check_domain_spec(text: str) -> None:
    """RFC 7208 §7.1 domain-spec = macro-string domain-end."""
    tokens = _tokens(text)
    if not tokens:
        raise MacroError("empty domain-spec")
    if tokens[-1][0] == "mac" or text.endswith(("%%", "%_", "%-")):
        return
    literal = text.rstrip(".") if text.endswith(".") else text
    _, dot, top = literal.rpartition(".")
    if not dot or "%" in top or not _TOPLABEL.fullmatch(top):
        raise MacroError(f"{text!r} does not end in a top-level label")


def expand(text: str, values: Mapping[str, str]) -> str:
    out = []
    for kind, value, digits, reverse, delims in _tokens(text):
        if kind == "lit":
            out.append(value)
            continue
        parts = re.split("[" + re.escape(delims) + "]", values[value.lower()])
        if reverse:
            parts.reverse()
        if digits:
            parts = parts[-digits:]
        piece = ".".join(parts)
        if value.isupper():
            piece = quote(piece, safe="-._~")  # RFC 7208 §7.3: upper case means URL-escaped
        out.append(piece)
    return "".join(out)


def expand_domain(text: str, values: Mapping[str, str]) -> str:
    """Expanded, without a trailing dot, truncated from the left to 253 characters."""
    name = expand(text, values).rstrip(".")
    while len(name) > MAX_DOMAIN_LENGTH and "." in name:
        name = name.partition(".")[2]
    return name
