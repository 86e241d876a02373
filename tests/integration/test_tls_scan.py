"""Every TLS listener, scanned by sslyze against Mozilla's "intermediate" profile.

sslyze runs from its own virtual environment (`.venv-sslyze`, made by `make
test` from requirements-sslyze.txt), through tests/support/sslyze_scan.py. The
server serves a certificate from a test CA that the scan trusts, so that
certificate path validation is checked as well; the self-signed fallback is
scanned separately for what a scan can judge without trusting it.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.server import running_server, write_config

ROOT = Path(__file__).resolve().parents[2]
SCAN = ROOT / "tests" / "support" / "sslyze_scan.py"
# listener -> how the scan reaches TLS on it
LISTENERS = {"imaps": "tls", "pop3s": "tls", "submissions": "tls", "https": "tls",
             "imap": "imap", "pop3": "pop3", "submission": "smtp", "smtp": "smtp"}
MOZILLA_INTERMEDIATE_TLS12 = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
}


def sslyze_python() -> str:
    path = Path(os.environ.get("POSTBUS_SSLYZE_PYTHON", ROOT / ".venv-sslyze" / "bin" / "python"))
    if path.exists():
        return str(path)
    message = f"sslyze's Python is missing at {path} (`make test` makes .venv-sslyze)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def make_ca_and_leaf(directory: Path) -> tuple[Path, Path, Path]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Postbus test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=20))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path


def scan(python: str, ca_file: Path, ports: dict[str, int]) -> dict[str, dict[str, object]]:
    specs = [f"{name}:{LISTENERS[name]}:{ports[name]}" for name in LISTENERS]
    done = subprocess.run([python, str(SCAN), str(ca_file), *specs],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, dict[str, object]] = json.loads(done.stdout)
    assert set(report) == set(LISTENERS)
    return report


def test_every_listener_meets_mozilla_intermediate(tmp_path: Path) -> None:
    python = sslyze_python()
    ca_file, cert, key = make_ca_and_leaf(tmp_path)
    config = write_config(tmp_path, {"tls": {"cert": str(cert), "key": str(key)}})
    with running_server(config) as server:
        report = scan(python, ca_file, server.ports)
    for name, found in report.items():
        assert found["issues"] == {}, (name, found)
        versions = found["versions"]
        assert isinstance(versions, dict)
        assert set(versions) == {"TLSv1.2", "TLSv1.3"}, (name, versions)
        # an ECDSA certificate: the three ECDHE-ECDSA AEAD suites, nothing else
        assert set(versions["TLSv1.2"]) == MOZILLA_INTERMEDIATE_TLS12, (name, versions)
        assert found["groups"] == ["X25519", "secp256r1", "secp384r1"], (name, found["groups"])
        assert found["compression"] is False


def test_the_self_signed_fallback_meets_the_profile_but_for_trust(tmp_path: Path) -> None:
    python = sslyze_python()
    config = write_config(tmp_path)
    with running_server(config) as server:
        cert = tmp_path / "var" / "tls" / "selfsigned.crt"
        report = scan(python, cert, {n: server.ports[n] for n in ("imaps", "https", "submission",
                                                                  "imap", "pop3", "pop3s",
                                                                  "submissions", "smtp")})
    for name, found in report.items():
        issues = dict(found["issues"])  # type: ignore[call-overload]
        # A self-signed end-entity certificate is its own anchor: whether a
        # validator accepts that is the validator's choice, not the profile's.
        issues.pop("certificate_path_validation", None)
        assert issues == {}, (name, found)
