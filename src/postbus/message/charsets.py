"""Turning octets in a declared charset into text, never failing.

Mail declares charsets loosely: unknown names, "us-ascii" parts full of
8-bit octets, iso-8859-1 that is really windows-1252. The rules, in order:

* a name Python does not know as a text encoding, or no name at all: UTF-8
  if the octets are valid UTF-8, else windows-1252;
* us-ascii is read the same way (8-bit octets in "ascii" text are usually
  UTF-8 or windows-1252), and iso-8859-1/latin1 as windows-1252, as the
  WHATWG Encoding Standard does;
* anything else with its codec and errors replaced by U+FFFD.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

_SNIFF = "sniff"
_ALIASES = {
    "us-ascii": _SNIFF,
    "ascii": _SNIFF,
    "us_ascii": _SNIFF,
    "ansi_x3.4-1968": _SNIFF,
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "x-unknown": _SNIFF,
    "unknown-8bit": _SNIFF,
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "utf8": "utf-8",
}


@lru_cache(maxsize=256)
def codec_for(charset: str | None) -> str:
    """The Python codec name to read `charset` with, or "sniff"."""
    if not charset:
        return _SNIFF
    name = charset.strip().strip('"').lower()
    # RFC 2231 §5 allows a language suffix on encoded-word charsets: "utf-8*en".
    name = name.split("*", 1)[0]
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return _SNIFF
    if not getattr(info, "_is_text_encoding", True):  # base64_codec, zlib_codec ...
        return _SNIFF
    if info.name in ("idna", "punycode", "raw-unicode-escape", "unicode-escape"):
        return _SNIFF
    return info.name


def decode_text(data: bytes, charset: str | None) -> str:
    """`data` as text in `charset`, by the rules in the module docstring."""
    codec = codec_for(charset)
    if codec != _SNIFF:
        try:
            return data.decode(codec, "replace")
        except (UnicodeError, LookupError, ValueError, TypeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")
