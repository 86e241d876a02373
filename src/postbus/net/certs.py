"""The server's certificate, swapped without a restart and without dropping connections.

Every TLS listener (implicit TLS, STARTTLS, and uvicorn's https) hands its
handshakes the one *front* context (`Certificates.front`). Its SNI callback,
which OpenSSL runs on every ClientHello, with or without a server name, moves
the handshake to the *current* context (`SSLObject.context = ...`, that is
SSL_set_SSL_CTX): the certificate and key come from there, while protocol
versions and ciphers are the front's (both are made by `tls.server_context`).
Swapping the certificate is replacing `current`: handshakes that start
afterwards get the new one; connections established before keep theirs,
since an established TLS session never looks at its context's certificate
again.

Where the certificate comes from:
- configured files (`[tls] cert`, `key`): re-read on SIGHUP (`reload`) and
  when their mtime changes (`watch`, every `[tls] watch_interval`); a file
  that does not load is logged and the old certificate kept;
- ACME (`postbus.acme`): `install_pem` with the issued chain and key;
- otherwise the self-signed certificate in data_dir (also while ACME has
  issued none yet).

TLS-ALPN-01 (RFC 8737): a ClientHello that offers the ALPN protocol
"acme-tls/1" for a name with a pending challenge gets that challenge's
certificate (`challenge_contexts`). The ALPN list is read from the ClientHello
itself (the context's message callback, which runs before the SNI callback),
because Python's ssl module has no ALPN selection hook; every other
ClientHello for that name gets the real certificate, as RFC 8737 §4 requires.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
import ssl
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509

from postbus.net.tls import ensure_self_signed, server_context
from postbus.security import files

log = logging.getLogger(__name__)

ACME_TLS_ALPN = "acme-tls/1"  # RFC 8737 §6.2
ACME_CERT_NAME = "acme.crt"
ACME_KEY_NAME = "acme.key"
ACME_LOCK_NAME = "acme.lock"  # held while a process writes (and reads back) the two files
# A ClientHello bigger than this is not searched for ALPN (it is still served).
MAX_CLIENT_HELLO = 16384
_HANDSHAKE_CLIENT_HELLO = 1
_EXT_SERVER_NAME_ALPN = 16  # RFC 7301 §3.1


def client_hello_alpn(data: bytes) -> list[bytes]:
    """The ALPN protocol names a ClientHello handshake message offers (RFC 8446 §4.1.2,
    RFC 7301 §3.1); empty when it offers none or does not parse."""
    try:
        if len(data) > MAX_CLIENT_HELLO or data[0] != _HANDSHAKE_CLIENT_HELLO:
            return []
        pos = 4 + 2 + 32  # type, length; legacy_version; random
        pos += 1 + data[pos]  # legacy_session_id
        pos += 2 + int.from_bytes(data[pos:pos + 2])  # cipher_suites
        pos += 1 + data[pos]  # legacy_compression_methods
        end = pos + 2 + int.from_bytes(data[pos:pos + 2])
        pos += 2
        while pos + 4 <= end:
            kind = int.from_bytes(data[pos:pos + 2])
            size = int.from_bytes(data[pos + 2:pos + 4])
            body = data[pos + 4:pos + 4 + size]
            pos += 4 + size
            if kind == _EXT_SERVER_NAME_ALPN:
                names, i = [], 2
                while i < len(body):
                    n = body[i]
                    names.append(body[i + 1:i + 1 + n])
                    i += 1 + n
                return names
    except IndexError:
        pass
    return []


def not_after(cert_path: Path) -> float:
    """When the (first) certificate in a PEM file expires, as a timestamp; 0 if it does not parse."""
    try:
        return x509.load_pem_x509_certificate(cert_path.read_bytes()).not_valid_after_utc.timestamp()
    except (OSError, ValueError):
        return 0.0


class Certificates:
    """The current certificate of every TLS listener (see the module docstring)."""

    def __init__(self, cert: str, key: str, data_dir: Path, hostname: str, *,
                 acme: bool = False) -> None:
        self.cert_file = cert
        self.key_file = key
        self.acme = acme
        self.data_dir = data_dir
        self.hostname = hostname
        self.current, cert_path = self._load_files()
        self.not_after = not_after(cert_path)  # of the certificate in use (metrics, logs)
        self.front = self._front()
        # name -> context serving that name's TLS-ALPN-01 challenge certificate
        self.challenge_contexts: dict[str, ssl.SSLContext] = {}
        self._alpn: weakref.WeakKeyDictionary[Any, list[bytes]] = weakref.WeakKeyDictionary()
        self._mtimes = self._file_mtimes()
        self.on_swap: list[Callable[[], None]] = []

    # -- loading ----------------------------------------------------------------
    def _load_files(self) -> tuple[ssl.SSLContext, Path]:
        """The context from the configured, ACME or self-signed files, and its certificate file."""
        if self.cert_file and self.key_file:
            return server_context(Path(self.cert_file), Path(self.key_file)), Path(self.cert_file)
        acme_cert, acme_key = self.acme_paths()
        if self.acme and acme_cert.exists() and acme_key.exists():
            try:
                return server_context(acme_cert, acme_key), acme_cert
            except (OSError, ssl.SSLError) as exc:
                log.warning("tls: the ACME certificate in %s does not load (%s);"
                            " using the self-signed one", acme_cert, exc)
        cert, key = ensure_self_signed(self.data_dir, self.hostname)
        return server_context(cert, key), cert

    def acme_paths(self) -> tuple[Path, Path]:
        return self.data_dir / "tls" / ACME_CERT_NAME, self.data_dir / "tls" / ACME_KEY_NAME

    def _front(self) -> ssl.SSLContext:
        front = self._load_files()[0]
        front.sni_callback = self._select
        # a private but documented-in-source hook (ssl.py: _msg_callback); see the docstring
        front._msg_callback = self._message  # type: ignore[attr-defined]
        return front

    def _swap(self, ctx: ssl.SSLContext, cert_path: Path, why: str) -> None:
        self.current = ctx
        self.not_after = not_after(cert_path)
        log.info("tls: new certificate in use (%s)", why)
        for callback in self.on_swap:
            callback()

    def reload(self) -> bool:
        """Re-reads the certificate files (SIGHUP); keeps the old certificate if they do not load."""
        try:
            ctx, cert_path = self._load_files()
        except (OSError, ssl.SSLError) as exc:
            log.error("tls: certificate not reloaded, keeping the old one: %s", exc)
            return False
        self._mtimes = self._file_mtimes()
        self._swap(ctx, cert_path, f"reloaded {self.cert_file or 'the certificate in data_dir'}")
        return True

    def install_pem(self, chain_pem: bytes, key_pem: bytes, why: str) -> None:
        """Writes an issued chain and key to data_dir/tls/acme.* and serves them.

        Every worker process installs the certificate it finds in the store, so
        several may write these files at once: each writes temporary files of its
        own, and the pair is written and read back under an exclusive lock
        (`ACME_LOCK_NAME`), so that no process replaces the key between another's
        key and certificate."""
        cert_path, key_path = self.acme_paths()
        files.private_dir(cert_path.parent)
        with files.open_private(cert_path.parent / ACME_LOCK_NAME, truncate=False) as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released as the file closes
            for path, data in ((key_path, key_pem), (cert_path, chain_pem)):
                tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
                try:
                    with files.open_private(tmp) as f:
                        f.write(data)
                        f.flush()
                        os.fsync(f.fileno())
                    os.replace(tmp, path)
                finally:
                    tmp.unlink(missing_ok=True)
            ctx = server_context(cert_path, key_path)  # raises before the swap if it does not load
        self._swap(ctx, cert_path, why)

    def add_challenge(self, name: str, cert_pem: bytes, key_pem: bytes) -> None:
        """Serves a TLS-ALPN-01 certificate to validation handshakes for `name` (RFC 8737 §3)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_alpn_protocols([ACME_TLS_ALPN])  # §3: the server must negotiate acme-tls/1
        directory = self.data_dir / "tls"
        files.private_dir(directory)
        pem = directory / f"challenge-{secrets.token_hex(8)}.pem"
        try:
            with files.open_private(pem) as f:
                f.write(key_pem + cert_pem)
            ctx.load_cert_chain(pem)
        finally:
            pem.unlink(missing_ok=True)
        self.challenge_contexts[name.lower().rstrip(".")] = ctx

    def remove_challenge(self, name: str) -> None:
        self.challenge_contexts.pop(name.lower().rstrip("."), None)

    # -- SIGHUP and the file watch -----------------------------------------------------
    def _file_mtimes(self) -> tuple[float, float]:
        if not (self.cert_file and self.key_file):
            return (0.0, 0.0)
        try:
            return (os.stat(self.cert_file).st_mtime, os.stat(self.key_file).st_mtime)
        except OSError:
            return (0.0, 0.0)

    async def watch(self, interval: float) -> None:
        """Reloads the configured files when their mtime changes (polled every `interval`)."""
        while True:
            await asyncio.sleep(interval)
            mtimes = self._file_mtimes()
            if mtimes != self._mtimes and mtimes != (0.0, 0.0):
                self._mtimes = mtimes
                self.reload()

    # -- the handshake hooks (called by OpenSSL, on the event loop) ----------------------
    def _message(self, conn: Any, direction: str, version: Any, content_type: Any,
                 msg_type: Any, data: bytes) -> None:
        if (direction == "read" and self.challenge_contexts
                and msg_type == ssl._TLSMessageType.CLIENT_HELLO):  # type: ignore[attr-defined]
            self._alpn[conn] = client_hello_alpn(data)

    def _select(self, obj: ssl.SSLObject | ssl.SSLSocket, name: str | None,
                _ctx: ssl.SSLContext) -> None:
        if self.challenge_contexts:
            offered = self._alpn.pop(obj, [])
            challenge = self.challenge_contexts.get((name or "").lower().rstrip("."))
            if challenge is not None and ACME_TLS_ALPN.encode() in offered:
                obj.context = challenge  # RFC 8737 §3: the validation handshake
                return
        obj.context = self.current
