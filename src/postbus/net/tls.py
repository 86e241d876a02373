"""TLS contexts for every listener, and the self-signed certificate fallback.

Every TLS listener, HTTPS included, uses one context built here: Mozilla's
"intermediate" profile (version 5.7, https://ssl-config.mozilla.org/): TLS 1.2
and 1.3 only, forward-secret AEAD ciphers, the key-exchange groups X25519,
P-256 and P-384 only (OpenSSL would also offer X448 and P-521), no compression,
no renegotiation, and the client's cipher order (the profile's
``server_preferred_order: false``: a phone without AES hardware picks
ChaCha20). Session tickets stay on so reconnecting clients resume cheaply.
``tests/integration/test_tls_scan.py`` checks every listener with sslyze.

When no certificate is configured, one for `hostname` and `localhost` (both
in subjectAltName, which mbsync and other clients check) is generated into
data_dir and reused. It is an end-entity certificate (``CA:FALSE``, key usage
digitalSignature, extended key usage serverAuth: strict validators reject a
``CA:TRUE`` leaf) valid for 365 days (the profile allows 366, browsers 398),
and it is made anew when fewer than 30 days are left or when an older one
does not follow these rules.
"""

from __future__ import annotations

import ctypes
import datetime
import ipaddress
import logging
import os
import re
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from postbus.security import files

log = logging.getLogger(__name__)

# Mozilla intermediate (TLS 1.2 part); TLS 1.3 suites are all acceptable. The
# DHE suites stay listed as the profile has them, but are never negotiated:
# Python's ssl loads no DH parameters.
TLS12_CIPHERS = ":".join([
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-CHACHA20-POLY1305",
])
# The profile's key-exchange groups, in OpenSSL's list syntax.
TLS_GROUPS = b"X25519:P-256:P-384"
SELF_SIGNED_DAYS = 365
# A self-signed certificate with fewer days left than this is made anew.
RENEW_BEFORE_DAYS = 30
# The longest validity any certificate we make may have (CA/Browser Forum).
MAX_VALIDITY_DAYS = 398


def self_signed_paths(data_dir: Path) -> tuple[Path, Path]:
    return data_dir / "tls" / "selfsigned.crt", data_dir / "tls" / "selfsigned.key"


def ensure_self_signed(data_dir: Path, hostname: str) -> tuple[Path, Path]:
    """Makes the certificate once; reuses it while it names `hostname`."""
    cert_path, key_path = self_signed_paths(data_dir)
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if _still_good(cert, hostname):
            return cert_path, key_path
    files.private_dir(cert_path.parent)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(hostname)]
    if hostname != "localhost":
        alt_names.append(x509.DNSName("localhost"))
    alt_names += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                  x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    tmp_key = key_path.with_suffix(".tmp")
    with files.open_private(tmp_key) as f:
        f.write(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
    os.replace(tmp_key, key_path)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _still_good(cert: x509.Certificate, hostname: str) -> bool:
    """Whether a self-signed certificate made earlier may be served on."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    now = datetime.datetime.now(datetime.UTC)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    return (hostname in names.get_values_for_type(x509.DNSName)
            and not constraints.ca
            and lifetime <= datetime.timedelta(days=MAX_VALIDITY_DAYS)
            and cert.not_valid_after_utc - now > datetime.timedelta(days=RENEW_BEFORE_DAYS))


def self_signed_needs_renewal(data_dir: Path, hostname: str) -> bool:
    """True when :func:`ensure_self_signed` would make a new certificate."""
    cert_path, key_path = self_signed_paths(data_dir)
    if not (cert_path.exists() and key_path.exists()):
        return True
    return not _still_good(x509.load_pem_x509_certificate(cert_path.read_bytes()), hostname)


# SSL_CTX_set1_groups_list() is a macro over SSL_CTX_ctrl with this command
# (openssl/ssl.h); Python 3.11's ssl has no call for it (set_ecdh_curve takes
# one curve, which would drop X25519).
_SSL_CTRL_SET_GROUPS_LIST = 92
_libssl: ctypes.CDLL | bool | None = None


def _load_libssl() -> ctypes.CDLL | None:
    """The libssl that Python's ``_ssl`` module itself uses, or None."""
    global _libssl
    if _libssl is None:
        _libssl = False
        try:
            with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
                paths = sorted(set(re.findall(r"(/\S*/libssl\.so[.\d]*)\s*$", maps.read(), re.M)))
            if len(paths) == 1:
                lib = ctypes.CDLL(paths[0])
                lib.SSL_CTX_get_options.restype = ctypes.c_uint64
                lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
                lib.SSL_CTX_ctrl.restype = ctypes.c_long
                lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long,
                                             ctypes.c_void_p]
                _libssl = lib
        except (OSError, AttributeError):
            pass
    return _libssl if isinstance(_libssl, ctypes.CDLL) else None


def restrict_groups(ctx: ssl.SSLContext, groups: bytes = TLS_GROUPS) -> bool:
    """Limits the key-exchange groups of ``ctx``; False (and a warning) if it cannot.

    The ``SSL_CTX *`` is the first field after the object header of CPython's
    ``PySSLContext``. It is used only after it proves itself: OpenSSL's options
    read through it must equal ``ctx.options``.
    """
    lib = _load_libssl()
    if lib is not None:
        pointer = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
        if pointer and lib.SSL_CTX_get_options(pointer) == ctx.options:
            if lib.SSL_CTX_ctrl(pointer, _SSL_CTRL_SET_GROUPS_LIST, 0, groups) == 1:
                return True
    log.warning("TLS: could not limit the key-exchange groups to %s; OpenSSL's defaults apply",
                groups.decode())
    return False


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    restrict_groups(ctx)
    ctx.load_cert_chain(cert, key)
    return ctx

