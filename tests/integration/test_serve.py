"""`postbus serve`: listeners, /healthz over TLS, the self-signed certificate,
and a clean exit 0 on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import urllib.request
import warnings
from pathlib import Path

from cryptography import x509

from tests.support.server import running_server, write_config


def test_serve_answers_healthz_and_stops_cleanly(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    with running_server(cfg) as server:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(f"https://127.0.0.1:{server.port('https')}/healthz",
                                    context=ctx, timeout=10) as resp:
            assert resp.status == 200
            assert json.loads(resp.read())["status"] == "ok"
        # TLS 1.1 and older are refused
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is deprecated: the point
            old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            old.check_hostname = False
            old.verify_mode = ssl.CERT_NONE
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.minimum_version = ssl.TLSVersion.TLSv1
        try:
            with socket.create_connection(("127.0.0.1", server.port("https")), timeout=5) as raw:
                with old.wrap_socket(raw):
                    raise AssertionError("a TLS 1.1 handshake succeeded")
        except ssl.SSLError:
            pass
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 0
    assert any("shutting down" in line for line in server.output)


def test_self_signed_certificate_names_host_and_localhost(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, hostname="mail.example.test")
    with running_server(cfg) as server:
        pem = ssl.get_server_certificate(("127.0.0.1", server.port("https")))
    cert = x509.load_pem_x509_certificate(pem.encode())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"mail.example.test", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    first = (tmp_path / "var" / "tls" / "selfsigned.crt").read_bytes()
    with running_server(cfg):
        pass
    assert (tmp_path / "var" / "tls" / "selfsigned.crt").read_bytes() == first  # reused
