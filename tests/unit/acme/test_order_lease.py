"""The ACME order lease (`acme.service`): one process orders; a lease held under a
name this node no longer runs is taken over at once, another's is waited out."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.acme.service import LEASE, LEASE_SETTING_PREFIX, AcmeService
from postbus.app import App
from postbus.config import from_dict
from postbus.node import NodeProcess

KEY = LEASE_SETTING_PREFIX + LEASE


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = App(from_dict({"data_dir": str(tmp_path), "hostname": "mx.example.test",
                         "node_name": "node-a", "tls": {"acme": True}}))
    await app.open()
    yield app
    await app.close()


async def _holder(app: App) -> str:
    return (await app.store.get_setting(KEY) or "").partition(" ")[0]


@pytest.mark.parametrize(("process", "holder"), [
    (NodeProcess("node-a", 1, 2), "node-a"),  # the node ran as one process before
    (NodeProcess("node-a", 1, 2), "node-a/w3"),  # it ran four workers before
    (NodeProcess("node-a"), "node-a/w0"),  # it ran workers before
])
async def test_a_lease_of_a_process_this_node_no_longer_runs_is_taken_over(
        app: App, process: NodeProcess, holder: str) -> None:
    now = time.time()
    assert await app.store.claim_lease(LEASE, holder, now, 600.0)
    app.process = process
    assert await AcmeService(app)._claim(now + 1)
    assert await _holder(app) == process.name


@pytest.mark.parametrize("holder", ["node-b", "node-b/w0", "node-a/w0"])
async def test_a_lease_of_another_node_or_a_live_slot_is_waited_out(app: App, holder: str) -> None:
    now = time.time()
    assert await app.store.claim_lease(LEASE, holder, now, 600.0)
    app.process = NodeProcess("node-a", 1, 2)
    assert not await AcmeService(app)._claim(now + 1)
    assert await _holder(app) == holder
    assert await AcmeService(app)._claim(now + 601)  # until it lapses
