"""The client's forward-confirmed reverse DNS name, for our Received field.

A PTR name counts only when it resolves back to the client's address (FCrDNS):
a PTR record alone is whatever the owner of the address block wants it to say.
Lookups go through the app's resolver (`mailauth.resolver`, static in tests),
are bounded by `RDNS_TIMEOUT`, and any failure is simply "no name": a Received
field then carries the address literal only (RFC 5321 §4.4 TCP-info).
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
from typing import Any

RDNS_TIMEOUT = 5.0
MAX_PTR_NAMES = 3  # PTR names tried; more than one is rare and more than a few is abuse


async def verified_name(app: Any, ip: str) -> str:
    try:
        resolver_module = importlib.import_module("postbus.mailauth.resolver")
        address = ipaddress.ip_address(ip)
    except (ImportError, ValueError):
        return ""
    temp_error: type[Exception] = getattr(resolver_module, "DnsTempError", OSError)
    try:
        resolver = resolver_module.app_resolver(app)
        async with asyncio.timeout(RDNS_TIMEOUT):
            for name in (await resolver.ptr(ip))[:MAX_PTR_NAMES]:
                for found in await resolver.addresses(name):
                    if _same(found, address):
                        return str(name)
    except (temp_error, TimeoutError, OSError):
        return ""
    return ""


def _same(text: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        return ipaddress.ip_address(text) == address
    except ValueError:
        return False
