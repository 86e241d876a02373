"""Scans TLS listeners with sslyze and checks each against Mozilla's
"intermediate" profile; run by the Python of sslyze's own virtual environment
(sslyze pins an older `cryptography` than Postbus), not by the test's.

    python sslyze_scan.py CA_FILE NAME:PROTOCOL:PORT ...

PROTOCOL is `tls` (implicit TLS) or `smtp`, `imap`, `pop3` (STARTTLS). Prints
one JSON object: for each NAME, the profile's complaints (empty when it
passes), the TLS versions, cipher suites and groups the scan saw accepted,
and whether TLS compression was offered.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sslyze import (
    ProtocolWithOpportunisticTlsEnum,
    Scanner,
    ServerNetworkConfiguration,
    ServerNetworkLocation,
    ServerScanRequest,
)
from sslyze.mozilla_tls_profile.tls_config_checker import (
    SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
    MozillaTlsConfiguration,
    ServerNotCompliantWithTlsConfiguration,
    TlsConfigurationEnum,
    check_server_against_tls_configuration,
)
from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
from sslyze.scanner.models import ScanCommandsExtraArguments

STARTTLS = {
    "smtp": ProtocolWithOpportunisticTlsEnum.SMTP,
    "imap": ProtocolWithOpportunisticTlsEnum.IMAP,
    "pop3": ProtocolWithOpportunisticTlsEnum.POP3,
}


def main() -> None:
    ca_file = Path(sys.argv[1])
    requests, names = [], {}
    for spec in sys.argv[2:]:
        name, protocol, port = spec.split(":")
        location = ServerNetworkLocation("localhost", int(port), ip_address="127.0.0.1")
        config = ServerNetworkConfiguration(
            tls_server_name_indication="localhost",
            tls_opportunistic_encryption=STARTTLS.get(protocol),
            smtp_ehlo_hostname="scanner.localhost" if protocol == "smtp" else None,
        )
        requests.append(ServerScanRequest(
            server_location=location, network_configuration=config,
            scan_commands=SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
            scan_commands_extra_arguments=ScanCommandsExtraArguments(
                certificate_info=CertificateInfoExtraArgument(custom_ca_file=ca_file)),
        ))
        names[int(port)] = name
    scanner = Scanner()
    scanner.queue_scans(requests)
    profile = MozillaTlsConfiguration.get(TlsConfigurationEnum.MOZILLA_INTERMEDIATE)
    report: dict[str, object] = {}
    for result in scanner.get_results():
        name = names[result.server_location.port]
        if result.scan_result is None:
            report[name] = {"issues": {"scan": str(result.connectivity_error_trace)}}
            continue
        try:
            check_server_against_tls_configuration(result, profile)
            issues: dict[str, str] = {}
        except ServerNotCompliantWithTlsConfiguration as e:
            issues = dict(e.issues)
        except Exception as e:  # an incomplete scan is a failure too
            issues = {"scan": repr(e)}
        seen: dict[str, list[str]] = {}
        scan = result.scan_result
        for attr, version in [("ssl_2_0_cipher_suites", "SSLv2"), ("ssl_3_0_cipher_suites", "SSLv3"),
                              ("tls_1_0_cipher_suites", "TLSv1"), ("tls_1_1_cipher_suites", "TLSv1.1"),
                              ("tls_1_2_cipher_suites", "TLSv1.2"), ("tls_1_3_cipher_suites", "TLSv1.3")]:
            ciphers = getattr(scan, attr).result
            if ciphers is not None and ciphers.is_tls_version_supported:
                seen[version] = sorted(c.cipher_suite.name for c in ciphers.accepted_cipher_suites)
        curves = scan.elliptic_curves.result
        compression = scan.tls_compression.result
        report[name] = {
            "issues": issues,
            "versions": seen,
            "groups": sorted(c.name for c in curves.supported_curves) if curves and curves.supported_curves else [],
            "compression": bool(compression and compression.supports_compression),
        }
    print(json.dumps(report, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
