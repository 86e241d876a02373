"""net/certs.py with real handshakes: the front context serves the current
certificate, a swap reaches new handshakes only, and a TLS-ALPN-01 challenge
certificate goes only to a ClientHello offering acme-tls/1 for that name."""

from __future__ import annotations

import asyncio
import os
import ssl
from pathlib import Path

import trustme
from cryptography import x509

from postbus.acme.order import tls_alpn_certificate
from postbus.net.certs import ACME_TLS_ALPN, Certificates, client_hello_alpn


def names(der: bytes) -> list[str]:
    cert = x509.load_der_x509_certificate(der)
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName)


async def handshake(port: int, alpn: list[str] | None = None,
                    sni: str | None = "mail.example.test") -> tuple[list[str], str | None]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    _reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=sni)
    tls = writer.get_extra_info("ssl_object")
    result = names(tls.getpeercert(True)), tls.selected_alpn_protocol()
    writer.close()
    return result


async def test_swap_challenge_and_alpn_selection(tmp_path: Path) -> None:
    ca = trustme.CA()
    first = ca.issue_cert("mail.example.test")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    first.cert_chain_pems[0].write_to_path(str(cert))
    first.private_key_pem.write_to_path(str(key))
    certs = Certificates(str(cert), str(key), tmp_path, "mail.example.test")
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=certs.front)
    port = server.sockets[0].getsockname()[1]
    try:
        assert await handshake(port) == (["mail.example.test"], None)
        assert (await handshake(port, sni=None))[0] == ["mail.example.test"]

        second = ca.issue_cert("mail.example.test", "second.example.test")
        second.cert_chain_pems[0].write_to_path(str(cert))
        second.private_key_pem.write_to_path(str(key))
        assert certs.reload()
        assert (await handshake(port))[0] == ["mail.example.test", "second.example.test"]
        assert certs.not_after == \
            x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc.timestamp()

        challenge_cert, challenge_key = tls_alpn_certificate("mail.example.test", "token.thumb")
        certs.add_challenge("mail.example.test", challenge_cert, challenge_key)
        got, alpn = await handshake(port, [ACME_TLS_ALPN])
        assert alpn == ACME_TLS_ALPN and got == ["mail.example.test"]
        # everyone else still gets the real certificate: no ALPN, other ALPN, other name
        assert (await handshake(port))[0] == ["mail.example.test", "second.example.test"]
        assert (await handshake(port, ["h2", "http/1.1"]))[0] == ["mail.example.test", "second.example.test"]
        assert (await handshake(port, [ACME_TLS_ALPN], sni="other.example.test"))[0] == \
            ["mail.example.test", "second.example.test"]
        certs.remove_challenge("mail.example.test")
        assert (await handshake(port, [ACME_TLS_ALPN]))[0] == ["mail.example.test", "second.example.test"]
    finally:
        server.close()
        await server.wait_closed()


def test_client_hello_alpn_parses_and_survives_garbage() -> None:
    assert client_hello_alpn(b"") == []
    assert client_hello_alpn(b"\x01\x00\x00\x05\x03\x03") == []
    assert client_hello_alpn(bytes(range(256)) * 4) == []


def test_processes_installing_at_once_leave_a_matching_pair(tmp_path: Path) -> None:
    """Every worker installs the ACME certificate it finds in the store, maybe at the
    same moment: the files they leave are one issued pair, and nothing else."""
    ca = trustme.CA()
    pairs = [(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())
             for leaf in (ca.issue_cert("a.example.test"), ca.issue_cert("b.example.test"))]
    certs = Certificates("", "", tmp_path, "mail.example.test", acme=True)
    children = []
    for chain, key in pairs:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's status says how it went
            status = 1
            try:
                for _ in range(30):
                    certs.install_pem(chain, key, "test")
                status = 0
            finally:
                os._exit(status)
        children.append(pid)
    assert all(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 for pid in children)
    cert_path, key_path = certs.acme_paths()
    assert (cert_path.read_bytes(), key_path.read_bytes()) in pairs
    assert sorted(p.name for p in cert_path.parent.iterdir() if p.name.startswith("acme")) == \
        ["acme.crt", "acme.key", "acme.lock"]
    assert not [p for p in cert_path.parent.iterdir() if p.name.endswith(".tmp")]
