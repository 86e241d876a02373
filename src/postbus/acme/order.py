"""One ACME order (RFC 8555 §7.4), blocking: run it in a thread.

Uses certbot's `acme` library for the protocol (JWS, nonces, polling). The
account key is kept by the caller (in the store) and registered again on
every order: newAccount with a known key returns the existing account
(RFC 8555 §7.3.1), so a CA that forgot us (Pebble restarted) is no problem.

The certificate key is a fresh P-256 key per order. Challenges are published
through `publish(kind, name, token, key_authorization)` before they are
answered, and withdrawn through `withdraw` afterwards, success or not;
`settle()` runs between publishing them all and answering the first, for the
challenge to reach the other nodes.
`acme` 5 dropped TLS-ALPN-01; its challenge objects still carry the token,
and the answer is the same empty JSON object as HTTP-01's (RFC 8555 §7.5.1),
so both are driven here alike.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import josepy as jose
from acme import challenges, client, crypto_util, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

USER_AGENT = "postbus"
# Each HTTP request to the ACME server.
HTTP_TIMEOUT = 30
# From the new order to the issued certificate, validations included.
ORDER_TIMEOUT = 300.0
ACCOUNT_KEY_BITS = 2048

HTTP01 = "http-01"
TLS_ALPN01 = "tls-alpn-01"  # RFC 8737

Publish = Callable[[str, str, str, str], None]  # kind, name, token, key authorization


class OrderError(Exception):
    """An order that did not end in a certificate, in one line."""


@dataclass(frozen=True)
class Issued:
    chain_pem: bytes
    key_pem: bytes
    names: tuple[str, ...]
    not_after: float


def new_account_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=ACCOUNT_KEY_BITS)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def key_authorization(token: str, account_key: jose.JWK) -> str:
    """RFC 8555 §8.1: token "." base64url(JWK thumbprint)."""
    thumbprint = jose.b64encode(account_key.thumbprint(hash_function=hashes.SHA256)).decode()
    return f"{token}.{thumbprint}"


def order(directory_url: str, verify: str | bool, account_key_pem: bytes, contact: str,
          names: tuple[str, ...], kind: str, publish: Publish, withdraw: Publish,
          settle: Callable[[], None] = lambda: None) -> Issued:
    private = serialization.load_pem_private_key(account_key_pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    account_key = jose.JWKRSA(key=private)
    net = client.ClientNetwork(account_key, user_agent=USER_AGENT, verify_ssl=verify,  # type: ignore[arg-type]
                               timeout=HTTP_TIMEOUT)
    acme = client.ClientV2(client.ClientV2.get_directory(directory_url, net), net=net)
    registration = messages.NewRegistration.from_data(
        email=contact or None, terms_of_service_agreed=True)
    try:
        acme.new_account(registration)
    except errors.ConflictError as known:  # §7.3.1: this key has an account already
        net.account = messages.RegistrationResource(uri=known.location, body=messages.Registration())

    cert_key = ec.generate_private_key(ec.SECP256R1())
    key_pem = cert_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    orderr = acme.new_order(crypto_util.make_csr(key_pem, list(names)))
    published: list[tuple[str, str, str, str]] = []
    try:
        answers = []
        for authz in orderr.authorizations:
            if authz.body.status == messages.STATUS_VALID:
                continue  # validated recently (§7.1.4: authorizations are reused)
            name = authz.body.identifier.value
            chosen = [c for c in authz.body.challenges if c.chall.to_partial_json().get("type") == kind]
            if not chosen:
                raise OrderError(f"the ACME server offers no {kind} challenge for {name}")
            challb = chosen[0]
            token = str(challb.chall.to_partial_json()["token"])
            key_auth = key_authorization(token, account_key)
            publish(kind, name, token, key_auth)
            published.append((kind, name, token, key_auth))
            answers.append((challb, key_auth))
        if answers:
            settle()  # every node can answer now (service.py)
        for challb, key_auth in answers:  # §7.5.1: "ready to be validated"
            acme.answer_challenge(challb, challenges.HTTP01Response(key_authorization=key_auth))
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=ORDER_TIMEOUT)
        try:
            orderr = acme.poll_and_finalize(orderr, deadline=deadline)
        except errors.ValidationError as exc:
            details = "; ".join(
                f"{a.body.identifier.value}: {c.error.detail if c.error else c.status}"
                for a in exc.failed_authzrs for c in a.body.challenges if c.error is not None)
            raise OrderError(f"validation failed: {details or exc}") from exc
    finally:
        for item in published:
            withdraw(*item)
    chain = orderr.fullchain_pem.encode()
    leaf = x509.load_pem_x509_certificate(chain)
    return Issued(chain, key_pem, names, leaf.not_valid_after_utc.timestamp())


def tls_alpn_certificate(name: str, key_auth: str) -> tuple[bytes, bytes]:
    """RFC 8737 §3: a self-signed certificate for `name` whose critical
    id-pe-acmeIdentifier extension holds SHA-256(key authorization); (cert, key) PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    digest = hashes.Hash(hashes.SHA256())
    digest.update(key_auth.encode())
    value = b"\x04\x20" + digest.finalize()  # DER OCTET STRING of 32 bytes
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.UnrecognizedExtension(
            x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31"), value), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
