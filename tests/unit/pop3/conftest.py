"""An App on a fresh SQLite store with one mailbox, anna@example.test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postbus.app import App
from tests.unit.pop3.pop3_helpers import make_app


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = await make_app(tmp_path / "data")
    yield app
    await app.close()
