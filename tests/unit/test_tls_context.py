"""net/tls.py: the self-signed fallback certificate and the server context."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from postbus.net import tls


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_the_self_signed_certificate_is_an_end_entity_of_at_most_398_days(tmp_path: Path) -> None:
    cert_path, _ = tls.ensure_self_signed(tmp_path, "mail.example.test")
    cert = load(cert_path)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime <= datetime.timedelta(days=tls.MAX_VALIDITY_DAYS)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"mail.example.test", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    # made once, then reused
    assert tls.ensure_self_signed(tmp_path, "mail.example.test")[0].read_bytes() == cert_path.read_bytes()
    assert not tls.self_signed_needs_renewal(tmp_path, "mail.example.test")


def _write_old_style(tmp_path: Path, *, ca: bool, days_left: int, lifetime: int) -> None:
    cert_path, key_path = tls.self_signed_paths(tmp_path)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.example.test")])
    end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days_left)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(end - datetime.timedelta(days=lifetime)).not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("mail.example.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


def test_an_old_ca_true_certificate_is_replaced(tmp_path: Path) -> None:
    _write_old_style(tmp_path, ca=True, days_left=700, lifetime=825)  # what earlier versions made
    assert tls.self_signed_needs_renewal(tmp_path, "mail.example.test")
    cert = load(tls.ensure_self_signed(tmp_path, "mail.example.test")[0])
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_a_certificate_near_its_end_is_renewed(tmp_path: Path) -> None:
    _write_old_style(tmp_path, ca=False, days_left=tls.RENEW_BEFORE_DAYS - 1, lifetime=300)
    assert tls.self_signed_needs_renewal(tmp_path, "mail.example.test")
    cert = load(tls.ensure_self_signed(tmp_path, "mail.example.test")[0])
    assert cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > datetime.timedelta(days=300)


def test_a_certificate_with_days_to_spare_is_kept(tmp_path: Path) -> None:
    _write_old_style(tmp_path, ca=False, days_left=tls.RENEW_BEFORE_DAYS + 5, lifetime=300)
    assert not tls.self_signed_needs_renewal(tmp_path, "mail.example.test")


def test_the_context_offers_only_the_profile_groups(tmp_path: Path) -> None:
    """A client that offers only X448 or P-521 finds no common group."""
    cert, key = tls.ensure_self_signed(tmp_path, "localhost")
    server = tls.server_context(cert, key)
    assert server.minimum_version == ssl.TLSVersion.TLSv1_2
    assert server.options & ssl.OP_NO_COMPRESSION
    assert not server.options & ssl.OP_CIPHER_SERVER_PREFERENCE  # the profile: client's order
    for groups, works in ((b"X448", False), (b"P-521", False), (b"X25519", True), (b"P-384", True)):
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        assert tls.restrict_groups(client, groups)
        assert _handshake(server, client) is works, groups


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> bool:
    s_in, s_out, c_in, c_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    s = server.wrap_bio(s_in, s_out, server_side=True)
    c = client.wrap_bio(c_in, c_out, server_hostname="localhost")
    done = {"s": False, "c": False}
    for _ in range(10):
        for side, obj in (("c", c), ("s", s)):
            if done[side]:
                continue
            try:
                obj.do_handshake()
                done[side] = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                return False
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return True
    return False
