"""COMPRESS=DEFLATE (RFC 4978) driven by real clients against `postbus serve` over TLS:
Python's imaplib with its socket wrapped in zlib (raw DEFLATE both ways, as RFC 4978
§4 asks, Z_SYNC_FLUSH after each command), and mbsync, which compresses on its own.
(Debian's neomutt is built without zlib: it has no ``imap_deflate``.)"""

from __future__ import annotations

import imaplib
import io
import socket
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_imap_mbsync import mbsyncrc, messages, normal
from tests.support.server import ServerProcess
from tests.support.tools import require_tool
from tests.unit.imap.harness import PASSWORD, USER, fetched, message, served, tls_context


class _Inflating(io.RawIOBase):
    """The server's DEFLATE stream read from the socket, inflated."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inflater = zlib.decompressobj(-15)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while True:
            tail = self.inflater.unconsumed_tail
            data = self.inflater.decompress(tail, len(buffer)) if tail else b""
            if not data:
                raw = self.sock.recv(65536)
                if not raw:
                    return 0
                data = self.inflater.decompress(raw, len(buffer))
            if data:
                buffer[:len(data)] = data
                return len(data)


# RFC 4978 §3: COMPRESS is valid once authenticated (imaplib's xatom would allow
# it only in the state of its first use).
imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


class DeflatingIMAP4(imaplib.IMAP4_SSL):
    """imaplib with COMPRESS DEFLATE: everything after the OK is raw DEFLATE."""

    deflater: zlib._Compress | None = None

    def compress(self) -> tuple[str, list[bytes]]:
        typ, data = self.xatom("COMPRESS", "DEFLATE")  # imaplib's way to an extension
        if typ == "OK":
            self.deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
            self.file = io.BufferedReader(_Inflating(self.sock))
        return typ, data

    def send(self, data: bytes) -> None:
        if self.deflater is not None:
            data = self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with served(tmp_path_factory.mktemp("compress"), loop="uvloop") as running:
        yield running


def test_imaplib_with_compress_deflate_reads_messages_byte_for_byte(server: ServerProcess
                                                                    ) -> None:
    big = message("big", body="".join(f"line {n} of a long message\r\n" for n in range(40000)))
    with DeflatingIMAP4("127.0.0.1", server.port("imaps"), ssl_context=tls_context(),
                        timeout=30) as imap:
        assert imap.login(USER, PASSWORD)[0] == "OK"
        assert "COMPRESS=DEFLATE" in imap.capabilities
        date = imaplib.Time2Internaldate(time.time())
        assert imap.append("INBOX", "", date, message("before"))[0] == "OK"
        assert imap.compress() == ("OK", [b"DEFLATE active"])
        assert imap.append("INBOX", "", date, big)[0] == "OK"  # sent compressed
        assert imap.select("INBOX") == ("OK", [b"2"])
        assert fetched(imap, "1", "(BODY.PEEK[])")[1] == message("before")
        assert fetched(imap, "2", "(BODY.PEEK[])")[1] == big
        assert imap.search(None, "SUBJECT", "big") == ("OK", [b"2"])
        typ, data = imap.xatom("COMPRESS", "DEFLATE")
        assert typ == "NO" and data == [b"[COMPRESSIONACTIVE] DEFLATE is already active"]
        assert imap.noop()[0] == "OK"
        assert imap.logout()[0] == "BYE"  # the BYE is flushed before the close


def test_mbsync_syncs_over_compress_deflate(tmp_path: Path) -> None:
    """isync 1.4 uses COMPRESS=DEFLATE whenever the server offers it (its -Dn trace
    shows the command); a large message arrives intact both ways."""
    binary = require_tool("mbsync")
    big = message("big", body="".join(f"row {n}: some text\r\n" for n in range(30000)))
    with served(tmp_path) as server:
        with imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=tls_context(),
                               timeout=30) as imap:
            imap.login(USER, PASSWORD)
            imap.append("INBOX", "", imaplib.Time2Internaldate(time.time()), big)
        rc = mbsyncrc(tmp_path, server, "PLAIN")
        local = message("from the near side")
        (tmp_path / "mail" / "Outbox" / "new").mkdir(parents=True)
        for sub in ("cur", "tmp"):
            (tmp_path / "mail" / "Outbox" / sub).mkdir()
        (tmp_path / "mail" / "Outbox" / "new" / "1.local").write_bytes(local)
        result = subprocess.run([binary, "-Dn", "-c", str(rc), "-a"], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "COMPRESS DEFLATE" in result.stdout + result.stderr
        assert messages(tmp_path / "mail" / "INBOX") == [normal(big)]
        with imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=tls_context(),
                               timeout=30) as imap:
            imap.login(USER, PASSWORD)
            assert imap.select("Outbox") == ("OK", [b"1"])
            _, raw = fetched(imap, "1", "(BODY.PEEK[])")
            assert normal(raw) == normal(local)
