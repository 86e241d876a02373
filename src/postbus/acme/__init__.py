"""Certificates by ACME (RFC 8555; TLS-ALPN-01 per RFC 8737): `order` drives one
order with certbot's `acme` library, `service` renews on one node for every
node and hot-swaps the certificate of every listener (net/certs.py)."""
