"""DKIM (RFC 6376): per-domain RSA keys, signing outbound mail, verifying inbound mail.

Signing is ours up to the bytes to sign: header and body canonicalisation
(relaxed/relaxed, §3.4.2 and §3.4.4) and the tag list; the RSA signature itself
is computed by `cryptography` (0.5 ms per message against dkimpy's 9 ms
pure-Python RSA). Verification is dkimpy's, fed from DNS records fetched
asynchronously beforehand, run in the executor: dkimpy never touches the
network. dkimpy is also the test oracle for our signatures.

Invariants: a message is signed in the form it is transmitted in, its line
endings made CRLF first exactly as the SMTP client does; `verify` never raises
on any message, every signature gets one result.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import functools
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import dkim as dkimpy
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from postbus import executor
from postbus.executor import CPU
from postbus.mailauth.resolver import DnsTempError, Resolver, normalize_name

KEY_BITS = 2048
# RFC 6376 §5.4.1: the header fields a signer SHOULD sign, when present.
DEFAULT_SIGNED_HEADERS: tuple[str, ...] = (
    "from", "reply-to", "subject", "date", "to", "cc", "resent-date", "resent-from",
    "resent-to", "resent-cc", "in-reply-to", "references", "list-id", "list-help",
    "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive",
    "message-id", "mime-version", "content-type", "content-transfer-encoding",
)
# Listed once more than present, so that a From added in transit breaks the
# signature (RFC 6376 §8.15, "over-signing").
OVERSIGNED_HEADERS = frozenset({"from"})
MAX_VERIFIED_SIGNATURES = 5  # signatures checked per inbound message; the rest are ignored
MIN_KEY_BITS = 1024  # RFC 8301 §3.2
FOLD_WIDTH = 76
KEY_CACHE_SIZE = 256

_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")
_WSP_RUN = re.compile(rb"\t[ \t]*| [ \t]+")  # runs to fold; a lone SP is left alone (fast)


# -- keys ------------------------------------------------------------------------

def generate_key() -> str:
    """A new RSA private key as PEM (CPU-bound: call it in an executor)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def selector_for_today() -> str:
    """Selectors name the key's month, so a rotated key gets a new DNS name."""
    return "pb" + datetime.datetime.now(datetime.UTC).strftime("%Y%m")


def public_key_b64(private_pem: str) -> str:
    der = _load_key(private_pem).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def dns_txt_record(private_pem: str) -> str:
    """The TXT value for <selector>._domainkey.<domain> (RFC 6376 §3.6.1)."""
    return f"v=DKIM1; k=rsa; p={public_key_b64(private_pem)}"


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _load_key(private_pem: str) -> rsa.RSAPrivateKey:
    # Parsing a PEM key with its consistency checks costs more than signing:
    # keys are few (one per domain), so they are parsed once.
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("DKIM keys must be RSA keys")
    return key


# -- canonicalisation (RFC 6376 §3.4) ---------------------------------------------

def crlf(message: bytes) -> bytes:
    """Line endings as the SMTP client sends them: every CR, LF or CRLF becomes CRLF."""
    n = message.count(b"\r\n")
    if message.count(b"\n") == n and message.count(b"\r") == n:
        return message
    return _LINE_ENDINGS.sub(b"\r\n", message)


def split_message(message: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """(header fields as (name, raw value with folding), body) of a CRLF message.
    A message without an empty line is all header (RFC 5322 §2.1)."""
    end = message.find(b"\r\n\r\n")
    if message.startswith(b"\r\n"):
        head, body = b"", message[2:]
    elif end < 0:
        head, body = message, b""
    else:
        head, body = message[: end + 2], message[end + 4 :]
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        elif b":" in line:
            name, _, value = line.partition(b":")
            fields.append((name, value))
    return fields, body


def relaxed_header(name: bytes, value: bytes) -> bytes:
    """RFC 6376 §3.4.2: lowercase name, unfolded value, WSP runs as one SP,
    no WSP around the colon or at the end; with CRLF."""
    value = _WSP_RUN.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return name.strip(b" \t").lower() + b":" + value + b"\r\n"


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 §3.4.4: WSP at line ends removed, WSP runs as one SP, empty
    lines at the end removed; a non-empty body ends with CRLF. A last line
    without CRLF keeps its trailing WSP, as dkimpy and OpenDKIM do (SMTP mail
    always ends in CRLF, so this only matters for the oracle). Line by line:
    whole-body regular expressions cost 100+ ms on a megabyte."""
    lines = body.split(b"\r\n")
    last = lines.pop()  # the text after the final CRLF: b"" for SMTP mail
    out = []
    for line in lines:
        if b"\t" in line or b"  " in line:
            line = _WSP_RUN.sub(b" ", line)
        out.append(line.rstrip(b" "))
    if last:
        if b"\t" in last or b"  " in last:
            last = _WSP_RUN.sub(b" ", last)
        out.append(last)
    else:
        while out and not out[-1]:
            out.pop()
    return b"\r\n".join(out) + b"\r\n" if out else b""


def select_headers(
    fields: Sequence[tuple[bytes, bytes]], names: Sequence[str]
) -> list[tuple[bytes, bytes]]:
    """RFC 6376 §5.4.2: each listed name takes the last instance not yet taken,
    from the bottom up; a name listed more often than present takes nothing."""
    used: set[int] = set()
    chosen = []
    for name in names:
        for i in range(len(fields) - 1, -1, -1):
            if i not in used and fields[i][0].strip(b" \t").lower() == name.encode():
                used.add(i)
                chosen.append(fields[i])
                break
    return chosen


# -- signing ------------------------------------------------------------------------

def sign(
    message: bytes,
    *,
    domain: str,
    selector: str,
    private_pem: str,
    headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
    timestamp: int | None = None,
) -> bytes:
    """The `DKIM-Signature: ...\\r\\n` header field to put on top of `message`,
    rsa-sha256, c=relaxed/relaxed (CPU-bound past a few hundred KB: executor)."""
    fields, body = split_message(crlf(message))
    present = [f[0].strip(b" \t").lower().decode("ascii", "replace") for f in fields]
    names: list[str] = []
    for name in dict.fromkeys(h.lower() for h in headers):
        count = present.count(name)
        names += [name] * (count + (1 if name in OVERSIGNED_HEADERS else 0))
    if "from" not in names:
        names.insert(0, "from")  # RFC 6376 §5.4: From MUST be signed
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest()).decode()
    tags = [
        "v=1", "a=rsa-sha256", "c=relaxed/relaxed", f"d={domain}", f"s={selector}",
        f"t={int(time.time()) if timestamp is None else timestamp}",
        "h=" + ":".join(names), f"bh={body_hash}",
    ]
    unsigned = _fold_tags(tags) + "b="
    data = b"".join(relaxed_header(n, v) for n, v in select_headers(fields, names))
    # RFC 6376 §3.7: the signature field itself last, b= empty, without its CRLF.
    data += relaxed_header(b"dkim-signature", unsigned.encode())[:-2]
    signature = _load_key(private_pem).sign(data, padding.PKCS1v15(), hashes.SHA256())
    b64 = base64.b64encode(signature).decode()
    folded = "\r\n\t".join(b64[i : i + FOLD_WIDTH - 8] for i in range(0, len(b64), FOLD_WIDTH - 8))
    return ("DKIM-Signature: " + unsigned + folded + "\r\n").encode()


def _fold_tags(tags: Sequence[str]) -> str:
    out, width = "", len("DKIM-Signature: ")
    for tag in tags:
        piece = tag + "; "
        if width + len(piece) > FOLD_WIDTH and out:
            out = out.rstrip(" ") + "\r\n\t"
            width = 8
        out += piece
        width += len(piece)
    return out.rstrip(" ") + "\r\n\t"


# -- verification ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DkimResult:
    """One signature's outcome in RFC 8601 terms."""

    result: str  # pass | fail | neutral | temperror | permerror
    domain: str = ""
    selector: str = ""
    reason: str = ""


def signature_tags(value: bytes) -> dict[str, str]:
    """A DKIM-Signature tag list (RFC 6376 §3.2), leniently: bad tags are dropped."""
    tags: dict[str, str] = {}
    for part in value.decode("utf-8", "replace").split(";"):
        name, eq, tag_value = part.partition("=")
        if eq:
            tags.setdefault(name.strip(), re.sub(r"\s+", "", tag_value))
    return tags


async def verify(message: bytes, resolver: Resolver) -> list[DkimResult]:
    """One result per DKIM-Signature (the first MAX_VERIFIED_SIGNATURES); an
    empty list when the message has none. Key records are fetched here,
    concurrently; dkimpy then checks in the executor."""
    message = crlf(message)
    fields, _ = split_message(message)
    sigs = [v for n, v in fields if n.strip().lower() == b"dkim-signature"]
    sigs = sigs[:MAX_VERIFIED_SIGNATURES]
    if not sigs:
        return []
    parsed = [signature_tags(v) for v in sigs]
    names = {normalize_name(f"{t.get('s', '')}._domainkey.{t.get('d', '')}") for t in parsed
             if t.get("s") and t.get("d")}
    records: dict[str, list[str] | DnsTempError] = {}

    async def fetch(name: str) -> None:
        try:
            records[name] = await resolver.txt(name)
        except DnsTempError as exc:
            records[name] = exc

    await asyncio.gather(*(fetch(n) for n in names))
    return await executor.run(CPU, _verify_all, message, parsed, records)


def _verify_all(
    message: bytes, parsed: list[dict[str, str]], records: dict[str, list[str] | DnsTempError]
) -> list[DkimResult]:
    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        found = records.get(normalize_name(name.decode("ascii", "replace")))
        if isinstance(found, list) and len(found) == 1:
            return found[0].encode()
        return None

    results = []
    for idx, tags in enumerate(parsed):
        domain, selector = tags.get("d", ""), tags.get("s", "")
        found = records.get(normalize_name(f"{selector}._domainkey.{domain}"))
        if not domain or not selector:
            outcome = DkimResult("permerror", domain, selector, "signature lacks d= or s=")
        elif isinstance(found, DnsTempError):
            outcome = DkimResult("temperror", domain, selector, "key lookup failed")
        elif not found:
            outcome = DkimResult("permerror", domain, selector, "no key published")
        elif len(found) > 1:
            outcome = DkimResult("permerror", domain, selector, "several key records")
        else:
            outcome = _verify_one(message, idx, dnsfunc, domain, selector)
        results.append(outcome)
    return results


def _verify_one(message: bytes, idx: int, dnsfunc: object, domain: str, selector: str) -> DkimResult:
    checker = dkimpy.DKIM(message, minkey=MIN_KEY_BITS)
    try:
        ok = checker.verify(idx=idx, dnsfunc=dnsfunc)
    except dkimpy.ValidationError as exc:
        return DkimResult("fail", domain, selector, str(exc))
    except dkimpy.DKIMException as exc:
        return DkimResult("permerror", domain, selector, str(exc))
    if ok:
        return DkimResult("pass", domain, selector)
    return DkimResult("fail", domain, selector, "signature did not verify")
