"""The set-up documents mail clients fetch, built from a `ClientSetup`.

- Mozilla autoconfig, the ISPDB "config-v1.1.xml" format Thunderbird (and
  K-9/Thunderbird for Android, Evolution, KMail) reads: clientConfig
  version="1.1" > emailProvider > incomingServer / outgoingServer.
- Outlook's POX autodiscover (the 2006 request and 2006a response schemas of
  [MS-OXDSCLI]): the client POSTs its e-mail address, we answer with an
  Account of Protocol elements.
- An Apple configuration profile: an unsigned XML property list with one
  com.apple.mail.managed payload.

Everything here is pure: no I/O, no request objects. The request body of
autodiscover is parsed with a size limit and without DTDs (no entity
expansion), and only one element of it is read.
"""

from __future__ import annotations

import plistlib
import re
import uuid
import xml.etree.ElementTree as ET

from postbus.web.autoconfig.servers import ClientSetup, Server

MAX_AUTODISCOVER_REQUEST = 16 * 1024  # octets of a POSTed autodiscover request
AUTODISCOVER_REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
AUTODISCOVER_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
AUTODISCOVER_OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
PROFILE_NAMESPACE = uuid.UUID("0b5f3c1e-5c55-4c0e-9c1e-7d1b0f0d2a11")  # for stable payload UUIDs
EMAIL_USERNAME = "%EMAILADDRESS%"  # ISPDB placeholder: the user's whole address


class BadRequest(ValueError):
    """The client's request cannot be answered (malformed, too large)."""


def _text(parent: ET.Element, tag: str, value: str | int) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = str(value)
    return child


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def mozilla_autoconfig(setup: ClientSetup, domain: str, *, display_name: str,
                       help_url: str | None = None) -> bytes:
    """config-v1.1.xml for `domain` (its A-label form)."""
    root = ET.Element("clientConfig", version="1.1")
    provider = ET.SubElement(root, "emailProvider", id=domain)
    _text(provider, "domain", domain)
    _text(provider, "displayName", display_name)
    _text(provider, "displayShortName", display_name)
    for protocol in ("imap", "pop3"):
        for server in setup.of(protocol):
            _server(ET.SubElement(provider, "incomingServer", type=protocol), server)
    for server in setup.of("smtp"):
        _server(ET.SubElement(provider, "outgoingServer", type="smtp"), server)
    if help_url:
        doc = ET.SubElement(provider, "documentation", url=help_url)
        _text(doc, "descr", "Settings for mail clients").set("lang", "en")
    return _xml(root)


def _server(element: ET.Element, server: Server) -> None:
    _text(element, "hostname", server.hostname)
    _text(element, "port", server.port)
    _text(element, "socketType", server.security)
    _text(element, "username", EMAIL_USERNAME)
    # Our servers take PLAIN/LOGIN only after TLS: "password-cleartext" in ISPDB terms.
    _text(element, "authentication", "password-cleartext")


def autodiscover_address(body: bytes) -> str:
    """The EMailAddress of an Outlook autodiscover request (RFC 3023 XML)."""
    if len(body) > MAX_AUTODISCOVER_REQUEST:
        raise BadRequest("request too large")
    if b"<!" in body:  # no DOCTYPE, no ENTITY: nothing to expand
        raise BadRequest("DTDs are not accepted")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise BadRequest(f"not XML: {exc}") from None
    for element in root.iter():
        if element.tag.rpartition("}")[2] == "EMailAddress" and element.text:
            return element.text.strip()
    raise BadRequest("no EMailAddress in the request")


def outlook_autodiscover(setup: ClientSetup, address: str, *, display_name: str) -> bytes:
    """The POX autodiscover response ([MS-OXDSCLI] 2006a) for `address`."""
    ET.register_namespace("", AUTODISCOVER_NS)
    root = ET.Element(f"{{{AUTODISCOVER_NS}}}Autodiscover")
    ns = f"{{{AUTODISCOVER_OUTLOOK_NS}}}"
    response = ET.SubElement(root, f"{ns}Response")
    user = ET.SubElement(response, f"{ns}User")
    _text(user, f"{ns}DisplayName", display_name)
    account = ET.SubElement(response, f"{ns}Account")
    _text(account, f"{ns}AccountType", "email")
    _text(account, f"{ns}Action", "settings")
    chosen = [s for s in (setup.best("imap"), setup.best("pop3"), setup.best("smtp")) if s is not None]
    for server in chosen:
        protocol = ET.SubElement(account, f"{ns}Protocol")
        _text(protocol, f"{ns}Type", server.protocol.upper())
        _text(protocol, f"{ns}Server", server.hostname)
        _text(protocol, f"{ns}Port", server.port)
        _text(protocol, f"{ns}DomainRequired", "off")
        _text(protocol, f"{ns}LoginName", address)
        _text(protocol, f"{ns}SPA", "off")
        _text(protocol, f"{ns}SSL", "on")
        # Encryption overrides SSL: "SSL" is implicit TLS, "TLS" is STARTTLS.
        _text(protocol, f"{ns}Encryption", "SSL" if server.implicit_tls else "TLS")
        _text(protocol, f"{ns}AuthRequired", "on")
        if server.protocol == "smtp":
            _text(protocol, f"{ns}UsePOPAuth", "on")
            _text(protocol, f"{ns}SMTPLast", "off")
    return _xml(root)


def apple_profile(setup: ClientSetup, address: str, *, display_name: str) -> bytes:
    """An unsigned .mobileconfig with one com.apple.mail.managed payload (IMAP
    preferred; POP3 only when there is no IMAP listener)."""
    incoming = setup.best("imap") or setup.best("pop3")
    outgoing = setup.best("smtp")
    if incoming is None or outgoing is None:
        raise BadRequest("no IMAP/POP3 or submission listener is configured")
    reverse_host = ".".join(reversed(setup.hostname.split(".")))
    identifier = f"{reverse_host}.mail.{re.sub(r'[^A-Za-z0-9.-]', '-', address)}"
    mail = {
        "EmailAccountDescription": address,
        "EmailAccountName": address,
        "EmailAccountType": "EmailTypeIMAP" if incoming.protocol == "imap" else "EmailTypePOP",
        "EmailAddress": address,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerHostName": incoming.hostname,
        "IncomingMailServerPortNumber": incoming.port,
        "IncomingMailServerUseSSL": incoming.implicit_tls,
        "IncomingMailServerUsername": address,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerHostName": outgoing.hostname,
        "OutgoingMailServerPortNumber": outgoing.port,
        "OutgoingMailServerUseSSL": outgoing.implicit_tls,
        "OutgoingMailServerUsername": address,
        "OutgoingPasswordSameAsIncomingPassword": True,
        "PayloadDescription": f"Mail account {address}",
        "PayloadDisplayName": address,
        "PayloadIdentifier": identifier + ".account",
        "PayloadType": "com.apple.mail.managed",
        "PayloadUUID": str(uuid.uuid5(PROFILE_NAMESPACE, identifier + ".account")).upper(),
        "PayloadVersion": 1,
        "PreventAppSheet": False,
        "PreventMove": False,
        "SMIMEEnabled": False,
    }
    profile = {
        "PayloadContent": [mail],
        "PayloadDescription": f"Sets up the mail account {address} on {setup.hostname}",
        "PayloadDisplayName": f"{display_name}: {address}",
        "PayloadIdentifier": identifier,
        "PayloadOrganization": display_name,
        "PayloadRemovalDisallowed": False,
        "PayloadType": "Configuration",
        "PayloadUUID": str(uuid.uuid5(PROFILE_NAMESPACE, identifier)).upper(),
        "PayloadVersion": 1,
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)
