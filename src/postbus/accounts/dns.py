"""The DNS records a hosted domain should publish, in zone-file form.

One list serves `postbus domain dns`, the admin panel and the API. Host
names come from `hostname` and ports from the configured listeners, never
from a request. Per domain:

- MX (RFC 5321 §5.1) to `hostname`; SPF (RFC 7208) "v=spf1 mx -all";
  the DKIM key (RFC 6376 §3.6.1); DMARC (RFC 7489 §6.1);
- client set-up: `autoconfig` and `autodiscover` CNAMEs to `hostname`, the
  `_autodiscover._tcp` SRV record, and the RFC 6186 / RFC 8314 SRV records
  for IMAP, POP3 and submission (a listener that is off is published as
  "0 0 0 ." : RFC 6186 §3.4, the service is not offered).

Plus, once for the server: SPF for `hostname` itself, which checks our HELO
and the SRS envelope sender of forwarded mail (`[srs] domain`).

TXT values are written as quoted character-strings of at most 255 octets each
(RFC 1035 §3.3.14), the form zone files and DNS providers take: a 2048-bit
DKIM key is longer than one string, and a verifier joins the strings again
(RFC 6376 §3.6.2.2, RFC 7208 §3.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from postbus.config import Settings
from postbus.store.model import Domain

#: RFC 1035 §3.3: a <character-string> is one length octet and at most 255 octets.
MAX_CHARACTER_STRING = 255

# RFC 6186 §3.1 and RFC 8314 §5.1: service label -> our listener
_CLIENT_SRV = (
    ("_imaps._tcp", "imaps"),
    ("_imap._tcp", "imap"),
    ("_pop3s._tcp", "pop3s"),
    ("_pop3._tcp", "pop3"),
    ("_submissions._tcp", "submissions"),
    ("_submission._tcp", "submission"),
)


def txt_value(text: str) -> str:
    """`text` as a TXT record's value in zone-file form: quoted character-strings
    of at most MAX_CHARACTER_STRING octets each, '"' and '\\' escaped (RFC 1035 §5.1)."""
    data = text.encode("ascii")  # every value here is ASCII (keys are base64)
    chunks = [data[i:i + MAX_CHARACTER_STRING]
              for i in range(0, len(data), MAX_CHARACTER_STRING)] or [b""]
    return " ".join('"' + c.decode("ascii").replace("\\", "\\\\").replace('"', '\\"') + '"'
                    for c in chunks)


@dataclass(frozen=True, slots=True)
class DnsRecord:
    name: str  # fully qualified, with the trailing dot
    type: str  # MX, TXT, CNAME, SRV
    value: str  # presentation format, TXT values quoted
    purpose: str

    def zone_line(self) -> str:
        return f"{self.name} IN {self.type} {self.value}"


def domain_records(domain: Domain, settings: Settings) -> list[DnsRecord]:
    from postbus.mailauth.dkim import dns_txt_record

    d, host = domain.name, settings.hostname.lower()
    records = [
        DnsRecord(f"{d}.", "MX", f"10 {host}.", "mail for the domain comes here"),
        DnsRecord(f"{d}.", "TXT", txt_value("v=spf1 mx -all"),
                  "SPF: only this server sends its mail"),
    ]
    if domain.dkim_private_key:
        records.append(DnsRecord(f"{domain.dkim_selector}._domainkey.{d}.", "TXT",
                                 txt_value(dns_txt_record(domain.dkim_private_key)),
                                 "DKIM: the key outbound mail is signed with"))
    records += [
        DnsRecord(f"_dmarc.{d}.", "TXT", txt_value("v=DMARC1; p=quarantine"), "DMARC policy"),
        DnsRecord(f"autoconfig.{d}.", "CNAME", f"{host}.", "Thunderbird automatic set-up"),
        DnsRecord(f"autodiscover.{d}.", "CNAME", f"{host}.", "Outlook automatic set-up"),
    ]
    https = settings.listen_address("https")
    if https is not None:
        records.append(DnsRecord(f"_autodiscover._tcp.{d}.", "SRV", f"0 0 {https[1]} {host}.",
                                 "Outlook automatic set-up"))
    for label, listener in _CLIENT_SRV:
        address = settings.listen_address(listener)
        value = f"0 1 {address[1]} {host}." if address is not None else "0 0 0 ."
        records.append(DnsRecord(f"{label}.{d}.", "SRV", value, f"mail clients: {listener}"))
    return records


def server_records(settings: Settings) -> list[DnsRecord]:
    """Records for the server's own name (not per domain)."""
    host = settings.hostname.lower()
    records = [DnsRecord(f"{host}.", "TXT", txt_value("v=spf1 a -all"),
                         "SPF for HELO and bounces")]
    srs = settings.srs.srs_domain(host) if settings.srs.enabled else host
    if srs != host:
        records.append(DnsRecord(f"{srs}.", "MX", f"10 {host}.", "bounces of forwarded mail (SRS)"))
        records.append(DnsRecord(f"{srs}.", "TXT", txt_value(f"v=spf1 a:{host} -all"),
                                 "SPF for the SRS envelope sender of forwarded mail"))
    return records
