"""RFC 3461 §4 xtext, the encoding of DSN and AUTH= parameter values.

    xtext   = *( xchar / hexchar )
    xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except "+" and "="
    hexchar = "+" 2(%x30-39 / %x41-46)     ; upper-case hex only

`decode_xtext` is strict (lower-case hex, a lone "+", "=" or any other octet are
errors) and returns the decoded text as UTF-8; `encode_xtext` is its inverse.
"""

from __future__ import annotations

_HEX = frozenset("0123456789ABCDEF")


class XtextError(ValueError):
    """The value is not valid xtext (or does not decode to UTF-8)."""


def decode_xtext(value: str) -> str:
    if "+" not in value:
        if not _plain(value):
            raise XtextError("invalid xtext")
        return value
    out = bytearray()
    i = 0
    while i < len(value):
        c = value[i]
        if c == "+":
            pair = value[i + 1 : i + 3]
            if len(pair) != 2 or not set(pair) <= _HEX:
                raise XtextError("invalid xtext hex escape")
            out.append(int(pair, 16))
            i += 3
            continue
        if not ("!" <= c <= "~") or c == "=":
            raise XtextError("invalid xtext character")
        out.append(ord(c))
        i += 1
    try:
        return out.decode()
    except UnicodeDecodeError as exc:
        raise XtextError("xtext does not decode to UTF-8") from exc


def encode_xtext(text: str) -> str:
    out: list[str] = []
    for byte in text.encode():
        if 33 <= byte <= 126 and byte not in (0x2B, 0x3D):  # not "+" or "="
            out.append(chr(byte))
        else:
            out.append(f"+{byte:02X}")
    return "".join(out)


def _plain(value: str) -> bool:
    return all("!" <= c <= "~" and c != "=" for c in value)
