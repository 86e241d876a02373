"""What a mail client must be told: our servers, ports and security, from the
configuration alone.

Every host name comes from `hostname` and every port from the configured
listeners: never from the request (its Host header is the client's to
choose, CVE-2025-25198 is what trusting it costs). A listener set to "" is
not offered. Implicit TLS comes first (RFC 8314 §3: preferred over
STARTTLS); the MX port (25) is not for clients and is never offered.
"""

from __future__ import annotations

from dataclasses import dataclass

from postbus.config import Settings

IMPLICIT = "SSL"  # the autoconfig socketType names (Mozilla ISPDB format)
STARTTLS = "STARTTLS"

# (listener, protocol, security), in the order clients should prefer them
_SERVERS = (
    ("imaps", "imap", IMPLICIT),
    ("imap", "imap", STARTTLS),
    ("pop3s", "pop3", IMPLICIT),
    ("pop3", "pop3", STARTTLS),
    ("submissions", "smtp", IMPLICIT),
    ("submission", "smtp", STARTTLS),
)


@dataclass(frozen=True, slots=True)
class Server:
    protocol: str  # imap | pop3 | smtp
    hostname: str
    port: int
    security: str  # SSL (implicit TLS) | STARTTLS

    @property
    def implicit_tls(self) -> bool:
        return self.security == IMPLICIT


@dataclass(frozen=True, slots=True)
class ClientSetup:
    hostname: str
    servers: tuple[Server, ...]
    webmail: str | None  # URL, or None without an https listener
    max_message_size: int  # octets
    default_quota: int  # octets; 0: unlimited

    def of(self, protocol: str) -> list[Server]:
        return [s for s in self.servers if s.protocol == protocol]

    def best(self, protocol: str) -> Server | None:
        found = self.of(protocol)
        return found[0] if found else None


def client_setup(settings: Settings) -> ClientSetup:
    hostname = settings.hostname.lower()
    servers = []
    for listener, protocol, security in _SERVERS:
        address = settings.listen_address(listener)
        if address is not None:
            servers.append(Server(protocol, hostname, address[1], security))
    https = settings.listen_address("https")
    webmail = None
    if https is not None:
        port = "" if https[1] == 443 else f":{https[1]}"
        webmail = f"https://{hostname}{port}/webmail/"
    return ClientSetup(hostname, tuple(servers), webmail, settings.max_message_size,
                       settings.default_quota)
