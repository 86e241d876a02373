"""Resolvers: the static table, and the dnspython one against a tiny DNS server
on loopback (UDP), so its answer, NXDOMAIN, no-answer and timeout paths run
without a network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import dns.message
import dns.rcode
import dns.rrset
import pytest

from postbus.config import from_dict
from postbus.mailauth.resolver import (
    DnsPythonResolver,
    DnsTempError,
    StaticResolver,
    make_resolver,
)

ZONE = {
    ("example.test.", "MX"): ["20 mx2.example.test.", "10 mx1.example.test."],
    ("mx1.example.test.", "A"): ["192.0.2.1"],
    ("mx1.example.test.", "AAAA"): ["2001:db8::1"],
    ("example.test.", "TXT"): ['"v=spf1 " "-all"'],
    ("1.2.0.192.in-addr.arpa.", "PTR"): ["mx1.example.test."],
    ("empty.example.test.", "A"): [],
    ("_imaps._tcp.example.test.", "SRV"): ["0 1 993 Mail.Example.test."],
    ("_pop3._tcp.example.test.", "SRV"): ["0 0 0 ."],
}
SILENT = "slow.example.test."


class _DnsServer(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name, rtype = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
        if name == SILENT:
            return
        response = dns.message.make_response(query)
        if (name, rtype) in ZONE:
            values = ZONE[(name, rtype)]
            if values:
                response.answer.append(dns.rrset.from_text(name, 60, "IN", rtype, *values))
        elif not any(n == name for n, _ in ZONE):
            response.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(response.to_wire(), addr)  # type: ignore[attr-defined]


@pytest.fixture()
async def nameserver() -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_DnsServer, local_addr=("127.0.0.1", 0))
    yield transport.get_extra_info("sockname")[1]
    transport.close()


async def test_dnspython_resolver(nameserver: int) -> None:
    resolver = DnsPythonResolver(timeout=1.0, nameservers=["127.0.0.1"], port=nameserver)
    assert await resolver.mx("example.test") == [(10, "mx1.example.test"), (20, "mx2.example.test")]
    assert await resolver.addresses("mx1.example.test") == ["192.0.2.1", "2001:db8::1"]
    assert await resolver.addresses("192.0.2.9") == ["192.0.2.9"]
    assert await resolver.txt("example.test") == ["v=spf1 -all"]
    assert await resolver.ptr("192.0.2.1") == ["mx1.example.test"]
    assert await resolver.srv("_imaps._tcp.example.test") == [(0, 1, 993, "mail.example.test")]
    assert await resolver.srv("_pop3._tcp.example.test") == [(0, 0, 0, "")]  # RFC 6186 §3.4
    assert await resolver.srv("_imap._tcp.example.test") == []
    assert await resolver.mx("nowhere.test") == []  # NXDOMAIN
    assert await resolver.ip4("empty.example.test") == []  # no answer
    with pytest.raises(DnsTempError):
        await resolver.txt("slow.example.test")


async def test_static_resolver() -> None:
    resolver = StaticResolver({"MX Remote.Test.": ["10 mx.remote.test", "5 127.0.0.1"],
                               "A mx.remote.test": ["127.0.0.1"],
                               "SRV _imaps._tcp.remote.test": ["0 1 993 mx.remote.test."]},
                              failing=["down.test"])
    assert await resolver.mx("remote.test") == [(5, "127.0.0.1"), (10, "mx.remote.test")]
    assert await resolver.addresses("127.0.0.1") == ["127.0.0.1"]
    assert await resolver.addresses("MX.remote.test.") == ["127.0.0.1"]
    assert await resolver.txt("remote.test") == []
    assert await resolver.srv("_imaps._tcp.remote.test") == [(0, 1, 993, "mx.remote.test")]
    with pytest.raises(DnsTempError):
        await resolver.mx("down.test")


def test_make_resolver_picks_the_static_table_in_tests() -> None:
    static = from_dict({"dns": {"static": {"A a.test": ["192.0.2.1"]}}})
    assert isinstance(make_resolver(static), StaticResolver)
    real = from_dict({"dns": {"nameservers": ["127.0.0.1"], "timeout": "2s"}})
    assert isinstance(make_resolver(real), DnsPythonResolver)
