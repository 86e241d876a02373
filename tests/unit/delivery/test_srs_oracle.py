"""Our SRS against the reference: pysrs, the Python port of Shevek's Mail::SRS
(the scheme's original implementation, which libsrs2 and postsrsd follow).
Addresses made by either side are accepted by the other, and both make the
same SRS0 and SRS1 addresses from the same secret and day.

pysrs 1.0.3 still calls `base64.encodestring` (removed in Python 3.9): the
test gives its module the function under that name, and a fixed clock."""

from __future__ import annotations

import base64
import types
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postbus.delivery.srs import forward, reverse

SECRET = "tell-no-one-4711"
NOW = 20_431 * 86400.0 + 5000


@pytest.fixture(scope="module")
def reference() -> Iterator[Any]:
    import SRS
    import SRS.Base

    patched = types.SimpleNamespace(**{n: getattr(base64, n) for n in dir(base64) if not n.startswith("__")})
    patched.encodestring = base64.encodebytes
    saved = SRS.Base.base64, SRS.Base.time
    SRS.Base.base64 = patched
    SRS.Base.time = types.SimpleNamespace(time=lambda: NOW)
    try:
        yield SRS.new(secret=SECRET, maxage=21, hashlength=4)
    finally:
        SRS.Base.base64, SRS.Base.time = saved


LOCAL = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,20}", fullmatch=True).filter(
    lambda s: not s.upper().startswith(("SRS0", "SRS1")))
HOST = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){1,2}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(local=LOCAL, host=HOST)
def test_same_addresses_both_ways(reference: Any, local: str, host: str) -> None:
    sender = f"{local}@{host}"
    ours = forward(sender, "fwd.example", SECRET.encode(), NOW)
    assert ours == reference.forward(sender, "fwd.example")
    assert reference.reverse(ours) == sender
    assert reverse(ours.rpartition("@")[0], [SECRET.encode()], NOW, 21) == sender
    # a second forwarder: SRS1, and back to the first one's SRS0
    theirs1 = reference.forward(ours, "second.example")
    assert forward(ours, "second.example", SECRET.encode(), NOW) == theirs1
    assert reverse(theirs1.rpartition("@")[0], [SECRET.encode()], NOW, 21) == ours
    assert reference.reverse(theirs1) == ours


def test_reference_accepts_case_smashed_addresses_like_ours(reference: Any) -> None:
    ours = forward("Alice@Sender.test", "fwd.example", SECRET.encode(), NOW)
    local, _, domain = ours.rpartition("@")
    assert reference.reverse(f"{local.lower()}@{domain}").lower() == "alice@sender.test"
    assert reverse(local.lower(), [SECRET.encode()], NOW, 21).lower() == "alice@sender.test"
