"""Pebble, the ACME test server from Debian's `pebble` package, on loopback.

Its HTTPS API gets a certificate from a trustme CA (the Debian package ships
no test certificates); `ca_bundle` is that CA, for the ACME client. Pebble
validates HTTP-01 on `http_port` and TLS-ALPN-01 on `tls_port` of the name
being validated ("localhost"): the test points them at the server's own
listeners. Validation runs without Pebble's random sleeps and no nonce is
rejected on purpose.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests.support.tools import require_tool

START_TIMEOUT = 30.0


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (for a process whose port
    must be known before it starts: Pebble's validation ports point at it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Pebble:
    directory: str
    management: str
    ca_bundle: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def _get(self, path: str) -> bytes:
        ctx = ssl.create_default_context(cafile=str(self.ca_bundle))
        with urllib.request.urlopen(self.management + path, context=ctx, timeout=10) as resp:
            data: bytes = resp.read()
            return data

    def roots_pem(self) -> bytes:
        """The roots that issued certificates chain to (regenerated at every start)."""
        return self._get("/roots/0")


@contextmanager
def running_pebble(directory: Path, *, http_port: int, tls_port: int) -> Iterator[Pebble]:
    binary = require_tool("pebble")
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, bundle = directory / "pebble.crt", directory / "pebble.key", directory / "ca.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    ca.cert_pem.write_to_path(str(bundle))
    api, management = free_port(), free_port()
    config = directory / "pebble-config.json"
    config.write_text(json.dumps({"pebble": {
        "listenAddress": f"127.0.0.1:{api}",
        "managementListenAddress": f"127.0.0.1:{management}",
        "certificate": str(cert), "privateKey": str(key),
        "httpPort": http_port, "tlsPort": tls_port,
        "ocspResponderURL": "", "externalAccountBindingRequired": False,
    }}))
    log = directory / "pebble.log"
    env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "-config", str(config), "-strict=false"],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    pebble = Pebble(f"https://127.0.0.1:{api}/dir", f"https://127.0.0.1:{management}", bundle,
                    proc, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", api), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("pebble did not start: " + log.read_text()[-2000:]) from None
                time.sleep(0.05)
        yield pebble
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
