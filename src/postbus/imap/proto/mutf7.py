"""Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).

IMAP4rev1 clients that have not enabled ``UTF8=ACCEPT`` (RFC 6855) exchange
mailbox names in this encoding: printable US-ASCII stands for itself, ``&`` is
written ``&-``, and every other run of characters is UTF-16BE in base64 with
``,`` instead of ``/``, no padding, between ``&`` and ``-``.

Invariant: :func:`decode` accepts only the canonical form that :func:`encode`
produces, so ``encode(decode(s)) == s`` for every accepted ``s`` and one
mailbox can never be reached under two spellings.
"""

import base64
import binascii
import re

_PRINTABLE_RUN = re.compile(r"[\x20-\x7e]+|[^\x20-\x7e]+")
_PLAIN = re.compile(r"[\x20-\x25\x27-\x7e]*")
_SHIFTED = re.compile(r"&([A-Za-z0-9+,]*)-")


def _encode_run(run: str) -> str:
    raw = base64.b64encode(run.encode("utf-16-be", "surrogatepass"))
    return "&" + raw.rstrip(b"=").replace(b"/", b",").decode("ascii") + "-"


def encode(name: str) -> str:
    """Encode a Unicode mailbox name to modified UTF-7."""
    if _PLAIN.fullmatch(name):
        return name
    out = []
    for m in _PRINTABLE_RUN.finditer(name):
        run = m.group()
        if run[0] >= "\x20" and run[0] <= "\x7e":
            out.append(run.replace("&", "&-"))
        else:
            out.append(_encode_run(run))
    return "".join(out)


def decode(name: str) -> str:
    """Decode a modified UTF-7 mailbox name; ValueError if it is not canonical."""
    if _PLAIN.fullmatch(name):
        return name
    out = []
    pos = 0
    while True:
        amp = name.find("&", pos)
        plain = name[pos:] if amp < 0 else name[pos:amp]
        if not _PLAIN.fullmatch(plain):
            raise ValueError("mailbox name has characters outside printable US-ASCII")
        out.append(plain)
        if amp < 0:
            break
        m = _SHIFTED.match(name, amp)
        if m is None:
            raise ValueError("unterminated or invalid '&' sequence in mailbox name")
        b64 = m.group(1)
        if not b64:
            out.append("&")
        else:
            padded = b64.replace(",", "/") + "=" * (-len(b64) % 4)
            try:
                raw = base64.b64decode(padded, validate=True)
                out.append(raw.decode("utf-16-be"))
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise ValueError("invalid base64 run in mailbox name") from exc
        pos = m.end()
    result = "".join(out)
    if encode(result) != name:
        raise ValueError("mailbox name is not in canonical modified UTF-7")
    return result
