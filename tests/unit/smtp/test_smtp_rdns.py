"""Forward-confirmed reverse DNS for the Received field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from postbus.mailauth.resolver import StaticResolver
from postbus.smtp.rdns import verified_name


@dataclass
class FakeApp:
    services: dict[str, Any] = field(default_factory=dict)


def app_with(table: dict[str, list[str]], failing: tuple[str, ...] = ()) -> FakeApp:
    return FakeApp({"resolver": StaticResolver(table, failing)})


async def test_confirmed_name() -> None:
    app = app_with({"PTR 192.0.2.1": ["mail.example."], "A mail.example": ["192.0.2.1"]})
    assert await verified_name(app, "192.0.2.1") == "mail.example"


async def test_unconfirmed_or_failing_names_are_not_used() -> None:
    liar = app_with({"PTR 192.0.2.1": ["bank.example"], "A bank.example": ["198.51.100.7"]})
    assert await verified_name(liar, "192.0.2.1") == ""
    assert await verified_name(app_with({}), "192.0.2.1") == ""
    broken = app_with({"PTR 192.0.2.1": ["mail.example"]}, failing=("mail.example",))
    assert await verified_name(broken, "192.0.2.1") == ""
    assert await verified_name(app_with({}), "not an address") == ""


async def test_ipv6_compared_as_addresses() -> None:
    app = app_with({"PTR 2001:db8::1": ["v6.example"], "AAAA v6.example": ["2001:DB8:0:0::1"]})
    assert await verified_name(app, "2001:db8::1") == "v6.example"
