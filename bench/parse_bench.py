"""Timing of postbus.message.parse on a typical message and on a 12 MB one.

Run: .venv/bin/python bench/parse_bench.py
Prints the best of five batches, in microseconds per parse, for a ~5 KB multipart/alternative message with
a realistic header, and milliseconds for a 12 MB message with four base64
attachments, for both `parse` and `parse_full` (which adds search text).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable

from postbus.message import encode_meta, parse, parse_full

TARGET_BIG = 12 * 2**20
ATTACHMENTS = 4
BATCHES = 5


def typical() -> bytes:
    received = b"".join(
        b"Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\r\n"
        b"\tby mail.example.org (Postbus) with ESMTPS id 4Xyz%d\r\n"
        b"\tfor <alice@example.org>; Tue, 1 Jul 2025 10:52:37 +0200\r\n" % (i, i, i, i)
        for i in range(4)
    )
    header = received + (
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=sel;\r\n"
        b"\th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
        b"\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgaXMgbG9uZyBlbm91Z2g=\r\n"
        b"From: =?utf-8?q?Bj=C3=B6rn_Example?= <bjorn@example.net>\r\n"
        b"To: Alice <alice@example.org>, bob@example.org\r\n"
        b"Cc: \"Carol, C.\" <carol@example.com>\r\n"
        b"Subject: Re: [team] Quarterly numbers and the =?utf-8?q?caf=C3=A9?= plan\r\n"
        b"Date: Tue, 1 Jul 2025 10:52:37 +0200\r\n"
        b"Message-ID: <20250701105237.12345@example.net>\r\n"
        b"In-Reply-To: <20250630090000.1@example.org>\r\n"
        b"References: <20250629.1@example.org> <20250630090000.1@example.org>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/alternative; boundary=\"b1_abcdef\"\r\n\r\n"
    )
    text = b"Hello Alice,\r\n\r\n" + b"Here are the numbers we talked about yesterday.\r\n" * 30
    html = (b"<html><head><style>p{margin:0}</style></head><body>"
            + b"<p>Here are the <b>numbers</b> we talked about yesterday.</p>\r\n" * 30
            + b"</body></html>\r\n")
    return (header + b"--b1_abcdef\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + text
            + b"\r\n--b1_abcdef\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
            + b"\r\n--b1_abcdef--\r\n")


def big() -> bytes:
    per_attachment = (TARGET_BIG * 57 // 78) // ATTACHMENTS  # base64 with CRLF: 78 octets per 57
    pieces = [b"From: a@example.net\r\nTo: b@example.org\r\nSubject: big\r\n"
              b"Date: Tue, 1 Jul 2025 10:52:37 +0200\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/mixed; boundary=\"=_big\"\r\n\r\n"
              b"--=_big\r\nContent-Type: text/plain\r\n\r\nSee the attached files.\r\n"]
    for index in range(ATTACHMENTS):
        data = base64.encodebytes(os.urandom(per_attachment)).replace(b"\n", b"\r\n")
        pieces.append(b"--=_big\r\nContent-Type: application/octet-stream; name=\"f%d.bin\"\r\n"
                      b"Content-Transfer-Encoding: base64\r\n"
                      b"Content-Disposition: attachment; filename=\"f%d.bin\"\r\n\r\n"
                      % (index, index) + data)
    pieces.append(b"--=_big--\r\n")
    return b"".join(pieces)


def timed(label: str, func: Callable[[bytes], object], raw: bytes, runs: int, unit: str) -> None:
    """Best of BATCHES batches of `runs` calls (the machine may be shared)."""
    func(raw)
    best = float("inf")
    for _ in range(BATCHES):
        start = time.perf_counter()
        for _ in range(runs):
            func(raw)
        best = min(best, (time.perf_counter() - start) / runs)
    scale, suffix = (1e6, "µs") if unit == "us" else (1e3, "ms")
    print(f"{label:<40} {best * scale:10.1f} {suffix}")


def main() -> None:
    small = typical()
    large = big()
    print(f"typical message: {len(small)} octets; "
          f"meta {len(encode_meta(parse(small)))} octets")
    timed("parse (typical)", parse, small, 2000, "us")
    timed("parse_full (typical)", parse_full, small, 1000, "us")
    print(f"big message: {len(large)} octets, {ATTACHMENTS} attachments")
    timed("parse (12 MB)", parse, large, 5, "ms")
    timed("parse_full (12 MB)", parse_full, large, 5, "ms")


if __name__ == "__main__":
    main()
